// Writes a journal export (journal-export-format.ts) from the entries a
// journal still owes: to a temporary file beside the target, fsynced, then
// renamed into place, so an interrupted export never leaves a file that looks whole.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { renameDurably } from '../src/util/durable-rename.js';
import { EXPORT_FORMAT, EXPORT_VERSION, type ExportEntry, type ExportHeader, type ExportState } from './journal-export-format.js';

export interface ExportSummary {
  file: string;
  entries: number;
  states: Record<ExportState, number>;
  sha256: string;
}

/** Lines are gathered into writes of about this size: one syscall per line would cost more than the rest. */
const CHUNK = 1 << 20;

export function writeExport(entries: Iterable<ExportEntry>, source: string, out: string, now = Date.now()): ExportSummary {
  const tmp = `${out}.tmp-${process.pid}`;
  // The entries hold request headers (Odoo session cookies): only the service's user may read them, from the first byte.
  const fd = openSync(tmp, 'wx', 0o600);
  const hash = createHash('sha256');
  const states: Record<ExportState, number> = { pending: 0, unknown: 0, dead: 0 };
  let count = 0;
  let sha256: string;
  try {
    let pending: string[] = [];
    let size = 0;
    const flush = () => {
      writeSync(fd, pending.join(''));
      pending = [];
      size = 0;
    };
    const put = (o: unknown, hashed = true) => {
      const line = `${JSON.stringify(o)}\n`;
      if (hashed) hash.update(line);
      pending.push(line);
      size += line.length;
      if (size >= CHUNK) flush();
    };
    const header: ExportHeader = { kind: 'header', format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: now, source };
    put(header);
    for (const e of entries) {
      put(e);
      states[e.state]++;
      count++;
    }
    sha256 = hash.digest('hex');
    put({ kind: 'end', entries: count, sha256 }, false);
    flush();
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameDurably(tmp, out);
  return { file: out, entries: count, states, sha256 };
}
