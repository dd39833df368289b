// The staff page: the staff view (staff-view.ts) as one small HTML document,
// for a POS screen or a store manager's browser. Everything is in it (no
// script, no external file: a store offline still loads it), it reloads itself
// every few seconds (a meta refresh, which needs no script), and every value
// in it is escaped. Words carry the state, colour only repeats it. Pure.
import { createHash } from 'node:crypto';
import type { Connection, StaffView } from './staff-view.js';

export const REFRESH_SECONDS = 5;

const STYLE = `
body { margin: 0; font: 18px/1.4 system-ui, sans-serif; color: #111; background: #fff; }
main { max-width: 40em; margin: 0 auto; padding: 0.75em; }
#store { margin: 0 0 0.5em; padding: 0.5em 0.6em; border-radius: 0.3em; border-width: 3px; border-style: solid; }
h1 { font-size: 1.5em; margin: 0; }
#advice { margin: 0.3em 0 0; }
.online { background: #e3f5e6; border-color: #1b7a2f; }
.slow { background: #fff4d6; border-color: #a66a00; }
.offline { background: #fde2e1; border-color: #b3261e; }
.unknown { background: #eceff1; border-color: #546e7a; }
h2 { font-size: 1.1em; margin: 1em 0 0.3em; }
ul { margin: 0; padding-left: 1.2em; }
li { margin: 0.2em 0; }
footer { margin-top: 1.5em; font-size: 0.85em; color: #444; }
`;

/** The page's Content-Security-Policy: nothing but its own inline style (by hash), no script, no fetch, no form. */
export const STAFF_PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; form-action 'none'`;

const TITLES: Record<Connection, string> = { online: 'Online', slow: 'Online (slow)', offline: 'OFFLINE', unknown: 'Checking' };

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

export function staffPage(v: StaffView): string {
  const e = escapeHtml;
  const uplinks = v.uplinks.map((u) => `<li data-uplink="${e(u.name)}" data-state="${e(u.state)}"><strong>${e(u.name)}</strong>: ${e(u.words)}</li>`).join('\n');
  const orders = v.orders.words.map((w) => `<li>${e(w)}</li>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<title>${TITLES[v.connection]} · ${e(v.store)} · store gateway</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<section id="store" class="${v.connection}">
<h1 id="headline">${e(v.headline)}</h1>${v.advice === null ? '' : `\n<p id="advice">${e(v.advice)}</p>`}
</section>
<h2>Internet connections</h2>
<ul id="uplinks">
${uplinks}
</ul>
<h2>Orders</h2>
<ul id="orders">
${orders}
</ul>
<footer>Store ${e(v.store)} · updated ${e(v.updated)} · this page refreshes every ${REFRESH_SECONDS} seconds</footer>
</main>
</body>
</html>
`;
}
