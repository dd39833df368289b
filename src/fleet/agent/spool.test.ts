import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../log.js';
import type { EventMessage, TelemetryMessage } from '../protocol.js';
import { Spool, type SpooledMessage } from './spool.js';

let dir: string;
let lines: string[];
const logger = () =>
  createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'storegw-spool-'));
  lines = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function telemetry(ts: number, state: 'up' | 'down' = 'up'): TelemetryMessage {
  return {
    type: 'telemetry',
    id: `t-${ts}`,
    ts,
    configVersion: 'v1',
    paths: [{ name: 'fiber', state, score: state === 'up' ? 99 : 0, rttMs: 10, jitterMs: 1, lossPct: state === 'up' ? 0 : 100 }],
    queue: { pending: ts % 7, dead: 0, oldestAgeS: 0 },
    requests: { critical: { buffered: 1 } },
  };
}
const event = (ts: number): EventMessage => ({ type: 'event', id: `e-${ts}`, ts, event: 'link.state', details: { path: 'fiber', from: 'up', to: 'down' } });

function drain(spool: Spool): SpooledMessage[] {
  const out: SpooledMessage[] = [];
  for (let batch = spool.take(7); batch.length > 0; batch = spool.take(7)) out.push(...batch);
  return out;
}

const samples = (ms: SpooledMessage[]) => ms.reduce((n, m) => n + (m.type === 'telemetry' ? (m.rolledUp ?? 1) : 0), 0);

describe('fleet spool', () => {
  it('gives messages back oldest first, as they were taken, and survives a reopen', () => {
    const file = join(dir, 'spool.db');
    const first = Spool.open(file, () => ({ maxEntries: 100, maxBytes: 1e6 }), logger());
    first.append(telemetry(1));
    first.append(event(2));
    first.close();
    const spool = Spool.open(file, () => ({ maxEntries: 100, maxBytes: 1e6 }), logger());
    spool.append(telemetry(3));
    expect(spool.size.entries).toBe(3);
    expect(drain(spool)).toEqual([telemetry(1), event(2), telemetry(3)]);
    expect(spool.size).toEqual({ entries: 0, bytes: 0 });
    // Telemetry names stores and receipts: only the gateway's user may read it.
    expect(statSync(file).mode & 0o077).toBe(0);
    spool.close();
  });

  it('rolls the oldest telemetry up to stay within maxEntries, keeping every sample counted and the outage visible', () => {
    const spool = Spool.open(join(dir, 'spool.db'), () => ({ maxEntries: 20, maxBytes: 1e6 }), logger());
    for (let ts = 1; ts <= 300; ts++) {
      spool.append(telemetry(ts, ts >= 10 && ts < 20 ? 'down' : 'up'));
      expect(spool.size.entries).toBeLessThanOrEqual(20);
    }
    const out = drain(spool) as TelemetryMessage[];
    expect(samples(out)).toBe(300);
    expect(out[0]!.ts).toBe(1);
    const ts = out.map((m) => m.ts);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
    // The oldest are the coarsest, the newest the finest.
    const grain = out.map((m) => m.rolledUp ?? 1);
    expect(grain).toEqual([...grain].sort((a, b) => b - a));
    expect(grain[0]).toBeGreaterThan(grain.at(-1)!);
    // The DOWN stretch survives the merging.
    expect(out.some((m) => m.paths[0]!.state === 'down')).toBe(true);
    spool.close();
  });

  it('keeps events while telemetry can still be merged', () => {
    const spool = Spool.open(join(dir, 'spool.db'), () => ({ maxEntries: 20, maxBytes: 1e6 }), logger());
    for (let ts = 1; ts <= 200; ts++) spool.append(ts % 40 === 0 ? event(ts) : telemetry(ts));
    const out = drain(spool);
    expect(out.filter((m) => m.type === 'event').map((m) => m.ts)).toEqual([40, 80, 120, 160, 200]);
    expect(samples(out)).toBe(195);
    spool.close();
  });

  it('drops the oldest events only when nothing is left to merge', () => {
    const spool = Spool.open(join(dir, 'spool.db'), () => ({ maxEntries: 10, maxBytes: 1e6 }), logger());
    for (let ts = 1; ts <= 15; ts++) spool.append(event(ts));
    expect(drain(spool).map((m) => m.ts)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(lines.join('')).toMatch(/fleet spool dropped messages/);
    spool.close();
  });

  it('stays within maxBytes', () => {
    const maxBytes = 8 * 1024;
    const spool = Spool.open(join(dir, 'spool.db'), () => ({ maxEntries: 10_000, maxBytes }), logger());
    for (let ts = 1; ts <= 500; ts++) spool.append(telemetry(ts));
    expect(spool.size.bytes).toBeLessThanOrEqual(maxBytes);
    expect(samples(drain(spool))).toBe(500);
    spool.close();
  });

  it('moves a corrupt file aside and starts a new spool', () => {
    const file = join(dir, 'spool.db');
    writeFileSync(file, 'this is not an SQLite database, just bytes on a dying SD card'.repeat(100));
    const spool = Spool.open(file, () => ({ maxEntries: 100, maxBytes: 1e6 }), logger());
    spool.append(telemetry(1));
    expect(drain(spool)).toHaveLength(1);
    expect(readdirSync(dir).some((f) => f.startsWith('spool.db.corrupt-'))).toBe(true);
    expect(lines.join('')).toMatch(/fleet spool file unusable: moved aside/);
    spool.close();
  });

  it("moves another application's database aside rather than writing into it", () => {
    const file = join(dir, 'spool.db');
    const other = new Database(file);
    other.exec('CREATE TABLE accounts (id INTEGER)');
    other.close();
    const spool = Spool.open(file, () => ({ maxEntries: 100, maxBytes: 1e6 }), logger());
    expect(readdirSync(dir).some((f) => f.startsWith('spool.db.corrupt-'))).toBe(true);
    spool.close();
  });

  it('never throws without a usable folder: messages are dropped with a warning', () => {
    writeFileSync(join(dir, 'not-a-dir'), '');
    const spool = Spool.open(join(dir, 'not-a-dir', 'spool.db'), () => ({ maxEntries: 100, maxBytes: 1e6 }), logger());
    expect(() => spool.append(telemetry(1))).not.toThrow();
    expect(spool.take(10)).toEqual([]);
    expect(lines.join('')).toMatch(/fleet spool unavailable/);
    expect(existsSync(join(dir, 'not-a-dir', 'spool.db'))).toBe(false);
    spool.close();
  });
});
