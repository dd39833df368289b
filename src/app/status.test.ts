import { describe, expect, it } from 'vitest';
import type { Journal } from '../../sync/journal.js';
import type { RuntimeHolder } from '../gateway/runtime.js';
import type { LinkMonitor } from '../link/monitor.js';
import { staffFacts } from './status.js';

const holder = { current: { loaded: { config: { store: { id: 'store-0042' } } } } } as unknown as RuntimeHolder;
const monitor = { status: () => [{ name: 'fiber', state: 'up', monitored: true, stateAgeS: 12, rttMs: 3 }] } as unknown as LinkMonitor;

describe('staff facts', () => {
  it('carry the journal\'s counts, and nothing of the paths but their state', async () => {
    const journal = { stats: async () => ({ pending: 3, unknown: 1, dead: 0, oldestAgeS: 90, bytes: 1 }) } as unknown as Journal;
    expect(await staffFacts({ holder, monitor, journal })).toEqual({
      store: 'store-0042',
      paths: [{ name: 'fiber', state: 'up', monitored: true, stateAgeS: 12 }],
      queue: { pending: 3, unknown: 1, dead: 0, oldestAgeS: 90 },
    });
  });

  it('say the journal cannot be read (null) instead of failing the staff page', async () => {
    const journal = { stats: () => Promise.reject(new Error('the journal worker exited')) } as unknown as Journal;
    expect((await staffFacts({ holder, monitor, journal })).queue).toBeNull();
  });
});
