// The dashboard's pure logic: states, sorting and filtering the fleet, chart
// series from telemetry, outage periods, event descriptions and formatting.
// No DOM here: vitest imports this module directly (types in model.d.ts).

export const STATES = ['up', 'degraded', 'down', 'offline'];

/**
 * Text and a shape for each state: the page never tells states apart by colour
 * alone. unknown is a path's only (the gateway has not judged it yet, or has
 * nothing to judge it by), never a store's.
 */
export const STATE_TEXT = { up: 'Up', degraded: 'Degraded', down: 'Down', offline: 'Offline', unknown: 'Unknown' };
export const STATE_ICON = { up: '✓', degraded: '!', down: '✕', offline: '○', unknown: '?' };

/** Worst first: what ops look at first when sorting by state. */
const SEVERITY = { down: 0, offline: 1, degraded: 2, up: 3 };

/** The path that carries the store's traffic best (highest score), or undefined without paths. */
export function bestPath(g) {
  let best;
  for (const p of g.paths ?? []) if (!best || p.score > best.score) best = p;
  return best;
}

const SORT_KEYS = {
  id: (g) => g.id,
  region: (g) => g.region,
  state: (g) => SEVERITY[g.state] ?? 9,
  score: (g) => bestPath(g)?.score ?? -1,
  rtt: (g) => bestPath(g)?.rttMs ?? Number.POSITIVE_INFINITY,
  loss: (g) => bestPath(g)?.lossPct ?? Number.POSITIVE_INFINITY,
  pending: (g) => g.queue?.pending ?? -1,
  oldest: (g) => g.queue?.oldestAgeS ?? -1,
  dead: (g) => g.queue?.dead ?? -1,
  // null: a gateway that does not report it (older storegw), below every count.
  unknown: (g) => g.queue?.unknown ?? -1,
  lastSeen: (g) => g.lastSeen ?? 0,
};
export const SORTABLE = Object.keys(SORT_KEYS);

/** A sorted copy; ties keep the store id order, so rows do not jump between polls. */
export function sortGateways(list, key, dir) {
  const value = SORT_KEYS[key] ?? SORT_KEYS.id;
  const sign = dir === 'desc' ? -1 : 1;
  return [...list].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    const c = typeof va === 'string' ? va.localeCompare(vb) : va - vb;
    return c !== 0 && !Number.isNaN(c) ? c * sign : a.id.localeCompare(b.id);
  });
}

/**
 * The gateways a filter keeps: region (exact), state ('problem' = anything
 * but up), at least minPending entries waiting, only those with dead letters,
 * only those with unknown outcomes, only those whose backlog nears expiry,
 * and text found in the store id.
 */
export function filterGateways(list, f = {}) {
  const text = (f.text ?? '').trim().toLowerCase();
  const minPending = Number(f.minPending) || 0;
  return list.filter(
    (g) =>
      (!f.region || g.region === f.region) &&
      (!f.state || (f.state === 'problem' ? g.state !== 'up' : g.state === f.state)) &&
      (minPending <= 0 || (g.queue?.pending ?? 0) >= minPending) &&
      (!f.deadOnly || (g.queue?.dead ?? 0) > 0) &&
      (!f.unknownOnly || (g.queue?.unknown ?? 0) > 0) &&
      (!f.nearExpiryOnly || nearExpiry(g.queue) !== undefined) &&
      (!text || g.id.toLowerCase().includes(text)),
  );
}

/**
 * A backlog near expiry: the warning the gateway raised (a fraction of its
 * buffer.maxAgeHours the oldest pending entry has passed) in words, with how
 * long until that entry becomes a dead letter; undefined without a warning
 * (and from a gateway too old to raise one).
 */
export function nearExpiry(q) {
  if (!q || typeof q.expiryWarning !== 'number' || typeof q.maxAgeS !== 'number') return undefined;
  const pct = Math.round(q.expiryWarning * 100);
  const leftS = Math.max(0, q.maxAgeS - q.oldestAgeS);
  return { pct, leftS, text: `past ${pct} % of the max age (${fmtDuration(q.maxAgeS)}): the oldest entry expires in ${fmtDuration(leftS)}` };
}

export function countStates(list) {
  const counts = { total: list.length, up: 0, degraded: 0, down: 0, offline: 0 };
  for (const g of list) if (g.state in counts) counts[g.state]++;
  return counts;
}

export function regionsOf(list) {
  return [...new Set(list.map((g) => g.region))].sort();
}

/**
 * Telemetry points (raw messages and minute roll-ups, oldest first) as uPlot
 * columns: x in seconds, per path its rtt, jitter, loss, score and state (null
 * where a point lacks the path), and the queue.
 */
export function seriesFromPoints(points) {
  const names = [];
  for (const p of points) for (const path of p.paths) if (!names.includes(path.name)) names.push(path.name);
  const x = [];
  const paths = Object.fromEntries(names.map((n) => [n, { rtt: [], jitter: [], loss: [], score: [], state: [] }]));
  const queue = { pending: [], dead: [], unknown: [], oldest: [] };
  for (const p of points) {
    x.push(p.ts / 1000);
    for (const n of names) {
      const v = p.paths.find((q) => q.name === n);
      const s = paths[n];
      s.rtt.push(v?.rttMs ?? null);
      s.jitter.push(v?.jitterMs ?? null);
      s.loss.push(v?.lossPct ?? null);
      s.score.push(v?.score ?? null);
      s.state.push(v?.state ?? null);
    }
    queue.pending.push(p.queue?.pending ?? null);
    queue.dead.push(p.queue?.dead ?? null);
    queue.unknown.push(p.queue?.unknown ?? null);
    queue.oldest.push(p.queue?.oldestAgeS ?? null);
  }
  return { names, x, paths, queue };
}

/**
 * When a path was DOWN or the gateway offline, as [start, end] in epoch ms:
 *  - a path is down from the first point that says so until the next point that does not (or `now`);
 *  - the gateway is offline from a hub.disconnected event until the next hub.connected; a
 *    hub.connected with no disconnect before it (the hub restarted) ends a gap that began at the
 *    last telemetry point before it; a gateway offline now is offline since it was last seen.
 */
export function outagePeriods(points, events, opts) {
  const { now, online, lastSeen } = opts;
  const out = [];
  const open = new Map();
  for (const p of points) {
    const seen = new Set();
    for (const path of p.paths) {
      seen.add(path.name);
      if (path.state === 'down') {
        if (!open.has(path.name)) open.set(path.name, p.ts);
      } else if (open.has(path.name)) {
        out.push({ kind: 'down', path: path.name, start: open.get(path.name), end: p.ts });
        open.delete(path.name);
      }
    }
    for (const [name, start] of open) {
      if (!seen.has(name)) {
        out.push({ kind: 'down', path: name, start, end: p.ts });
        open.delete(name);
      }
    }
  }
  for (const [name, start] of open) out.push({ kind: 'down', path: name, start, end: online ? now : Math.max(start, lastSeen ?? start) });

  const sorted = [...events].sort((a, b) => a.ts - b.ts || (a.seq ?? 0) - (b.seq ?? 0));
  let offlineSince;
  let connectedOnce = false;
  for (const e of sorted) {
    if (e.event === 'hub.disconnected') {
      if (offlineSince === undefined) offlineSince = e.ts;
    } else if (e.event === 'hub.connected') {
      if (offlineSince !== undefined) {
        out.push({ kind: 'offline', start: offlineSince, end: e.ts });
      } else if (connectedOnce || points.some((p) => p.ts < e.ts)) {
        const before = points.filter((p) => p.ts < e.ts).at(-1);
        if (before) out.push({ kind: 'offline', start: before.ts, end: e.ts });
      }
      offlineSince = undefined;
      connectedOnce = true;
    }
  }
  if (!online) {
    const start = offlineSince ?? lastSeen;
    if (start !== undefined && start < now) out.push({ kind: 'offline', start, end: now });
  }
  return out.filter((o) => o.end >= o.start).sort((a, b) => a.start - b.start);
}

const str = (v) => (v === undefined || v === null ? '' : String(v));

/** A line for the event timeline: its label, a detail text, and how bad it is. */
export function describeEvent(e) {
  const d = e.details ?? {};
  switch (e.event) {
    case 'link.state':
      return {
        label: `Path ${str(d.path)} ${str(d.to).toUpperCase()}`,
        detail: `${str(d.from)} → ${str(d.to)}${d.cause ? ` (${d.cause})` : ''}${typeof d.lossPct === 'number' ? `, loss ${fmtPct(d.lossPct)}` : ''}${typeof d.rttMs === 'number' ? `, RTT ${fmtMs(d.rttMs)}` : ''}`,
        severity: d.to === 'down' ? 'down' : d.to === 'degraded' ? 'degraded' : 'up',
      };
    case 'dead_letter':
      return { label: 'Dead letter', detail: `${str(d.route)} ${str(d.receipt)}${d.reason ? `: ${d.reason}` : ''}${d.attempts ? ` after ${d.attempts} attempts` : ''}`, severity: 'down' };
    case 'dead_letter.summary':
      return { label: 'Dead letters', detail: `${str(d.count)} more ${summarized(d)}`, severity: 'down' };
    case 'unknown_outcome.summary':
      return { label: 'Outcomes unknown', detail: `${str(d.count)} more ${summarized(d)} — each held until someone says whether it happened`, severity: 'degraded' };
    case 'journal.expired':
      return { label: 'Entries expired', detail: `${str(d.count)} pending longer than ${str(d.maxAgeHours)} h became dead letters${examples(d)}`, severity: 'down' };
    case 'journal.near_expiry':
      return { label: 'Backlog near expiry', detail: `oldest pending ${fmtDuration(d.oldestAgeS)}, past ${Math.round(Number(d.fraction) * 100)} % of the max age (${fmtDuration(d.maxAgeS)}); ${str(d.pending)} pending`, severity: 'degraded' };
    case 'journal.near_expiry_cleared':
      return { label: 'Backlog no longer near expiry', detail: `oldest pending ${fmtDuration(d.oldestAgeS)}; ${str(d.pending)} pending`, severity: 'up' };
    case 'unknown_outcome':
      return { label: 'Outcome unknown', detail: `${str(d.route)} ${str(d.receipt)}${d.reason ? `: ${d.reason}` : ''}${d.attempts ? ` after ${d.attempts} ${d.attempts === 1 ? 'attempt' : 'attempts'}` : ''} — held until someone says whether it happened`, severity: 'degraded' };
    case 'config.applied':
      return { label: 'Config applied', detail: `version ${str(d.version)}${d.previousVersion ? ` (was ${d.previousVersion})` : ''}`, severity: 'up' };
    case 'config.rolled_back':
      return { label: 'Config rolled back', detail: Object.entries(d).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : str(v)}`).join(', '), severity: 'down' };
    case 'hub.connected':
      return { label: 'Connected to the hub', detail: `${d.version ? `storegw ${d.version}` : ''}${d.configVersion ? `, config ${d.configVersion}` : ''}`, severity: 'up' };
    case 'hub.disconnected':
      return { label: 'Disconnected from the hub', detail: d.code !== undefined ? `close code ${d.code}` : '', severity: 'offline' };
    case 'quota.pressure':
      return { label: 'Journal quota pressure', detail: JSON.stringify(d), severity: 'degraded' };
    case 'journal.error':
      return { label: 'Journal error', detail: str(d.message ?? JSON.stringify(d)), severity: 'down' };
    default:
      return { label: e.event, detail: JSON.stringify(d), severity: 'up' };
  }
}

/** The first few entries of an event about many, as receipts' first 8 characters with their routes. */
function examples(d) {
  const entries = Array.isArray(d.entries) ? d.entries : [];
  if (entries.length === 0) return '';
  const shown = entries.map((e) => `${str(e.route)} ${str(e.receipt).slice(0, 8)}`).join(', ');
  return `, among them ${shown}${Number(d.count) > entries.length ? ', …' : ''}`;
}

/** A summary's burst: since when, and the first of it. */
function summarized(d) {
  return `since ${typeof d.sinceTs === 'number' ? new Date(d.sinceTs).toLocaleTimeString() : '?'} (past the gateway's limit a minute: not reported one by one)${examples(d)}`;
}

export function fmtMs(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return v >= 100 ? `${Math.round(v)} ms` : `${Math.round(v * 10) / 10} ms`;
}

export function fmtPct(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return `${Math.round(v * 10) / 10} %`;
}

/** 42 s, 3 min 5 s, 2 h 10 min, 3 d 4 h. */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
  return `${Math.floor(s / 86400)} d${Math.floor((s % 86400) / 3600) ? ` ${Math.floor((s % 86400) / 3600)} h` : ''}`;
}

export function fmtAgo(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  return ms < 1500 ? 'just now' : `${fmtDuration(ms / 1000)} ago`;
}

/** 12.5/s, 300/s: entries per second, as replay counts them. */
export function fmtRate(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return `${v >= 100 ? Math.round(v) : Math.round(v * 10) / 10}/s`;
}

/**
 * A region's drain budget and what is made of it, as words: how much of it the
 * hub has granted (never more than all of it) and how fast the region's
 * backlogs actually shrink (that may fall short of the grants: a store drains
 * no faster than its own rate, and its ERP answers when it can).
 */
export function budgetUse(r) {
  // With several hub replicas the figures are those of the replica that answered, against its part.
  const here = r.budgetHerePerSec ?? r.budgetPerSec;
  const pct = here > 0 ? Math.min(100, Math.round((r.grantedPerSec / here) * 100)) : 0;
  const part = r.budgetHerePerSec === undefined ? '' : `, this hub replica's part of ${fmtRate(r.budgetPerSec)}`;
  return {
    pct,
    granted: `${fmtRate(r.grantedPerSec)} of ${fmtRate(here)} (${pct} %${part})`,
    draining: r.backlogged > 0 || r.drainingPerSec > 0 ? fmtRate(r.drainingPerSec) : 'idle',
    stores: `${r.backlogged} of ${r.stores}`,
  };
}

/** A command's answer from the hub as one sentence for the result line. */
export function describeResult(command, status, body) {
  if (status === 200 && body && body.ok) {
    const r = body.result ?? {};
    if (command.startsWith('replay.')) return { ok: true, text: `Replay ${r.paused ? 'paused' : 'running'} at ${str(r.ratePerSec)}/s` };
    if (command === 'queue.retry' || command === 'queue.discard') {
      const results = r.results ?? [];
      const done = results.filter((x) => x.ok).length;
      const failed = results.filter((x) => !x.ok).map((x) => `${x.receipt.slice(0, 8)}: ${x.error}`);
      return { ok: failed.length === 0, text: `${command === 'queue.retry' ? 'Retried' : 'Discarded'} ${done} of ${results.length}${failed.length ? ` (${failed.join(', ')})` : ''}` };
    }
    if (command === 'queue.settle') {
      const results = r.results ?? [];
      const done = results.filter((x) => x.ok);
      const failed = results.filter((x) => !x.ok).map((x) => `${x.receipt.slice(0, 8)}: ${x.error === 'not_unknown' ? `already ${x.state}` : x.error}`);
      const verb = done[0]?.state === 'delivered' ? 'Marked delivered' : done[0]?.state === 'pending' ? 'Put back in the queue' : 'Settled';
      return { ok: failed.length === 0, text: `${verb}: ${done.length} of ${results.length}${failed.length ? ` (${failed.join(', ')})` : ''}` };
    }
    return { ok: true, text: 'Done' };
  }
  if (status === 200 && body) return { ok: false, text: `The gateway refused: ${body.error?.message ?? body.error?.code ?? 'failed'}` };
  const why = { 403: 'this token may only read', 409: 'the gateway is offline', 504: 'the gateway did not answer in time', 502: 'the gateway disconnected before answering', 503: 'the gateway is busy' }[status];
  return { ok: false, text: `Failed (${status}): ${why ?? body?.message ?? body?.error ?? 'error'}` };
}

/** A queue.settle from the command log as a line of the settled list: who said what of which entries, and what came of it. */
export function describeSettlement(c) {
  const args = c.args ?? {};
  const receipts = Array.isArray(args.receipts) ? args.receipts : [];
  const results = Array.isArray(c.result?.results) ? c.result.results : [];
  const done = results.filter((x) => x.ok).length;
  return {
    verdict: args.as === 'delivered' ? 'Happened → mark delivered' : 'Did not happen → retry',
    by: str(args.by ?? c.who),
    receipts: receipts.map((r) => String(r).slice(0, 8)).join(', '),
    outcome: c.outcome === 'ok' ? `${done} of ${receipts.length} settled` : (c.outcome ?? 'waiting'),
    ok: c.outcome === 'ok' && done === receipts.length,
  };
}

/** A fleet command's summary from POST /v1/fleet/commands. */
export function describeFleetResult(status, body) {
  if (status !== 200 || !body) return { ok: false, text: `Failed (${status}): ${body?.message ?? body?.error ?? 'error'}` };
  const failed = (body.results ?? []).filter((r) => !r.ok).map((r) => `${r.id}: ${r.error?.message ?? r.error?.code ?? 'failed'}`);
  return {
    ok: body.failed === 0 && body.offline === 0,
    text: `${body.ok} of ${body.matched} gateways done${body.offline ? `, ${body.offline} offline (${body.offlineIds.join(', ')})` : ''}${failed.length ? `; failed: ${failed.join('; ')}` : ''}`,
  };
}
