// Time-series charts with uPlot (served by the hub from node_modules), with the
// outage periods shaded behind the lines: a DOWN path in red, the gateway
// offline hatched grey. Each path has its own colour AND dash pattern, so the
// lines can be told apart without colour; the page lists the outages as text too.
import uPlot from './vendor/uplot.js';

export const PATH_STYLES = [
  { stroke: '#1f5fbf', dash: undefined, label: 'solid' },
  { stroke: '#b34700', dash: [10, 5], label: 'dashed' },
  { stroke: '#6b3fa0', dash: [2, 4], label: 'dotted' },
  { stroke: '#1b7a3a', dash: [12, 4, 2, 4], label: 'dash-dot' },
];

let hatchPattern;
function hatch(ctx) {
  if (!hatchPattern) {
    const c = document.createElement('canvas');
    c.width = c.height = 8;
    const x = c.getContext('2d');
    x.strokeStyle = 'rgba(70, 70, 70, 0.5)';
    x.lineWidth = 1.5;
    x.beginPath();
    x.moveTo(0, 8);
    x.lineTo(8, 0);
    x.stroke();
    hatchPattern = ctx.createPattern(c, 'repeat');
  }
  return hatchPattern;
}

function shade(u, outages) {
  const { ctx, bbox } = u;
  ctx.save();
  for (const o of outages) {
    let x0 = u.valToPos(o.start / 1000, 'x', true);
    let x1 = u.valToPos(o.end / 1000, 'x', true);
    x0 = Math.max(bbox.left, x0);
    x1 = Math.min(bbox.left + bbox.width, x1);
    if (x1 < bbox.left || x0 > bbox.left + bbox.width) continue;
    const w = Math.max(2, x1 - x0);
    ctx.fillStyle = o.kind === 'offline' ? 'rgba(120, 120, 120, 0.16)' : 'rgba(200, 30, 30, 0.14)';
    ctx.fillRect(x0, bbox.top, w, bbox.height);
    if (o.kind === 'offline') {
      ctx.fillStyle = hatch(ctx);
      ctx.fillRect(x0, bbox.top, w, bbox.height);
    }
  }
  ctx.restore();
}

/**
 * A chart in `el`. series: [{ label, stroke, dash, scale? }]; axes: the y axis
 * label (and a second one for scale 'right' when given); getOutages and
 * getRange (x, in seconds) are read at every redraw.
 */
export function createChart(el, { title, yLabel, y2Label, series, getOutages, getRange, height = 180 }) {
  const opts = {
    title,
    width: Math.max(300, el.clientWidth || 600),
    height,
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true, range: () => getRange() },
      y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max === null || max === undefined || max <= 0 ? 1 : max * 1.1] },
      ...(y2Label && { right: { range: (_u, min, max) => [Math.min(0, min ?? 0), max === null || max === undefined || max <= 0 ? 1 : max * 1.1] } }),
    },
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, dash: s.dash, width: 2, scale: s.scale ?? 'y', spanGaps: false, points: { show: false } }))],
    axes: [
      { stroke: '#333', grid: { stroke: '#e3e3e3' }, ticks: { stroke: '#ccc' } },
      { label: yLabel, stroke: '#333', grid: { stroke: '#e3e3e3' }, ticks: { stroke: '#ccc' }, size: 60 },
      ...(y2Label ? [{ scale: 'right', side: 1, label: y2Label, stroke: '#333', grid: { show: false }, size: 60 }] : []),
    ],
    hooks: { drawClear: [(u) => shade(u, getOutages())] },
  };
  const empty = [[], ...series.map(() => [])];
  const u = new uPlot(opts, empty, el);
  const canvas = el.querySelector('canvas');
  canvas?.setAttribute('role', 'img');
  canvas?.setAttribute('aria-label', `${title} over time; the values are in the table and the outage list`);
  const resize = new ResizeObserver(() => {
    const w = Math.max(300, el.clientWidth);
    if (Math.abs(w - u.width) > 4) u.setSize({ width: w, height });
  });
  resize.observe(el);
  return {
    setData(columns) {
      u.setData(columns);
    },
    destroy() {
      resize.disconnect();
      u.destroy();
    },
  };
}
