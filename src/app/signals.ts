// What happens in the process that the fleet agent reports: link state
// changes, new dead letters and unknown outcomes, entries expired and the
// backlog nearing expiry. The link monitor, the journal's settlements and its
// housekeeping emit; the fleet host (fleet-host.ts) subscribes.
import { EventEmitter } from 'node:events';
import type { DeadLetter, ExpiredEntries, ExpiryWarningChange, UnknownOutcome } from '../fleet/agent/host.js';
import type { PathStateChange } from '../link/monitor.js';

export type Signals = EventEmitter<{ link: [PathStateChange]; dead: [DeadLetter]; unknown: [UnknownOutcome]; expired: [ExpiredEntries]; expiry: [ExpiryWarningChange] }>;

export function createSignals(): Signals {
  return new EventEmitter();
}
