// storegw journal verify FILE | export FILE --out EXPORT | export --admin URL --out EXPORT | import EXPORT --into FILE
// The journal's safety net when a store's mini-PC fails: what a stopped
// gateway's journal still owes is carried to another one, keys and order kept.
import { closeSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadGatewayConfig } from '../../edge-config/load.js';
import type { ExportState } from '../../sync/journal-export-format.js';
import { writeExport, type ExportSummary } from '../../sync/journal-export.js';
import { journalReport, openStoppedJournal, owedEntries, type JournalReport } from '../../sync/journal-file.js';
import { checkExport, importExport, type ExportCheck, type ImportSummary } from '../../sync/journal-import.js';
import { SCHEMA_VERSION } from '../../sync/journal-schema.js';
import { adminDownload } from './admin-client.js';
import { UsageError } from './usage.js';

type Print = (s: string) => void;

const OPTIONS = {
  out: { type: 'string' },
  into: { type: 'string' },
  'from-backup': { type: 'boolean', default: false },
  config: { type: 'string' },
  // No default: an export is online only when asked, never because a local gateway happens to answer.
  admin: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

const states = (s: Record<ExportState, number>) => `${s.pending} pending, ${s.unknown} unknown, ${s.dead} dead`;

/** Whether `file` starts as every SQLite database does; anything else is read as an export. */
function isSqlite(file: string): boolean {
  const head = Buffer.alloc(16);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as { code?: string }).code ?? (e as Error).message})`);
  }
  try {
    return readSync(fd, head, 0, 16, 0) === 16 && head.toString('latin1') === 'SQLite format 3\0';
  } finally {
    closeSync(fd);
  }
}

function renderReport(r: JournalReport): string {
  const ok = r.integrity.length === 1 && r.integrity[0] === 'ok';
  return [
    `${r.file}: storegw journal, schema version ${r.schemaVersion} (this storegw: ${SCHEMA_VERSION})`,
    `integrity: ${ok ? 'ok' : `DAMAGED\n  ${r.integrity.join('\n  ')}`}`,
    `entries: ${r.counts.pending} pending, ${r.counts.unknown} unknown, ${r.counts.dead} dead, ${r.counts.delivered} delivered`,
    ...(r.interrupted > 0 ? [`interrupted attempts: ${r.interrupted} (unknown once opened: they may already be at the ERP)`] : []),
    // Entries carry no checksum of their own: SQLite's integrity check reads every page they are on.
    'bodies: checked by the integrity check (entries carry no checksum of their own)',
  ].join('\n');
}

function renderCheck(file: string, c: ExportCheck): string {
  return [
    `${file}: storegw journal export v${c.header.version} of ${c.header.source}, taken ${new Date(c.header.exportedAt).toISOString()}`,
    `checksum: sha256 ${c.sha256} ok`,
    `entries: ${states(c.states)}`,
  ].join('\n');
}

function renderImport(from: string, into: string, r: ImportSummary): string {
  const skipped = r.skipped.map((s) => `  ${s.receipt} ${s.idemKey} (${s.state})`);
  return [
    `imported ${from} into ${into}: ${states(r.added)} added`,
    ...(skipped.length > 0 ? [`${skipped.length} already in the journal by key, skipped:`, ...skipped] : []),
  ].join('\n');
}

async function verify(file: string, json: boolean, out: Print): Promise<number> {
  if (!isSqlite(file)) {
    const check = await checkExport(file);
    out(json ? JSON.stringify({ kind: 'export', file, ...check }, null, 2) : renderCheck(file, check));
    return 0;
  }
  const db = openStoppedJournal(file);
  let report: JournalReport;
  try {
    report = journalReport(db, file);
  } finally {
    db.close();
  }
  out(json ? JSON.stringify({ kind: 'journal', ...report }, null, 2) : renderReport(report));
  return report.integrity.length === 1 && report.integrity[0] === 'ok' ? 0 : 1;
}

/**
 * The routes whose pending entries an import from a backup holds as unknown:
 * those whose ERP does not dedupe (and routes the configuration no longer
 * has, which replay treats the same way).
 */
function heldRoutes(configFile: string): (route: string) => boolean {
  const { routes } = loadGatewayConfig(configFile).config;
  return (name) => {
    const dedupe = routes.find((r) => r.name === name)?.dedupe;
    return dedupe !== 'key' && dedupe !== 'natural';
  };
}

/** Exports a journal file that no gateway has open. */
function exportFile(file: string, to: string): ExportSummary {
  const db = openStoppedJournal(file);
  try {
    return writeExport(owedEntries(db), file, to);
  } finally {
    db.close();
  }
}

/** Exports a running gateway's journal: it sends a consistent copy (its online backup), exported here, not in the gateway. */
async function exportOnline(admin: string, tokenFile: string | undefined, to: string): Promise<ExportSummary> {
  const copy = `${to}.snapshot-${process.pid}.db`;
  try {
    await adminDownload({ admin, tokenFile }, '/v1/journal/snapshot', copy, 0o600);
    const db = openStoppedJournal(copy);
    try {
      return writeExport(owedEntries(db), `${admin} (online)`, to);
    } finally {
      db.close();
    }
  } finally {
    for (const f of [copy, `${copy}-wal`, `${copy}-shm`]) rmSync(f, { force: true });
  }
}

export async function journalCommand(args: string[], out: Print): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true });
  const [sub, file, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`too many arguments: ${rest.join(' ')}`);
  const json = values.json;
  switch (sub) {
    case 'verify':
      if (!file) throw new UsageError('verify needs a FILE (a journal or an export)');
      return verify(file, json, out);
    case 'export': {
      if (!values.out) throw new UsageError('export needs --out EXPORT');
      if ((file === undefined) === (values.admin === undefined)) throw new UsageError('export needs a stopped gateway\'s journal FILE, or --admin URL for a running one (not both)');
      const summary = file ? exportFile(file, values.out) : await exportOnline(values.admin!, values['token-file'], values.out);
      out(json ? JSON.stringify(summary, null, 2) : `exported ${states(summary.states)} to ${summary.file} (sha256 ${summary.sha256})`);
      return 0;
    }
    case 'import': {
      if (!file || !values.into) throw new UsageError('import needs EXPORT and --into FILE (a stopped gateway\'s journal; created when missing)');
      if (values['from-backup'] !== (values.config !== undefined)) throw new UsageError('--from-backup needs --config FILE (the gateway configuration, for how each route\'s ERP dedupes), and --config goes with --from-backup');
      const summary = await importExport(file, values.into, values.config === undefined ? {} : { hold: heldRoutes(values.config) });
      out(json ? JSON.stringify(summary, null, 2) : renderImport(file, values.into, summary));
      // A journal root made is one the gateway's own user cannot open: said before the gateway finds out at start.
      if (!json && statSync(values.into).uid === 0 && process.getuid?.() === 0)
        out(`note: ${values.into} belongs to root now; chown it to the gateway's user (storegw) before starting the gateway`);
      return 0;
    }
    default:
      throw new UsageError(sub === undefined ? 'a subcommand is required' : `unknown journal command: ${sub}`);
  }
}
