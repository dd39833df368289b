// The region drain budgets on the fleet page: per budgeted region, the budget,
// how much of it the hub has granted to the region's stores, how fast their
// backlogs shrink and how much is left, from GET /v1/fleet/overview's
// `regions`. Shown to every role: it is what an operator setting a drain
// rate, or a viewer watching a region come back, needs to see.
import { fill, h } from './dom.js';
import { budgetUse, fmtRate } from './model.js';

export function drainBudgets() {
  const tbody = h('tbody');
  const el = h(
    'section',
    { class: 'drain-budgets', 'aria-labelledby': 'drain-budgets-title', hidden: true },
    h('h3', { id: 'drain-budgets-title' }, 'Region drain budgets'),
    h('p', { class: 'help' }, 'After an outage the hub shares each region\'s budget between its stores by the age of their backlog; a store never drains faster than its own rate.'),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { id: 'drain-budgets-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Region'), ['Budget', 'Granted', 'Draining', 'Stores with a backlog', 'Pending'].map((label) => h('th', { scope: 'col', class: 'num' }, label)))),
        tbody,
      ),
    ),
  );
  let budgets = new Map();

  return {
    el,
    /** The budget of a region, or undefined when it has none. */
    budgetOf: (region) => budgets.get(region),
    update(regions = []) {
      budgets = new Map(regions.map((r) => [r.region, r.budgetPerSec]));
      el.hidden = regions.length === 0;
      fill(
        tbody,
        regions.map((r) => {
          const use = budgetUse(r);
          return h(
            'tr',
            { dataset: { region: r.region } },
            h('th', { scope: 'row' }, r.region),
            h('td', { class: 'num' }, fmtRate(r.budgetPerSec)),
            h('td', { class: 'num' }, h('meter', { min: '0', max: '100', value: String(use.pct), 'aria-hidden': 'true' }), ' ', use.granted),
            h('td', { class: 'num' }, use.draining),
            h('td', { class: 'num' }, use.stores),
            h('td', { class: 'num' }, String(r.pending)),
          );
        }),
      );
    },
  };
}
