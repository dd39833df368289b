// The fleet view: counts, filters, the region drain budgets, region actions
// (operators) and one table row per gateway, refreshed in place from GET /v1/fleet/overview: rows are
// kept by store id and only changed cells are rebuilt, so focus, scroll and
// a half-typed filter survive every refresh.
import { get } from './api.js';
import { rateFrom, regionCommand, resultLine } from './actions.js';
import { badge, fill, h } from './dom.js';
import { drainBudgets } from './drain-budgets.js';
import { STATE_ICON, STATE_TEXT, countStates, filterGateways, fmtAgo, fmtDuration, fmtMs, fmtPct, fmtRate, nearExpiry, regionsOf, sortGateways } from './model.js';

const COLUMNS = [
  { key: 'id', label: 'Store' },
  { key: 'region', label: 'Region' },
  { key: 'state', label: 'State' },
  { key: null, label: 'Paths' },
  { key: 'score', label: 'Score', num: true, title: 'Link score of each path (0–100); sorts by the best path' },
  { key: 'rtt', label: 'RTT', num: true, title: 'Round-trip time of each path; sorts by the best path' },
  { key: 'loss', label: 'Loss', num: true, title: 'Probe loss of each path; sorts by the best path' },
  { key: 'pending', label: 'Pending', num: true, title: 'Buffered writes waiting for replay' },
  { key: 'oldest', label: 'Oldest', num: true, title: 'Age of the oldest pending entry (⚠: past a warning fraction of the max age, after which entries become dead letters)' },
  { key: 'dead', label: 'Dead', num: true, title: 'Dead letters (need an operator: retry or discard)' },
  { key: 'unknown', label: 'Unknown', num: true, title: 'Writes whose outcome is unknown (the answer was lost): held until an operator says whether they happened' },
  { key: 'lastSeen', label: 'Last seen' },
];

export function fleetView(root, ctx) {
  const operator = ctx.role === 'operator';
  let data = { now: Date.now(), gateways: [] };
  let sort = { key: 'state', dir: 'asc' };
  const filter = { region: '', state: '', minPending: '', deadOnly: false, unknownOnly: false, nearExpiryOnly: false, text: '' };
  const rows = new Map();
  /** The region actions' region picker and what it says of the region's drain budget (operators only). */
  let actionRegion;
  let budgetHint;
  const budgets = drainBudgets();

  // --- skeleton
  const updated = h('p', { class: 'updated' }, 'Loading…');
  const countButtons = {};
  const counts = h(
    'ul',
    { class: 'counts', 'aria-label': 'Stores by state (select one to filter the table)' },
    ['up', 'degraded', 'down', 'offline'].map((s) => {
      const b = h('button', { type: 'button', class: `count state-${s}`, 'aria-pressed': 'false', dataset: { state: s }, onclick: () => setFilter({ state: filter.state === s ? '' : s }) });
      countButtons[s] = b;
      return h('li', {}, b);
    }),
  );

  const regionSelect = h('select', { id: 'filter-region', onchange: (e) => setFilter({ region: e.target.value }) }, h('option', { value: '' }, 'All regions'));
  const stateSelect = h(
    'select',
    { id: 'filter-state', onchange: (e) => setFilter({ state: e.target.value }) },
    h('option', { value: '' }, 'All states'),
    h('option', { value: 'problem' }, 'Not up (degraded, down, offline)'),
    ['up', 'degraded', 'down', 'offline'].map((s) => h('option', { value: s }, STATE_TEXT[s])),
  );
  const pendingInput = h('input', { id: 'filter-pending', type: 'number', min: '0', step: '1', inputmode: 'numeric', placeholder: '0', oninput: (e) => setFilter({ minPending: e.target.value }) });
  const deadInput = h('input', { id: 'filter-dead', type: 'checkbox', onchange: (e) => setFilter({ deadOnly: e.target.checked }) });
  const unknownInput = h('input', { id: 'filter-unknown', type: 'checkbox', onchange: (e) => setFilter({ unknownOnly: e.target.checked }) });
  const expiryInput = h('input', { id: 'filter-expiry', type: 'checkbox', onchange: (e) => setFilter({ nearExpiryOnly: e.target.checked }) });
  const textInput = h('input', { id: 'filter-text', type: 'search', autocomplete: 'off', spellcheck: 'false', oninput: (e) => setFilter({ text: e.target.value }) });
  const filters = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter gateways', onsubmit: (e) => e.preventDefault() },
    h('div', { class: 'field' }, h('label', { for: 'filter-region' }, 'Region'), regionSelect),
    h('div', { class: 'field' }, h('label', { for: 'filter-state' }, 'State'), stateSelect),
    h('div', { class: 'field' }, h('label', { for: 'filter-pending' }, 'Pending at least'), pendingInput),
    h('div', { class: 'field check' }, deadInput, h('label', { for: 'filter-dead' }, 'Only with dead letters')),
    h('div', { class: 'field check' }, unknownInput, h('label', { for: 'filter-unknown' }, 'Only with unknown outcomes')),
    h('div', { class: 'field check' }, expiryInput, h('label', { for: 'filter-expiry' }, 'Only near expiry')),
    h('div', { class: 'field' }, h('label', { for: 'filter-text' }, 'Store id contains'), textInput),
    h('button', { type: 'button', class: 'link', onclick: () => clearFilters() }, 'Clear filters'),
  );

  const headCells = COLUMNS.map((c) => {
    if (!c.key) return h('th', { scope: 'col' }, c.label);
    const arrow = h('span', { class: 'arrow', 'aria-hidden': 'true' });
    const th = h('th', { scope: 'col', class: c.num ? 'num' : undefined, dataset: { sort: c.key } }, h('button', { type: 'button', class: 'sort', title: c.title, onclick: () => setSort(c.key) }, c.label, arrow));
    return th;
  });
  const caption = h('caption', { id: 'fleet-caption' }, 'Gateways');
  const tbody = h('tbody');
  const table = h('table', { class: 'fleet', id: 'fleet-table' }, caption, h('thead', {}, h('tr', {}, headCells)), tbody);

  fill(
    root,
    h('div', { class: 'view-head' }, h('h2', { id: 'fleet-title', tabindex: '-1' }, 'Fleet'), updated),
    counts,
    filters,
    budgets.el,
    operator ? regionActions() : null,
    h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'fleet-caption', tabindex: '0' }, table),
  );

  function regionActions() {
    const select = h('select', { id: 'region-action-region', required: true, onchange: () => showBudget() });
    const rate = h('input', { id: 'region-action-rate', type: 'number', min: '0.1', step: 'any', inputmode: 'decimal', value: '50' });
    const out = resultLine('region-action-result');
    const buttons = [];
    const run = (command, args, question, okLabel) => {
      if (!select.value) return;
      void regionCommand({ region: select.value, command, args, question, okLabel, out, buttons }).then(() => ctx.refreshSoon());
    };
    const setRate = h('button', { type: 'button', dataset: { action: 'region-rate' }, onclick: () => {
      const r = rateFrom(rate);
      if (r !== undefined) run('replay.setRate', { ratePerSec: r }, `Set the replay drain rate to ${r} entries/s on every gateway in region ${select.value}?`, 'Set drain rate');
    } }, 'Set drain rate');
    const pause = h('button', { type: 'button', dataset: { action: 'region-pause' }, onclick: () => run('replay.pause', {}, `Pause replay on every gateway in region ${select.value}? Buffered writes stay in their journals until replay is resumed.`, 'Pause replay') }, 'Pause replay');
    const resume = h('button', { type: 'button', dataset: { action: 'region-resume' }, onclick: () => run('replay.resume', {}, `Resume replay on every gateway in region ${select.value}?`, 'Resume replay') }, 'Resume replay');
    buttons.push(setRate, pause, resume);
    actionRegion = select;
    budgetHint = h('p', { class: 'help', id: 'region-action-budget', hidden: true });
    return h(
      'section',
      { class: 'actions region-actions', 'aria-labelledby': 'region-actions-title' },
      h('h3', { id: 'region-actions-title' }, 'Region actions'),
      h('div', { class: 'action-row' },
        h('div', { class: 'field' }, h('label', { for: 'region-action-region' }, 'Region'), select),
        h('div', { class: 'field' }, h('label', { for: 'region-action-rate' }, 'Drain rate (entries/s)'), rate),
        setRate, pause, resume),
      budgetHint,
      out,
    );
  }

  /** With a budget, the rate set here is each store's own ceiling; the hub's share of the budget may hold it lower. */
  function showBudget() {
    const budget = budgets.budgetOf(actionRegion.value);
    budgetHint.hidden = budget === undefined;
    if (budget !== undefined) fill(budgetHint, `Region ${actionRegion.value} has a drain budget of ${fmtRate(budget)}: each store drains at its share of it, and never faster than the rate set here.`);
  }

  function setFilter(change) {
    Object.assign(filter, change);
    render();
  }

  function clearFilters() {
    Object.assign(filter, { region: '', state: '', minPending: '', deadOnly: false, unknownOnly: false, nearExpiryOnly: false, text: '' });
    regionSelect.value = stateSelect.value = pendingInput.value = textInput.value = '';
    deadInput.checked = unknownInput.checked = expiryInput.checked = false;
    render();
  }

  function setSort(key) {
    // Numbers that mean trouble read best largest first; names and states (worst first) ascending.
    const firstDir = ['pending', 'oldest', 'dead', 'unknown', 'rtt', 'loss', 'lastSeen'].includes(key) ? 'desc' : 'asc';
    sort = sort.key === key ? { key, dir: sort.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: firstDir };
    render();
  }

  function syncOptions(select, regions, allLabel) {
    const want = [allLabel === null ? null : '', ...regions].filter((v) => v !== null);
    const have = [...select.options].map((o) => o.value);
    if (want.join('\n') === have.join('\n')) return;
    const value = select.value;
    fill(select, want.map((r) => h('option', { value: r }, r === '' ? allLabel : r)));
    select.value = want.includes(value) ? value : want[0] ?? '';
  }

  function cells(g) {
    const paths = g.paths.length > 0 ? g.paths : [null];
    const perPath = (fn) => paths.map((p) => h('div', { class: 'pl' }, p ? fn(p) : '—'));
    const q = g.queue;
    const expiry = nearExpiry(q);
    return [
      h('td', {}, g.region),
      h('td', {}, badge(g.state, STATE_TEXT[g.state], STATE_ICON[g.state])),
      h('td', { class: 'paths' }, perPath((p) => [h('span', { class: 'path-name' }, p.name), ' ', badge(g.online ? p.state : 'offline', g.online ? STATE_TEXT[p.state] : `${STATE_TEXT[p.state]} (last known)`, STATE_ICON[g.online ? p.state : 'offline'])])),
      h('td', { class: 'num' }, perPath((p) => String(Math.round(p.score)))),
      h('td', { class: 'num' }, perPath((p) => fmtMs(p.rttMs))),
      h('td', { class: 'num' }, perPath((p) => fmtPct(p.lossPct))),
      h('td', { class: 'num' }, q ? String(q.pending) : '—'),
      // Near expiry: a warning with its words (title and text), not a colour alone.
      expiry
        ? h('td', { class: 'num near-expiry', title: expiry.text }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '⚠ '), fmtDuration(q.oldestAgeS), h('br'), h('span', { class: 'muted' }, `${expiry.pct} % of max age`))
        : h('td', { class: 'num' }, q && q.pending > 0 ? fmtDuration(q.oldestAgeS) : '—'),
      h('td', { class: `num${q && q.dead > 0 ? ' has-dead' : ''}` }, q ? (q.dead > 0 ? [h('span', { class: 'icon', 'aria-hidden': 'true' }, '✕ '), String(q.dead)] : '0') : '—'),
      // A warning, not an error: nothing failed, but someone must check the ERP. '—': the gateway does not report it.
      h('td', { class: `num${q?.unknown > 0 ? ' has-unknown' : ''}` }, typeof q?.unknown === 'number' ? (q.unknown > 0 ? [h('span', { class: 'icon', 'aria-hidden': 'true' }, '? '), String(q.unknown)] : '0') : '—'),
      h('td', {}, g.online ? fmtAgo(data.now - g.lastSeen) : [fmtAgo(data.now - g.lastSeen), h('br'), h('span', { class: 'muted' }, new Date(g.lastSeen).toLocaleString())]),
    ];
  }

  function row(g) {
    const sig = JSON.stringify([g.region, g.state, g.online, g.paths, g.queue, g.online ? fmtAgo(data.now - g.lastSeen) : g.lastSeen]);
    let r = rows.get(g.id);
    if (!r) {
      // The store cell never changes: a focused link in it stays focused.
      const link = h('a', { href: `#/store/${encodeURIComponent(g.id)}` }, g.id);
      r = { tr: h('tr', { dataset: { id: g.id } }, h('th', { scope: 'row' }, link)), sig: '' };
      rows.set(g.id, r);
    }
    r.tr.dataset.state = g.state;
    if (r.sig !== sig) {
      r.sig = sig;
      while (r.tr.children.length > 1) r.tr.lastElementChild.remove();
      r.tr.append(...cells(g));
    }
    return r.tr;
  }

  function render() {
    const all = data.gateways;
    const c = countStates(all);
    for (const s of ['up', 'degraded', 'down', 'offline']) {
      const b = countButtons[s];
      fill(b, h('span', { class: 'icon', 'aria-hidden': 'true' }, STATE_ICON[s]), ' ', h('strong', {}, String(c[s])), ` ${STATE_TEXT[s].toLowerCase()}`);
      b.setAttribute('aria-pressed', String(filter.state === s));
      b.setAttribute('aria-label', `${c[s]} ${c[s] === 1 ? 'store' : 'stores'} ${STATE_TEXT[s].toLowerCase()}${filter.state === s ? ' (filtering)' : ''}`);
    }
    const regions = regionsOf(all);
    syncOptions(regionSelect, regions, 'All regions');
    if (actionRegion) {
      syncOptions(actionRegion, regions, null);
      showBudget();
    }
    stateSelect.value = filter.state;

    for (const th of headCells) {
      const key = th.dataset.sort;
      if (!key) continue;
      th.setAttribute('aria-sort', sort.key === key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none');
      th.querySelector('.arrow').textContent = sort.key === key ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : '';
    }

    const shown = sortGateways(filterGateways(all, filter), sort.key, sort.dir);
    fill(caption, `Gateways: ${shown.length} of ${all.length} shown, sorted by ${COLUMNS.find((x) => x.key === sort.key)?.label.toLowerCase()} (${sort.dir === 'asc' ? 'ascending' : 'descending'})`);
    const keep = new Set(shown.map((g) => g.id));
    for (const [id, r] of rows) {
      if (!all.some((g) => g.id === id)) rows.delete(id);
      if (!keep.has(id)) r.tr.remove();
    }
    tbody.querySelector('tr.empty')?.remove();
    // Moves only rows that are out of place: moving a row that holds focus would drop it.
    shown.forEach((g, i) => {
      const tr = row(g);
      if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] ?? null);
    });
    if (shown.length === 0) {
      tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: String(COLUMNS.length) }, all.length === 0 ? 'No gateway has connected to this hub yet.' : 'No gateway matches these filters.')));
    }
  }

  return {
    async refresh() {
      data = await get('/v1/fleet/overview');
      budgets.update(data.regions);
      fill(updated, 'Updated ', h('time', { datetime: new Date(data.now).toISOString() }, new Date(data.now).toLocaleTimeString()), ' · refreshes every 2 s');
      render();
    },
    destroy() {},
  };
}
