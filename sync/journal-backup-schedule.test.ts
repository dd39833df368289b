// The backup schedule with a fake clock and a fake copy: what status says
// after successes, failures and a path changed by a reload.
import { describe, expect, it } from 'vitest';
import { JournalBackupSchedule, type BackupOutcome, type BackupSettings } from './journal-backup-schedule.js';

function bed(settings: BackupSettings | undefined) {
  let now = 1_000_000;
  let fail: string | undefined;
  const copies: string[] = [];
  const outcomes: BackupOutcome[] = [];
  const s = { current: settings };
  const schedule = new JournalBackupSchedule(
    () => s.current,
    async (file) => {
      if (fail) throw new Error(fail);
      copies.push(file);
    },
    (o) => outcomes.push(o),
    () => now,
  );
  return { schedule, copies, outcomes, s, advance: (ms: number) => (now += ms), failWith: (m: string | undefined) => (fail = m) };
}

describe('journal backup schedule', () => {
  it('says nothing when buffer.backup is not set', async () => {
    const b = bed(undefined);
    await b.schedule.runNow();
    expect(b.schedule.status()).toBeUndefined();
    expect(b.copies).toEqual([]);
  });

  it('ages from the last success; a failure is counted and said, and ages on from the last success', async () => {
    const b = bed({ path: '/usb/journal.db', everyMinutes: 60 });
    b.failWith('folder /usb does not exist (is the disk or USB stick mounted?)');
    await b.schedule.runNow();
    b.advance(30_000);
    // Never taken: it ages from when backups began, so an alert on the age fires for a backup that never works.
    expect(b.schedule.status()).toMatchObject({ lastAt: null, ageS: 30, failures: 1, lastError: /does not exist/ });
    b.failWith(undefined);
    await b.schedule.runNow();
    b.advance(5_000);
    expect(b.schedule.status()).toMatchObject({ lastAt: 1_030_000, ageS: 5, lastError: null, failures: 1 });
    expect(b.outcomes.map((o) => o.ok)).toEqual([false, true]);
    expect(b.copies).toEqual(['/usb/journal.db']);
  });

  it('starts a new record when a reload moves the backup', async () => {
    const b = bed({ path: '/usb/journal.db', everyMinutes: 60 });
    await b.schedule.runNow();
    b.advance(60_000);
    b.s.current = { path: '/disk2/journal.db', everyMinutes: 15 };
    expect(b.schedule.status()).toBeUndefined();
    await b.schedule.runNow();
    expect(b.schedule.status()).toMatchObject({ path: '/disk2/journal.db', everyMinutes: 15, lastAt: 1_060_000, ageS: 0 });
  });
});
