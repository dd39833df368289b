// A tiny element builder. Text is always set as text (never parsed as HTML),
// and no inline style attribute is ever written (the CSP forbids them).

/** h('a', { href: '#/', class: 'x', onclick: fn }, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'style') throw new Error('inline styles are not allowed');
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A state badge: icon and word, coloured by class; the colour is never the only cue. */
export function badge(state, text, icon) {
  return h('span', { class: `badge state-${state}` }, h('span', { class: 'icon', 'aria-hidden': 'true' }, icon), ' ', text);
}

export function time(ms) {
  const d = new Date(ms);
  return h('time', { datetime: d.toISOString(), title: d.toLocaleString() }, d.toLocaleTimeString());
}
