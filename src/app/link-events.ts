// What a path's state change sets off beyond the data path (which reads the
// new state through the monitor's views at once): the fleet hears of it, a
// path gone DOWN closes its WebSocket sessions so their clients reconnect
// through another, and a path back from DOWN makes due at once what waited
// only because the ERP was unreachable, rather than at the end of its backoff,
// after a random hold (replay.startJitterMs): a link that comes back to a whole
// region at once must not have every store send at the same instant.
import type { Logger } from 'pino';
import type { Journal } from '../../sync/journal.js';
import type { PathStateChange } from '../link/monitor.js';
import type { Signals } from './signals.js';

export interface LinkEventTargets {
  signals: Signals;
  journal: Journal;
  /** Closes the WebSocket sessions relayed through a path. */
  closeSessions(path: string): void;
  /** Has the replay engine look for due entries now. */
  wakeReplay(): void;
  /** Has the replay engine pick nothing for this long. */
  holdReplay(ms: number): void;
  /** The longest hold (replay.startJitterMs), read at every use so a reload applies. */
  startJitterMs(): number;
  /** A number in [0, 1): tests pass a fixed one. */
  random?(): number;
  logger: Logger;
}

export function onLinkChange(t: LinkEventTargets): (change: PathStateChange) => void {
  return (change) => {
    t.signals.emit('link', change);
    if (change.to === 'down') t.closeSessions(change.path);
    if (change.from !== 'down') return;
    t.holdReplay(Math.floor((t.random ?? Math.random)() * t.startJitterMs()));
    t.journal
      .expedite()
      .then((n) => {
        if (n > 0) t.logger.info({ path: change.path, entries: n }, 'link back: journaled requests waiting for the network are due now');
        t.wakeReplay();
      })
      .catch((e: Error) => t.logger.error({ err: e }, 'could not expedite the journal'));
  };
}
