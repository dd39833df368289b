// Property tests of the request-target check (src/gateway/request-target.ts):
// for any string — percent-encodings, dot segments, backslashes, control
// characters, absolute and authority forms — it never throws, and every target
// it accepts is origin-form, has no dot segment once decoded, re-serializes to
// itself, and reads the same to a WHATWG URL parser (what a server further on
// would see) as to the gateway's classifier.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRequestTarget } from '../../src/gateway/request-target.js';
import { check, TRICKY_CHARS } from './fuzz-params.js';

const PIECES = [
  'web', 'a', 'x.y', '.', '..', '...', '%2e', '%2E', '%2e%2e', '%2E%2e', '.%2e', '%2e.', '%252e', '%252e%252e', '..;', ';',
  '%2f', '%2F', '%5c', '%5C', '\\', '%00', '%0a', '%0d', '%09', '%7f', '%', '%g1', '%e', '%zz', '%u002e', '%c0%ae', '%e0%80%ae', '%ff', '%fe',
  '%e2%80%a8', '%c2%85', '%C3%A9', '%20', '%25', '%3f', '%23', '?', '#', '/', '//', '*', '@', ':', 'http:', 'evil.example', '\u00e9', '\u0085', '\u00ff',
];

const piece = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...PIECES) }, { weight: 1, arbitrary: fc.constantFrom(...TRICKY_CHARS) });
const structured = fc
  .tuple(fc.constantFrom('/', '', '//', 'http://evil.example/', 'evil.example:443', '*', '/web/'), fc.array(piece, { maxLength: 10 }), fc.option(fc.array(piece, { maxLength: 4 }), { nil: undefined }))
  .map(([start, parts, query]) => start + parts.join('') + (query ? '?' + query.join('') : ''));

/** What Node's HTTP parser hands over as req.url: bytes as latin1 characters. */
const latin1 = fc.string({ unit: fc.integer({ min: 0x21, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 24 }).map((s) => '/' + s);
const anything = fc.string({ unit: 'binary', maxLength: 24 });
const target = fc.oneof({ weight: 4, arbitrary: structured }, { weight: 2, arbitrary: latin1 }, { weight: 1, arbitrary: anything });

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

describe('request-target check (fuzz)', () => {
  it('never throws; an accepted target is origin-form, dot-free once decoded, and re-serializes to itself (2000 runs)', () => {
    check(
      fc.property(target, (url) => {
        const r = checkRequestTarget(url);
        if (!r.ok) {
          expect(typeof r.reason).toBe('string');
          return;
        }
        // Origin-form: one leading slash, never a scheme, authority or asterisk.
        expect(url.startsWith('/') && !url.startsWith('//')).toBe(true);
        // Forwarded exactly as sent.
        expect(r.rawPath + r.query).toBe(url);
        expect(r.rawPath.includes('?')).toBe(false);
        expect(r.query === '' || r.query.startsWith('?')).toBe(true);
        expect(url.includes('#')).toBe(false);
        // Classified on the decoded path, which has the same segments as the raw one.
        expect(r.path).toBe(decodeURIComponent(r.rawPath));
        expect(r.path.split('/').length).toBe(r.rawPath.split('/').length);
        for (const segment of r.path.split('/')) expect(segment === '.' || segment === '..').toBe(false);
        expect(r.path.includes('\\')).toBe(false);
        expect(CONTROL.test(r.path)).toBe(false);
        expect(/%2f|%5c/i.test(r.rawPath)).toBe(false);
      }),
      2000,
    );
  });

  it('what it accepts, a WHATWG URL parser reads as the same path: no normalisation further on changes it (2000 runs)', () => {
    // Restricted to what can arrive over HTTP/1.1 (latin1 characters, no controls, no space).
    const wire = fc.oneof(structured, latin1).filter((u) => !/[\u0000-\u0020\u007f]/.test(u) && !/[^\u0000-\u00ff]/.test(u));
    check(
      fc.property(wire, (url) => {
        const r = checkRequestTarget(url);
        fc.pre(r.ok);
        if (!r.ok) return;
        const parsed = new URL(url, 'http://gateway.invalid');
        // Same origin: nothing in the target could point the request elsewhere.
        expect(parsed.origin).toBe('http://gateway.invalid');
        // WHATWG resolves dot segments (also %2e forms) and treats "\" as "/": none may change the path.
        expect(decodeURIComponent(parsed.pathname)).toBe(r.path);
      }),
      2000,
    );
  });
});
