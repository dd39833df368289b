// What store staff are told about their gateway, in plain words: is the store
// online, how each uplink is doing, how many orders wait to be sent and for how
// long. The staff page (staff-page.ts) lays it out; its JSON twin is this view
// as it is, for POS customisations, so its field names are an interface
// (docs/operations.md). Pure: the caller passes the facts, the time and the
// time zone.
import type { LinkState } from '../link/path-view.js';

/** What the gateway knows, as the view needs it: no addresses, no secrets. */
export interface StaffFacts {
  store: string;
  paths: readonly { name: string; state: LinkState; monitored: boolean; stateAgeS: number }[];
  /** The journal's counts; oldestAgeS is the oldest pending entry's age (0 when none is pending). Null when the journal cannot be read. */
  queue: { pending: number; unknown: number; dead: number; oldestAgeS: number } | null;
}

/**
 * online: an uplink is UP; slow: none is, one is DEGRADED; offline: every
 * uplink is DOWN; unknown: none is UP or DEGRADED and one has not been
 * settled (being checked, or watched by nothing).
 */
export type Connection = 'online' | 'slow' | 'offline' | 'unknown';

export interface StaffUplink {
  name: string;
  state: LinkState;
  /** When it entered this state (ISO 8601). */
  since: string;
  /** e.g. "working", "slow", "down since 14:02". */
  words: string;
}

export interface StaffView {
  store: string;
  /** When this view was made (ISO 8601). */
  at: string;
  /** The same moment in the gateway's local time, e.g. "14:05:09". */
  updated: string;
  /** At least one uplink is UP or DEGRADED. */
  online: boolean;
  connection: Connection;
  /** One short sentence: "The store is offline." */
  headline: string;
  /** What staff should do about it, when there is something to say; else null. */
  advice: string | null;
  uplinks: StaffUplink[];
  /** The counts are null when the journal cannot be read: the page says so rather than failing. */
  orders: {
    /** Journaled, not yet sent to the ERP. */
    waiting: number | null;
    /** Sent once, with no answer that settles whether the ERP has them: held until a read-back or an operator settles them. */
    beingChecked: number | null;
    /** Dead letters: refused by the ERP or given up; IT must look at them. */
    needAttention: number | null;
    /** Seconds the oldest waiting order has waited; null when none waits. */
    oldestWaitingS: number | null;
    /** e.g. "14 minutes"; null when none waits. */
    oldestWaitingWords: string | null;
    /** One sentence per line of the page. */
    words: string[];
  };
}

export interface ViewClock {
  now: number;
  /** An IANA zone for the times shown (tests); the process's own zone when absent. */
  timeZone?: string;
}

const HEADLINES: Record<Connection, string> = {
  online: 'The store is online.',
  slow: 'The store is online, but the connection is slow.',
  offline: 'The store is offline.',
  unknown: 'Checking the connection…',
};

const ADVICE: Record<Connection, string | null> = {
  online: null,
  slow: 'Keep selling: orders may take a little longer to be sent.',
  offline: 'Keep selling: orders are kept in the store and sent when the connection is back.',
  unknown: null,
};

/** No uplink is UP, DEGRADED or being checked, and some are watched by nothing (neither a probe nor WireGuard): "checking" would never end. */
const UNWATCHED = { headline: 'The gateway cannot tell whether the store is online.', advice: 'Ask IT to set up a check of the internet connections.' };

export function staffView(facts: StaffFacts, clock: ViewClock): StaffView {
  const times = clockWords(clock);
  const connection = connectionOf(facts.paths);
  const unwatched = connection === 'unknown' && !facts.paths.some((p) => p.state === 'unknown' && p.monitored);
  return {
    store: facts.store,
    at: new Date(clock.now).toISOString(),
    updated: times.updated,
    online: connection === 'online' || connection === 'slow',
    connection,
    headline: unwatched ? UNWATCHED.headline : HEADLINES[connection],
    advice: unwatched ? UNWATCHED.advice : ADVICE[connection],
    uplinks: facts.paths.map((p) => {
      const since = clock.now - p.stateAgeS * 1000;
      return { name: p.name, state: p.state, since: new Date(since).toISOString(), words: uplinkWords(p, times.since(since)) };
    }),
    orders: ordersView(facts.queue),
  };
}

function connectionOf(paths: StaffFacts['paths']): Connection {
  if (paths.some((p) => p.state === 'up')) return 'online';
  if (paths.some((p) => p.state === 'degraded')) return 'slow';
  if (paths.length > 0 && paths.every((p) => p.state === 'down')) return 'offline';
  return 'unknown';
}

function uplinkWords(p: StaffFacts['paths'][number], since: string): string {
  switch (p.state) {
    case 'up':
      return 'working';
    case 'degraded':
      return 'slow';
    case 'down':
      return `down since ${since}`;
    case 'unknown':
      return p.monitored ? 'being checked' : 'not checked';
  }
}

function ordersView(q: StaffFacts['queue']): StaffView['orders'] {
  if (q === null) {
    const words = ['The orders kept in the store cannot be counted right now: tell IT. Keep selling.'];
    return { waiting: null, beingChecked: null, needAttention: null, oldestWaitingS: null, oldestWaitingWords: null, words };
  }
  const oldestWaitingS = q.pending > 0 ? Math.round(q.oldestAgeS) : null;
  const oldestWaitingWords = oldestWaitingS === null ? null : ageWords(oldestWaitingS);
  const words: string[] = [];
  if (q.pending === 1) words.push(`1 order waiting to be sent, for ${oldestWaitingWords}.`);
  if (q.pending > 1) words.push(`${q.pending} orders waiting to be sent; the oldest has waited ${oldestWaitingWords}.`);
  if (q.unknown > 0) words.push(`${count(q.unknown, 'order')} being checked: ${q.unknown === 1 ? 'it was' : 'they were'} sent, but it is not yet known whether ${q.unknown === 1 ? 'it' : 'they'} arrived.`);
  if (q.dead > 0) words.push(`${count(q.dead, 'order')} ${q.dead === 1 ? 'needs' : 'need'} attention by IT.`);
  if (words.length === 0) words.push('No orders waiting: everything has been sent.');
  return { waiting: q.pending, beingChecked: q.unknown, needAttention: q.dead, oldestWaitingS, oldestWaitingWords, words };
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** An age as a person says it: "less than a minute", "14 minutes", "2 hours 5 minutes", "3 days 4 hours". */
export function ageWords(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  if (minutes < 1) return 'less than a minute';
  if (minutes < 60) return count(minutes, 'minute');
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? count(hours, 'hour') : `${count(hours, 'hour')} ${count(minutes % 60, 'minute')}`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? count(days, 'day') : `${count(days, 'day')} ${count(hours % 24, 'hour')}`;
}

/** Times in the view's zone: the view's own moment ("14:05:09"), and since when ("14:02" today, "3 May 14:02" another day). */
function clockWords({ now, timeZone }: ViewClock) {
  const zone = timeZone === undefined ? {} : { timeZone };
  const hm = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', ...zone });
  const day = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', ...zone });
  const dayMonth = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', ...zone });
  const today = day.format(now);
  return {
    updated: new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', ...zone }).format(now),
    since: (at: number) => (day.format(at) === today ? hm.format(at) : `${dayMonth.format(at)} ${hm.format(at)}`),
  };
}
