import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { REFRESH_SECONDS, STAFF_PAGE_CSP, staffPage } from './staff-page.js';
import { staffView, type StaffFacts } from './staff-view.js';

const NOW = Date.UTC(2025, 2, 14, 13, 5, 9);
const facts = (over: Partial<StaffFacts> = {}): StaffFacts => ({
  store: 'store-0042',
  paths: [
    { name: 'fiber', state: 'down', monitored: true, stateAgeS: 189 },
    { name: 'lte', state: 'degraded', monitored: true, stateAgeS: 10 },
  ],
  queue: { pending: 3, unknown: 0, dead: 1, oldestAgeS: 840 },
  ...over,
});
const page = (f: StaffFacts) => staffPage(staffView(f, { now: NOW, timeZone: 'Europe/Paris' }));

describe('staff page', () => {
  it('shows the headline, each uplink and each orders line in words', () => {
    const html = page(facts());
    expect(html).toContain(
      '<section id="store" class="slow">\n<h1 id="headline">The store is online, but the connection is slow.</h1>\n<p id="advice">Keep selling: orders may take a little longer to be sent.</p>\n</section>',
    );
    expect(html).toContain('<li data-uplink="fiber" data-state="down"><strong>fiber</strong>: down since 14:02</li>');
    expect(html).toContain('<li data-uplink="lte" data-state="degraded"><strong>lte</strong>: slow</li>');
    expect(html).toContain('<li>3 orders waiting to be sent; the oldest has waited 14 minutes.</li>');
    expect(html).toContain('<li>1 order needs attention by IT.</li>');
    expect(html).toContain('Store store-0042 · updated 14:05:09');
    expect(html).toContain('<title>Online (slow) · store-0042 · store gateway</title>');
  });

  it('leaves the advice out when there is none', () => {
    const html = page(facts({ paths: [{ name: 'fiber', state: 'up', monitored: true, stateAgeS: 5 }] }));
    expect(html).toContain('<section id="store" class="online">\n<h1 id="headline">The store is online.</h1>\n</section>');
    expect(html).not.toContain('id="advice"');
  });

  it('escapes what it shows', () => {
    const html = page(facts({ store: `<img src=x onerror="alert('x')">&` }));
    expect(html).not.toContain('<img');
    expect(html).toContain('Store &lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp; ·');
  });

  it('is one plain-English document that reloads itself, with no script and nothing fetched', () => {
    const html = page(facts());
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).toContain(`<meta http-equiv="refresh" content="${REFRESH_SECONDS}">`);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).not.toMatch(/<script|<link|src=|href=|url\(/i);
  });

  it("allows by its CSP exactly the page's own style block", () => {
    const style = /<style>([\s\S]*?)<\/style>/.exec(page(facts()))![1]!;
    const hash = createHash('sha256').update(style).digest('base64');
    expect(STAFF_PAGE_CSP).toBe(`default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'`);
  });
});
