// The dashboard's entry: sign-in by token, the two views (#/ the fleet,
// #/store/<id> one store) and the refresh loop.
//
// Live updates poll the REST API every 2 s rather than holding an SSE stream
// or a websocket: EventSource cannot send an Authorization header (the token
// would have to go in the URL, or in a cookie the hub would then have to guard
// against CSRF), polling rides on the same checked, logged-nowhere API as every
// script, survives hub restarts and proxies without reconnection logic, and
// one overview of a few hundred stores every 2 s per open page is cheap for
// the hub (one SQLite read). A hidden tab does not poll.
import { Unauthorized, call, session } from './api.js';
import { fleetView } from './fleet.js';
import { h, fill } from './dom.js';
import { storeView } from './store.js';

const POLL_MS = 2000;

const $ = (id) => document.getElementById(id);
const views = { signin: $('signin-view'), fleet: $('fleet-view'), store: $('store-view') };

let me; // { role, name } of the signed-in token
let current; // { key, view, section }
let timer;
let polling = false;
let again = false;

function showOnly(name) {
  for (const [k, el] of Object.entries(views)) el.hidden = k !== name;
}

function problem(text) {
  const el = $('problem');
  el.hidden = !text;
  el.textContent = text ?? '';
}

function signedIn() {
  const id = $('identity');
  id.hidden = false;
  fill(id, 'Signed in as ', h('strong', {}, me.name), ` (${me.role}${me.role === 'viewer' ? ', read only' : ''})`);
  $('sign-out').hidden = false;
}

function signOut(message) {
  session.clear();
  me = undefined;
  clearTimeout(timer);
  leaveView();
  $('identity').hidden = true;
  $('sign-out').hidden = true;
  problem(undefined);
  showOnly('signin');
  $('signin-error').textContent = message ?? '';
  document.title = 'Sign in · storegw fleet';
  $('token-input').focus();
}

/** Ends the current view: its timers and charts stop, and its elements go (no stale copy stays hidden in the page). */
function leaveView() {
  current?.view.destroy();
  current?.section.replaceChildren();
  current = undefined;
}

function parseRoute() {
  const m = /^#\/store\/(.+)$/.exec(location.hash);
  if (m) {
    try {
      return { key: `store:${decodeURIComponent(m[1])}`, kind: 'store', id: decodeURIComponent(m[1]) };
    } catch {
      // A malformed id: the fleet view instead.
    }
  }
  return { key: 'fleet', kind: 'fleet' };
}

function route() {
  if (!me) return signOut();
  const r = parseRoute();
  if (current?.key === r.key) return;
  leaveView();
  const section = views[r.kind];
  const ctx = { role: me.role, refreshSoon: () => poll() };
  const view = r.kind === 'store' ? storeView(section, ctx, r.id) : fleetView(section, ctx);
  current = { key: r.key, view, section };
  showOnly(r.kind);
  document.title = r.kind === 'store' ? `${r.id} · storegw fleet` : 'Fleet · storegw fleet';
  void poll().then(() => {
    // A new view: move focus to its heading, so keyboard and screen reader users start there.
    if (current?.view === view) section.querySelector('h2')?.focus({ preventScroll: false });
  });
}

async function poll() {
  if (polling) {
    again = true;
    return;
  }
  clearTimeout(timer);
  const c = current;
  if (!c) return;
  polling = true;
  try {
    if (!document.hidden) await c.view.refresh();
    problem(undefined);
  } catch (e) {
    if (e instanceof Unauthorized) return signOut('The hub no longer accepts this token (revoked or changed). Sign in again.');
    problem(`Cannot update from the hub: ${e.message}. Retrying every ${POLL_MS / 1000} s.`);
  } finally {
    polling = false;
  }
  if (current !== c) return;
  if (again) {
    again = false;
    return poll();
  }
  timer = setTimeout(() => void poll(), POLL_MS);
}

async function signIn(event) {
  event.preventDefault();
  const input = $('token-input');
  const token = input.value.trim();
  const error = $('signin-error');
  if (!token) {
    error.textContent = 'Enter the ops token.';
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  error.textContent = '';
  try {
    const r = await call('GET', '/v1/whoami', undefined, token);
    if (r.status !== 200) throw new Error(`the hub answered ${r.status}`);
    session.set(token);
    me = r.body;
    input.value = '';
    input.removeAttribute('aria-invalid');
    signedIn();
    current = undefined;
    route();
  } catch (e) {
    input.setAttribute('aria-invalid', 'true');
    error.textContent = e instanceof Unauthorized ? 'The hub did not accept this token.' : `Cannot sign in: ${e.message}`;
    input.select();
  }
}

async function start() {
  $('signin-form').addEventListener('submit', (e) => void signIn(e));
  $('sign-out').addEventListener('click', () => signOut('Signed out.'));
  window.addEventListener('hashchange', route);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) void poll();
  });
  if (session.token) {
    try {
      const r = await call('GET', '/v1/whoami');
      if (r.status === 200) {
        me = r.body;
        signedIn();
      }
    } catch (e) {
      if (!(e instanceof Unauthorized)) problem(`Cannot reach the hub: ${e.message}`);
    }
  }
  route();
}

void start();
