// One store: its links and backlog now, operator actions (replay, dead letters,
// writes whose outcome is unknown), who settled unknown outcomes, RTT / jitter / loss /
// score per path and the backlog over time (uPlot, outages shaded), the outage
// periods as text, the event timeline and the recent commands. Telemetry and
// events are fetched once for the window, then only what is new at each poll.
import { call, get } from './api.js';
import { gatewayCommand, rateFrom, resultLine, settleUnknown } from './actions.js';
import { PATH_STYLES, createChart } from './chart.js';
import { badge, fill, h, time } from './dom.js';
import { STATE_ICON, STATE_TEXT, describeEvent, describeSettlement, fmtAgo, fmtDuration, fmtMs, fmtPct, nearExpiry, outagePeriods, seriesFromPoints } from './model.js';

const WINDOWS = [
  { ms: 15 * 60_000, label: 'Last 15 minutes' },
  { ms: 60 * 60_000, label: 'Last hour' },
  { ms: 6 * 3_600_000, label: 'Last 6 hours' },
  { ms: 24 * 3_600_000, label: 'Last 24 hours' },
  { ms: 7 * 86_400_000, label: 'Last 7 days' },
];

const CHARTS = [
  { key: 'rtt', title: 'RTT per path', y: 'ms' },
  { key: 'jitter', title: 'Jitter per path', y: 'ms' },
  { key: 'loss', title: 'Loss per path', y: '%' },
  { key: 'score', title: 'Link score per path', y: 'score (0–100)' },
];

const fmtTime = (ms) => new Date(ms).toLocaleTimeString();

export function storeView(root, ctx, id) {
  const operator = ctx.role === 'operator';
  const enc = encodeURIComponent(id);
  let windowMs = WINDOWS[1].ms;
  let detail;
  let points = [];
  let events = [];
  let outages = [];
  let charts = [];
  let chartPaths = '';
  let now = Date.now();
  let loaded = false;

  // --- skeleton
  const title = h('h2', { id: 'store-title', tabindex: '-1' }, `Store ${id}`);
  const stateEl = h('span', { class: 'title-state' });
  const summary = h('dl', { class: 'summary' });
  const linksBody = h('tbody');
  const linksTable = h(
    'table',
    { class: 'links' },
    h('caption', {}, 'Links now'),
    h('thead', {}, h('tr', {}, ['Path', 'State', 'Score', 'RTT', 'Jitter', 'Loss', 'WireGuard handshake'].map((c) => h('th', { scope: 'col' }, c)))),
    linksBody,
  );
  const backlog = h('dl', { class: 'summary backlog' });
  const replayState = h('p', { class: 'replay-state' });

  const windowSelect = h(
    'select',
    { id: 'history-window', onchange: (e) => { windowMs = Number(e.target.value); points = []; events = []; loaded = false; void ctx.refreshSoon(); } },
    WINDOWS.map((w) => h('option', { value: String(w.ms), selected: w.ms === windowMs }, w.label)),
  );
  const chartsBox = h('div', { class: 'charts' });
  const backlogChartBox = h('div', { class: 'chart', id: 'chart-backlog' });
  const outageList = h('ul', { class: 'outages', id: 'outage-list' });
  const eventsBody = h('tbody');
  const commandsBody = h('tbody');
  const unknownSeen = h('ul', { class: 'unknown-seen', id: 'unknown-seen' });
  const settledBody = h('tbody');

  fill(
    root,
    h('p', { class: 'back' }, h('a', { href: '#/' }, '← All stores')),
    h('div', { class: 'view-head store-head' }, title, stateEl),
    summary,
    h('div', { class: 'now' },
      h('section', { 'aria-labelledby': 'links-title' }, h('h3', { id: 'links-title', class: 'visually-hidden' }, 'Links now'), h('div', { class: 'table-wrap' }, linksTable)),
      h('section', { 'aria-labelledby': 'backlog-title' }, h('h3', { id: 'backlog-title' }, 'Backlog now'), backlog, replayState)),
    operator ? actionsSection() : null,
    h('section', { 'aria-labelledby': 'unknown-title' },
      h('h3', { id: 'unknown-title' }, 'Unknown outcomes'),
      h('p', { class: 'help' }, 'Writes sent to an ERP that does not dedupe whose answer was lost: the gateway holds each until a read-back check or an operator says whether it happened.'),
      h('h4', {}, 'Reported by the gateway (latest first)'),
      unknownSeen,
      h('div', { class: 'table-wrap' },
        h('table', { class: 'settled', id: 'settled-table' },
          h('caption', {}, 'Settled through the hub: who said what, and when (newest first)'),
          h('thead', {}, h('tr', {}, ['When', 'By', 'Verdict', 'Entries', 'Outcome'].map((c) => h('th', { scope: 'col' }, c)))),
          settledBody))),
    h('section', { class: 'history', 'aria-labelledby': 'history-title' },
      h('div', { class: 'view-head' }, h('h3', { id: 'history-title' }, 'History'), h('div', { class: 'field inline' }, h('label', { for: 'history-window' }, 'Window'), windowSelect)),
      h('p', { class: 'legend' },
        h('span', { class: 'swatch down', 'aria-hidden': 'true' }), ' Red band: a path was DOWN. ',
        h('span', { class: 'swatch offline', 'aria-hidden': 'true' }), ' Hatched grey band: the gateway was offline (not connected to the hub).'),
      h('h4', { id: 'outages-title' }, 'Outages in this window'),
      outageList,
      chartsBox,
      h('h4', {}, 'Backlog over time'),
      backlogChartBox),
    h('section', { 'aria-labelledby': 'events-title' },
      h('h3', { id: 'events-title' }, 'Events'),
      h('div', { class: 'table-wrap scroll', role: 'region', 'aria-labelledby': 'events-title', tabindex: '0' },
        h('table', { class: 'events', id: 'events-table' },
          h('caption', { class: 'visually-hidden' }, 'Events, newest first'),
          h('thead', {}, h('tr', {}, ['Time', 'Event', 'Details'].map((c) => h('th', { scope: 'col' }, c)))),
          eventsBody))),
    h('section', { 'aria-labelledby': 'commands-title' },
      h('h3', { id: 'commands-title' }, 'Recent commands'),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'commands' },
          h('caption', { class: 'visually-hidden' }, 'Commands sent to this gateway through the hub, newest first'),
          h('thead', {}, h('tr', {}, ['Sent', 'By', 'Command', 'Arguments', 'Outcome'].map((c) => h('th', { scope: 'col' }, c)))),
          commandsBody))),
  );

  function actionsSection() {
    const out = resultLine('store-action-result');
    const rate = h('input', { id: 'store-rate', type: 'number', min: '0.1', step: 'any', inputmode: 'decimal', value: '50' });
    const buttons = [];
    const send = (command, args, question, okLabel) =>
      gatewayCommand({ gateway: id, command, args, question, okLabel, out, buttons }).then(() => ctx.refreshSoon());
    const pause = h('button', { type: 'button', dataset: { action: 'pause' }, onclick: () => send('replay.pause', {}, `Pause replay on ${id}? Buffered writes stay in its journal until replay is resumed.`, 'Pause replay') }, 'Pause replay');
    const resume = h('button', { type: 'button', dataset: { action: 'resume' }, onclick: () => send('replay.resume', {}, `Resume replay on ${id}?`, 'Resume replay') }, 'Resume replay');
    const setRate = h('button', { type: 'button', dataset: { action: 'rate' }, onclick: () => {
      const r = rateFrom(rate);
      if (r !== undefined) void send('replay.setRate', { ratePerSec: r }, `Set the replay drain rate of ${id} to ${r} entries/s?`, 'Set drain rate');
    } }, 'Set drain rate');
    buttons.push(pause, resume, setRate);

    const deadOut = resultLine('dead-result');
    const deadBody = h('tbody');
    const deadTable = h(
      'table',
      { class: 'dead', id: 'dead-table', hidden: true },
      h('caption', {}, 'Dead letters'),
      h('thead', {}, h('tr', {}, ['Receipt', 'Route', 'Class', 'Attempts', 'Last error', 'Updated', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      deadBody,
    );
    const loadDead = async () => {
      fill(deadOut, 'Asking the gateway for its dead letters…');
      deadOut.className = 'result pending';
      const r = await call('POST', `/v1/gateways/${enc}/commands`, { command: 'queue.list', args: { state: 'dead', limit: 100 } });
      if (r.status !== 200 || !r.body?.ok) {
        deadOut.className = 'result failed';
        fill(deadOut, `Cannot list dead letters (${r.status}): ${r.body?.message ?? r.body?.error?.message ?? r.body?.error ?? 'error'}`);
        return;
      }
      const entries = r.body.result?.entries ?? [];
      deadOut.className = 'result ok';
      fill(deadOut, entries.length === 0 ? 'No dead letters.' : `${entries.length} dead ${entries.length === 1 ? 'letter' : 'letters'}${r.body.result?.next ? ' (the first 100)' : ''}.`);
      deadTable.hidden = entries.length === 0;
      fill(deadBody, entries.map((e) => {
        const one = (command, verb, question) =>
          h('button', { type: 'button', dataset: { action: `${verb.toLowerCase()}-dead` }, 'aria-label': `${verb} dead letter ${e.receipt}`, onclick: async () => {
            const res = await gatewayCommand({ gateway: id, command, args: { receipts: [e.receipt] }, question, okLabel: verb, out: deadOut, buttons: [] });
            if (res) {
              await loadDead().catch(() => undefined);
              ctx.refreshSoon();
            }
          } }, verb);
        return h('tr', {},
          h('td', {}, h('code', { title: e.receipt }, e.receipt.slice(0, 8))),
          h('td', {}, e.route),
          h('td', {}, e.cls),
          h('td', { class: 'num' }, String(e.attempts)),
          h('td', {}, e.lastError ?? (e.upstreamStatus ? `HTTP ${e.upstreamStatus}` : '—')),
          h('td', {}, time(e.updatedAt)),
          h('td', { class: 'row-actions' },
            one('queue.retry', 'Retry', `Put dead letter ${e.receipt} back in ${id}'s replay queue?`),
            ' ',
            one('queue.discard', 'Discard', `Discard dead letter ${e.receipt} on ${id}? The write it holds is dropped for good.`)));
      }));
    };
    const showDead = h('button', { type: 'button', dataset: { action: 'list-dead' }, onclick: () => void loadDead().catch((e) => fill(deadOut, `Failed: ${e.message}`)) }, 'Show dead letters');

    const unknownOut = resultLine('unknown-result');
    const unknownBody = h('tbody');
    const unknownTable = h(
      'table',
      { class: 'unknown', id: 'unknown-table', hidden: true },
      h('caption', {}, 'Writes whose outcome is unknown: check the ERP, then say whether each happened'),
      h('thead', {}, h('tr', {}, ['Receipt', 'Route', 'Class', 'Attempts', 'Why unknown', 'Since', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      unknownBody,
    );
    const loadUnknown = async () => {
      fill(unknownOut, 'Asking the gateway for its unknown outcomes…');
      unknownOut.className = 'result pending';
      const r = await call('POST', `/v1/gateways/${enc}/commands`, { command: 'queue.list', args: { state: 'unknown', limit: 100 } });
      if (r.status !== 200 || !r.body?.ok) {
        unknownOut.className = 'result failed';
        fill(unknownOut, `Cannot list unknown outcomes (${r.status}): ${r.body?.message ?? r.body?.error?.message ?? r.body?.error ?? 'error'}`);
        return;
      }
      const entries = r.body.result?.entries ?? [];
      unknownOut.className = 'result ok';
      fill(unknownOut, entries.length === 0 ? 'No unknown outcomes.' : `${entries.length} ${entries.length === 1 ? 'write' : 'writes'} of unknown outcome${r.body.result?.next ? ' (the first 100)' : ''}.`);
      unknownTable.hidden = entries.length === 0;
      fill(unknownBody, entries.map((e) => {
        const what = `write ${e.receipt} (${e.route})`;
        // Each verdict says what goes wrong if it is the wrong one: there is no undo at the ERP.
        const verdict = (as, label, question, okLabel) =>
          h('button', { type: 'button', dataset: { action: `${as}-unknown` }, 'aria-label': `${label}: ${e.receipt}`, onclick: async () => {
            const res = await settleUnknown({ gateway: id, receipts: [e.receipt], as, question, okLabel, out: unknownOut });
            if (res) {
              await loadUnknown().catch(() => undefined);
              ctx.refreshSoon();
            }
          } }, label);
        return h('tr', {},
          h('td', {}, h('code', { title: e.receipt }, e.receipt.slice(0, 8))),
          h('td', {}, e.route),
          h('td', {}, e.cls),
          h('td', { class: 'num' }, String(e.attempts)),
          h('td', {}, e.lastError ?? '—'),
          h('td', {}, time(e.updatedAt)),
          h('td', { class: 'row-actions' },
            verdict('retry', 'Did not happen — retry',
              `Did ${what} on ${id} NOT take effect at the ERP? Check the ERP first. Retrying sends it again: if it did take effect, the ERP applies it twice (a duplicate order or stock move).`,
              'Retry: it did not happen'),
            ' ',
            verdict('delivered', 'Happened — mark delivered',
              `Did ${what} on ${id} take effect at the ERP? Marking it delivered closes it for good: it is never sent again, so if it did not take effect, the write is lost.`,
              'Mark delivered: it happened')));
      }));
    };
    const showUnknown = h('button', { type: 'button', dataset: { action: 'list-unknown' }, onclick: () => void loadUnknown().catch((e) => fill(unknownOut, `Failed: ${e.message}`)) }, 'Show unknown outcomes');

    return h(
      'section',
      { class: 'actions', 'aria-labelledby': 'actions-title' },
      h('h3', { id: 'actions-title' }, 'Actions'),
      h('div', { class: 'action-row' }, pause, resume,
        h('div', { class: 'field' }, h('label', { for: 'store-rate' }, 'Drain rate (entries/s)'), rate), setRate),
      out,
      h('div', { class: 'action-row' }, showDead),
      deadOut,
      h('div', { class: 'table-wrap' }, deadTable),
      h('div', { class: 'action-row' }, showUnknown),
      unknownOut,
      h('div', { class: 'table-wrap' }, unknownTable),
    );
  }

  function renderSummary() {
    const g = detail;
    fill(stateEl, badge(g.state, STATE_TEXT[g.state], STATE_ICON[g.state]));
    const item = (k, ...v) => [h('dt', {}, k), h('dd', {}, ...v)];
    fill(
      summary,
      item('Region', g.region),
      item('Tags', g.tags?.length ? g.tags.join(', ') : '—'),
      item(g.online ? 'Last heard' : 'Offline since', g.online ? fmtAgo(now - g.lastSeen) : [time(g.lastSeen), ` (${fmtAgo(now - g.lastSeen)})`]),
      item('storegw', g.version),
      item('Config', g.configVersion, g.config?.desired && g.config.desired.version !== g.configVersion ? ` (desired ${g.config.desired.version}, ${g.config.desired.applyStatus ?? 'pending'})` : ''),
    );
    fill(linksBody, g.paths.length === 0 ? h('tr', {}, h('td', { colspan: '7' }, 'No path reported yet.')) : g.paths.map((p) =>
      h('tr', {},
        h('th', { scope: 'row' }, p.name),
        h('td', {}, badge(g.online ? p.state : 'offline', g.online ? STATE_TEXT[p.state] : `${STATE_TEXT[p.state]} (last known)`, STATE_ICON[g.online ? p.state : 'offline'])),
        h('td', { class: 'num' }, String(Math.round(p.score))),
        h('td', { class: 'num' }, fmtMs(p.rttMs)),
        h('td', { class: 'num' }, fmtMs(p.jitterMs)),
        h('td', { class: 'num' }, fmtPct(p.lossPct)),
        h('td', { class: 'num' }, p.handshakeAgeS === undefined || p.handshakeAgeS === null ? '—' : `${fmtDuration(p.handshakeAgeS)} ago`))));
    const q = g.queue;
    const expiry = nearExpiry(q);
    fill(
      backlog,
      item('Pending', q ? String(q.pending) : '—'),
      item(
        'Oldest pending',
        expiry
          ? h('span', { class: 'near-expiry', id: 'near-expiry' }, `⚠ ${fmtDuration(q.oldestAgeS)} — near expiry: ${expiry.text}; then a dead letter`)
          : q && q.pending > 0 ? fmtDuration(q.oldestAgeS) : '—',
      ),
      item('Expires after', typeof q?.maxAgeS === 'number' ? `${fmtDuration(q.maxAgeS)} pending (buffer.maxAgeHours)` : '—'),
      item('Dead letters', q ? String(q.dead) : '—'),
      item('Unknown outcomes', typeof q?.unknown === 'number' ? h('span', { class: q.unknown > 0 ? 'has-unknown' : undefined }, q.unknown > 0 ? `? ${q.unknown} (check the ERP, then settle)` : '0') : '—'),
    );
    const last = (g.commands ?? []).find((c) => c.command.startsWith('replay.') && c.outcome === 'ok' && c.result && typeof c.result === 'object');
    fill(
      replayState,
      last
        ? ['Replay: ', h('strong', {}, last.result.paused ? 'paused' : 'running'), ` at ${last.result.ratePerSec}/s — after ${last.command} by ${last.who} at `, time(last.finishedAt ?? last.sentAt)]
        : 'Replay: as configured on the gateway (no replay command sent through the hub).',
    );
    fill(commandsBody, (g.commands ?? []).length === 0 ? h('tr', {}, h('td', { colspan: '5' }, 'None yet.')) : g.commands.map((c) =>
      h('tr', {},
        h('td', {}, time(c.sentAt)),
        h('td', {}, `${c.who} (${c.role})`),
        h('td', {}, h('code', {}, c.command)),
        h('td', {}, h('code', {}, JSON.stringify(c.args))),
        h('td', {}, c.outcome ? badge(c.outcome === 'ok' ? 'up' : 'down', c.outcome, c.outcome === 'ok' ? '✓' : '✕') : 'waiting'))));
  }

  function renderUnknown() {
    const seen = detail.unknownOutcomes ?? [];
    fill(unknownSeen, seen.length === 0 ? h('li', {}, 'None reported recently.') : seen.slice(0, 10).map((e) => h('li', {}, time(e.ts), ' ', describeEvent(e).detail)));
    const settled = detail.settlements ?? [];
    fill(settledBody, settled.length === 0 ? h('tr', {}, h('td', { colspan: '5' }, 'None yet.')) : settled.map((c) => {
      const s = describeSettlement(c);
      return h('tr', {},
        h('td', {}, time(c.finishedAt ?? c.sentAt)),
        h('td', {}, s.by),
        h('td', {}, s.verdict),
        h('td', {}, h('code', {}, s.receipts)),
        h('td', {}, badge(s.ok ? 'up' : 'down', s.outcome, s.ok ? '✓' : '✕')));
    }));
  }

  function renderEvents() {
    const shown = [...events].reverse().slice(0, 300);
    fill(eventsBody, shown.length === 0 ? h('tr', {}, h('td', { colspan: '3' }, 'No events in this window.')) : shown.map((e) => {
      const d = describeEvent(e);
      return h('tr', { dataset: { event: e.event } },
        h('td', {}, time(e.ts)),
        h('td', {}, badge(d.severity, d.label, STATE_ICON[d.severity])),
        h('td', {}, d.detail));
    }));
  }

  function renderOutages() {
    fill(outageList, outages.length === 0 ? h('li', {}, 'None.') : outages.map((o) => {
      const ongoing = o.end >= now - 1000 && (o.kind === 'offline' ? !detail.online : true);
      const what = o.kind === 'offline' ? 'Gateway offline' : `Path ${o.path} DOWN`;
      return h('li', { class: `outage ${o.kind}` }, badge(o.kind === 'offline' ? 'offline' : 'down', what, STATE_ICON[o.kind === 'offline' ? 'offline' : 'down']), ` ${fmtTime(o.start)} – ${ongoing ? 'now' : fmtTime(o.end)} (${fmtDuration((o.end - o.start) / 1000)})`);
    }));
  }

  function range() {
    const to = now / 1000;
    const first = points[0]?.ts ?? now;
    const from = Math.max((now - windowMs) / 1000, Math.min(first / 1000, ...outages.map((o) => o.start / 1000)));
    return [Math.min(from, to - 10), to];
  }

  function renderCharts() {
    const s = seriesFromPoints(points);
    const names = s.names.join('\n');
    if (names !== chartPaths || charts.length === 0) {
      for (const c of charts) c.chart.destroy();
      chartPaths = names;
      charts = [];
      chartsBox.replaceChildren();
      backlogChartBox.replaceChildren();
      const styles = s.names.map((n, i) => {
        const style = PATH_STYLES[i % PATH_STYLES.length];
        // The line's pattern in its name: the legend reads without colour.
        return { ...style, label: `${n} (${style.label})` };
      });
      for (const c of CHARTS) {
        const box = h('div', { class: 'chart', id: `chart-${c.key}` });
        chartsBox.append(box);
        charts.push({ key: c.key, chart: createChart(box, { title: c.title, yLabel: c.y, series: styles, getOutages: () => outages, getRange: range }) });
      }
      charts.push({
        key: 'backlog',
        chart: createChart(backlogChartBox, {
          title: 'Backlog',
          yLabel: 'entries',
          y2Label: 'oldest (s)',
          series: [
            { label: 'pending (solid)', stroke: '#1f5fbf' },
            { label: 'dead (dashed)', stroke: '#b00020', dash: [10, 5] },
            { label: 'unknown outcome (dash-dot)', stroke: '#8a5a00', dash: [10, 3, 2, 3] },
            { label: 'oldest pending, s (dotted)', stroke: '#555', dash: [2, 4], scale: 'right' },
          ],
          getOutages: () => outages,
          getRange: range,
        }),
      });
    }
    for (const c of charts) {
      if (c.key === 'backlog') c.chart.setData([s.x, s.queue.pending, s.queue.dead, s.queue.unknown, s.queue.oldest]);
      else c.chart.setData([s.x, ...s.names.map((n) => s.paths[n][c.key])]);
    }
  }

  return {
    async refresh() {
      const d = await call('GET', `/v1/gateways/${enc}`);
      if (d.status === 404) {
        fill(root, h('p', { class: 'back' }, h('a', { href: '#/' }, '← All stores')), h('h2', { id: 'store-title', tabindex: '-1' }, `Store ${id}`), h('p', {}, 'This gateway has never connected to the hub.'));
        return;
      }
      if (d.status !== 200) throw new Error(`gateway ${id}: ${d.status}`);
      detail = d.body;
      now = Date.now();
      const from = now - windowMs;
      const tSince = loaded && points.length > 0 ? points.at(-1).ts + 1 : from;
      const eSince = loaded && events.length > 0 ? events.at(-1).ts : from;
      const [t, ev] = await Promise.all([get(`/v1/gateways/${enc}/telemetry?since=${tSince}&limit=20000`), get(`/v1/gateways/${enc}/events?since=${eSince}&limit=1000`)]);
      loaded = true;
      const seen = new Set(events.map((e) => e.seq));
      points = [...points, ...t.points].filter((p) => p.ts >= from);
      events = [...events, ...ev.events.filter((e) => !seen.has(e.seq))].filter((e) => e.ts >= from);
      outages = outagePeriods(points, events, { now, online: detail.online, lastSeen: detail.lastSeen });
      renderSummary();
      renderUnknown();
      renderOutages();
      renderEvents();
      renderCharts();
    },
    focus() {
      title.focus();
    },
    destroy() {
      for (const c of charts) c.chart.destroy();
      charts = [];
    },
  };
}
