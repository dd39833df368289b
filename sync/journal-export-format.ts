// The journal export: the entries a journal still owes (pending, unknown,
// dead), bodies included, in a file that carries them to another journal.
//
// JSON Lines, not an SQLite file: a header line, one line per entry in journal
// order, and an end line with the count and the SHA-256 of every byte before
// it. Text survives any copy (scp, a USB stick, a ticket attachment), can be
// read with grep or jq when someone must look at a sale by hand, and does not
// depend on the journal's schema version: the importing storegw inserts it
// through its own schema. It is written and checked line by line, so a large
// journal never sits in memory, and a cut-off copy has no end line and is refused.
// Bodies are base64: they are bytes, not always UTF-8.

import { CLASS_NAMES } from '../edge-config/schema.js';

export const EXPORT_FORMAT = 'storegw-journal-export';
export const EXPORT_VERSION = 1;

/** The states an export carries: what is still owed. Delivered entries stay behind. */
export const EXPORT_STATES = ['pending', 'unknown', 'dead'] as const;
export type ExportState = (typeof EXPORT_STATES)[number];

type Headers = Record<string, string | string[]>;

export interface ExportHeader {
  kind: 'header';
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  exportedAt: number;
  /** The journal file it was taken from, for the person reading it. */
  source: string;
}

export interface ExportEntry {
  kind: 'entry';
  receipt: string;
  idemKey: string;
  route: string;
  cls: string;
  priority: number;
  orderingKey: string | null;
  method: string;
  target: string;
  headers: Headers;
  /** base64 */
  body: string | null;
  state: ExportState;
  attempts: number;
  createdAt: number;
  updatedAt: number;
  nextAttemptAt: number;
  lastError: string | null;
  upstreamStatus: number | null;
  responseHeaders: Headers | null;
  /** base64 */
  responseBody: string | null;
  settledBy: string | null;
  settledAt: number | null;
}

export interface ExportEnd {
  kind: 'end';
  entries: number;
  /** hex SHA-256 of every byte of the file before this line */
  sha256: string;
}

/** An export file that cannot be imported: nothing of it is. */
export class ExportFileError extends Error {}

const isInt = (v: unknown) => Number.isSafeInteger(v);
const isStr = (v: unknown) => typeof v === 'string';
const nullOr = (check: (v: unknown) => boolean) => (v: unknown) => v === null || check(v);
const isBase64 = (v: unknown) => typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0;
const isHeaders = (v: unknown) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((h) => isStr(h) || (Array.isArray(h) && h.every(isStr)));

const ENTRY_FIELDS: Record<Exclude<keyof ExportEntry, 'kind'>, (v: unknown) => boolean> = {
  receipt: (v) => isStr(v) && v !== '',
  idemKey: (v) => isStr(v) && v !== '',
  route: isStr,
  // The replay scheduler orders by class: a class this storegw does not know would never be scheduled right.
  cls: (v) => (CLASS_NAMES as readonly unknown[]).includes(v),
  priority: isInt,
  orderingKey: nullOr(isStr),
  method: isStr,
  target: isStr,
  headers: isHeaders,
  body: nullOr(isBase64),
  state: (v) => (EXPORT_STATES as readonly unknown[]).includes(v),
  attempts: isInt,
  createdAt: isInt,
  updatedAt: isInt,
  nextAttemptAt: isInt,
  lastError: nullOr(isStr),
  upstreamStatus: nullOr(isInt),
  responseHeaders: nullOr(isHeaders),
  responseBody: nullOr(isBase64),
  settledBy: nullOr(isStr),
  settledAt: nullOr(isInt),
};

function parseObject(line: string, at: number): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ExportFileError(`line ${at}: not JSON`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ExportFileError(`line ${at}: not a JSON object`);
  return v as Record<string, unknown>;
}

export function parseHeader(line: string): ExportHeader {
  const h = parseObject(line, 1);
  if (h.kind !== 'header' || h.format !== EXPORT_FORMAT) throw new ExportFileError(`not a storegw journal export (the first line is not its header)`);
  if (h.version !== EXPORT_VERSION) throw new ExportFileError(`export format version ${String(h.version)}; this storegw reads version ${EXPORT_VERSION}`);
  if (!isInt(h.exportedAt) || !isStr(h.source)) throw new ExportFileError('line 1: the header lacks exportedAt or source');
  return h as unknown as ExportHeader;
}

/** An entry line or the end line, checked field by field; unknown fields are refused so a damaged line is never half read. */
export function parseLine(line: string, at: number): ExportEntry | ExportEnd {
  const o = parseObject(line, at);
  if (o.kind === 'end') {
    if (!isInt(o.entries) || typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) throw new ExportFileError(`line ${at}: a damaged end line`);
    return o as unknown as ExportEnd;
  }
  if (o.kind !== 'entry') throw new ExportFileError(`line ${at}: neither an entry nor the end line`);
  for (const [k, v] of Object.entries(o)) {
    if (k === 'kind') continue;
    const check = ENTRY_FIELDS[k as keyof typeof ENTRY_FIELDS] as ((v: unknown) => boolean) | undefined;
    if (!check) throw new ExportFileError(`line ${at}: unknown field ${k}`);
    if (!check(v)) throw new ExportFileError(`line ${at}: invalid ${k}`);
  }
  for (const k of Object.keys(ENTRY_FIELDS)) if (!(k in o)) throw new ExportFileError(`line ${at}: ${k} missing`);
  return o as unknown as ExportEntry;
}
