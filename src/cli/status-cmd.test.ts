import { describe, expect, it } from 'vitest';
import { renderStatus } from './status-cmd.js';

describe('storegw status', () => {
  it('shows each path with its numbers, and dashes where nothing is known yet', () => {
    const text = renderStatus({
      store: { id: 'store-0042', region: 'eu-west' },
      configVersion: 'abc123',
      paths: [
        { name: 'fiber', state: 'up', score: 97, rttMs: 12.34, jitterMs: 1.2, lossPct: 0, handshakeAgeS: 41, rxBps: 250_000, txBps: 1_000 },
        { name: 'lte', state: 'down', score: 0, rttMs: null, jitterMs: 0, lossPct: 100, wireguardError: 'wg show wgl1 dump: no such interface' },
      ],
      queue: { pending: 3, dead: 0, oldestAgeS: 12 },
      replay: { paused: false, ratePerSec: 50 },
    });
    expect(text).toMatch(/^fiber\s+UP\s+97\s+12\.3ms\s+1\.2ms\s+0%\s+41s\s+2Mb\/s\/8kb\/s$/m);
    expect(text).toMatch(/^lte\s+DOWN\s+0\s+-\s+0ms\s+100%\s+wg: wg show wgl1 dump: no such interface$/m);
    expect(text).toContain('queue: 3 pending, 0 dead, oldest 12s');
  });

  it('shows a path no probe has settled yet as UNKNOWN, without an RTT', () => {
    const text = renderStatus({
      store: { id: 's', region: '' },
      configVersion: 'v',
      paths: [{ name: 'fiber', state: 'unknown', score: 100, rttMs: null, jitterMs: 0, lossPct: 0 }],
      queue: { pending: 0, dead: 0, oldestAgeS: 0 },
    });
    expect(text).toMatch(/^fiber\s+UNKNOWN\s+100\s+-\s+0ms\s+0%/m);
  });

  it('names unknown outcomes, which need a person', () => {
    const text = renderStatus({ store: { id: 's', region: '' }, configVersion: 'v', paths: [], queue: { pending: 0, dead: 0, unknown: 2, oldestAgeS: 0 } });
    expect(text).toContain('queue: 0 pending, 0 dead, 2 UNKNOWN (storegw queue ls --state unknown)');
  });

  it('says when the backlog nears expiry, and nothing while no warning stands', () => {
    const base = { store: { id: 's', region: '' }, configVersion: 'v', paths: [] };
    expect(renderStatus({ ...base, queue: { pending: 40, dead: 0, oldestAgeS: 547_000, maxAgeS: 604_800, expiryWarning: 0.9 } })).toContain(
      'queue: 40 pending, 0 dead, oldest 547000s, NEAR EXPIRY: past 90% of the max age (168h), then dead letters',
    );
    expect(renderStatus({ ...base, queue: { pending: 40, dead: 0, oldestAgeS: 60, maxAgeS: 604_800, expiryWarning: null } })).not.toContain('EXPIRY');
  });

  it('shows the journal backup: its path, its age and interval, and why it fails', () => {
    const base = { store: { id: 's', region: '' }, configVersion: 'v', paths: [] };
    expect(renderStatus({ ...base, journalBackup: { path: '/media/usb/journal.db', everyMinutes: 60, lastAt: '2026-12-02T05:00:00.000Z', ageS: 125, lastError: null } })).toContain(
      'journal backup: /media/usb/journal.db, last 125s ago (every 60 min)',
    );
    expect(
      renderStatus({ ...base, journalBackup: { path: '/media/usb/journal.db', everyMinutes: 15, lastAt: null, ageS: 30, lastError: 'folder /media/usb does not exist' } }),
    ).toContain('journal backup: /media/usb/journal.db, none yet (every 15 min), FAILING: folder /media/usb does not exist');
    expect(renderStatus({ ...base, journalBackup: null })).not.toContain('journal backup');
  });
});
