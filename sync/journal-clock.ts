// The journal's time. Every instant is read twice: on the wall clock (epoch
// ms), which the journal keeps for people, listings and exports, and on a
// monotonic clock, which judges every wait and every age. The wall clock
// steps — NTP correcting a mini-PC whose RTC ran wrong, someone setting it by
// hand — and a step must neither hold a retry for its length nor age a
// pending order past buffer.maxAgeHours.
//
// The monotonic clock is the kernel's CLOCK_MONOTONIC, which Node's
// process.hrtime reads (libuv's uv_hrtime): it counts from the boot and is the
// same in every process, unlike performance.now(), which counts from the
// process's start. So a gateway restarted on the same boot reads on in the
// times its journal holds. A reboot starts it again from zero: the journal
// keeps its own clock, this boot's monotonic clock plus an offset, and records
// which boot (the kernel's boot id) the offset is for; on another boot it sets
// a new one (journalOffset). Like CLOCK_MONOTONIC, it stands still while the
// machine is suspended.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** One instant, as both clocks read it (ms). */
export interface Instant {
  /** Epoch ms: what people are shown. */
  wall: number;
  /** Ms on a monotonic clock: what waits and ages are judged by. */
  mono: number;
}

/** The machine's clocks, as the journal reads them (a test gives its own). */
export interface JournalClock {
  /** The boot `now().mono` counts from. */
  readonly bootId: string;
  now(): Instant;
}

/** What a journal records of its clock. */
export interface ClockMark {
  /** The boot `offset` is for. */
  bootId: string;
  /** The journal's time minus that boot's monotonic clock. */
  offset: number;
  /** The latest journal time it is known to have been in use at. */
  seen: number;
}

const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

/**
 * The kernel's boot id (Linux, containers included: their /proc shows the
 * host's boot). Where there is none, each process counts as a boot of its
 * own: its journal's clock is carried over at every start as after a reboot,
 * which loses at most the time since it was last seen, where a mistaken "same
 * boot" would read another boot's monotonic clock as this one's.
 */
export function readBootId(file = BOOT_ID_FILE): string {
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (id !== '') return id;
  } catch {
    // Not Linux: no boot id.
  }
  return `process:${randomUUID()}`;
}

export function systemClock(bootId = readBootId()): JournalClock {
  return { bootId, now: () => ({ wall: Date.now(), mono: Number(process.hrtime.bigint() / 1_000_000n) }) };
}

/** Now on the wall clock and on the journal's own, whose offset from this boot's monotonic clock is `offset` (journalOffset). */
export function journalNow(clock: JournalClock, offset: number): Instant {
  const { wall, mono } = clock.now();
  return { wall, mono: mono + offset };
}

/**
 * The offset that gives the journal's time on this boot. On the boot it was
 * set for, it stays: the journal's times read on as they are. On another, the
 * journal's clock goes on from the last time it was seen in use: an entry's
 * age and its remaining wait are what they were then, and the time between
 * (the machine off, rebooting, a disk carried to another store) is not
 * counted. Counting it would take the wall clock, and a reboot is when the
 * wall clock is least to be trusted (an RTC in the past until NTP steps it):
 * an age too short delivers an order late, one too long dead-letters it.
 */
export function journalOffset(mark: ClockMark, bootId: string, nowMono: number): number {
  return mark.bootId === bootId ? mark.offset : mark.seen - nowMono;
}

/**
 * The shift that moves times known only on another clock (an export's
 * wall-clock times) onto a journal's clock, which reads `journalNow`: the
 * latest of them (`last`) becomes now, the others keep their distance to it,
 * as journalOffset carries a journal over to a new boot.
 */
export function carryOverShift(last: number, journalNow: number): number {
  return journalNow - last;
}
