// What happens in the process that the fleet agent reports: link state
// changes, new dead letters and unknown outcomes. The link monitor and the
// journal's settlements emit; the fleet host (fleet-host.ts) subscribes.
import { EventEmitter } from 'node:events';
import type { DeadLetter, UnknownOutcome } from '../fleet/agent/host.js';
import type { PathStateChange } from '../link/monitor.js';

export type Signals = EventEmitter<{ link: [PathStateChange]; dead: [DeadLetter]; unknown: [UnknownOutcome] }>;

export function createSignals(): Signals {
  return new EventEmitter();
}
