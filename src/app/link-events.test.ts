import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Journal } from '../../sync/journal.js';
import { onLinkChange, type LinkEventTargets } from './link-events.js';
import { createSignals } from './signals.js';

function targets(random: number) {
  const calls: string[] = [];
  const t: LinkEventTargets = {
    signals: createSignals(),
    journal: { expedite: async () => 3 } as unknown as Journal,
    closeSessions: (path) => void calls.push(`close ${path}`),
    wakeReplay: () => void calls.push('wake'),
    holdReplay: (ms) => void calls.push(`hold ${ms}`),
    startJitterMs: () => 2000,
    random: () => random,
    logger: pino({ level: 'silent' }),
  };
  return { t, calls };
}

describe('link events', () => {
  it('holds replay a random part of startJitterMs before the entries that waited for the link are due', async () => {
    const { t, calls } = targets(0.25);
    onLinkChange(t)({ path: 'fiber', from: 'down', to: 'up' } as never);
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['hold 500', 'wake']);
  });

  it('holds nothing when the path was not down', async () => {
    const { t, calls } = targets(0.9);
    onLinkChange(t)({ path: 'fiber', from: 'up', to: 'down' } as never);
    onLinkChange(t)({ path: 'fiber', from: 'degraded', to: 'up' } as never);
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['close fiber']);
  });
});
