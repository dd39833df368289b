// The request target a LAN client sent, checked before anything else looks at
// it. The gateway forwards only to its configured ingress, and classification
// must see the path the ERP will see, so anything that a server down the line
// could read differently is refused rather than normalised.

export type TargetCheck =
  | { ok: true; /** as sent, forwarded unchanged */ rawPath: string; /** percent-decoded, for classification */ path: string; query: string }
  | { ok: false; reason: string };

/** A segment that is `.` or `..`. */
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

export function checkRequestTarget(url: string): TargetCheck {
  // Absolute-form (http://host/...), authority-form (CONNECT host:port) and
  // asterisk-form (OPTIONS *) all ask for a proxy; this is not one.
  if (!url.startsWith('/') || url.startsWith('//')) return { ok: false, reason: 'request target must be a path (origin-form)' };
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  if (url.includes('#')) return { ok: false, reason: 'fragment in request target' };
  if (rawPath.includes('\\')) return { ok: false, reason: 'backslash in path' };
  // Encoded separators would let one server see two segments where another sees one.
  if (/%2f|%5c/i.test(rawPath)) return { ok: false, reason: 'encoded slash in path' };
  let path = rawPath;
  // Most paths have nothing encoded: no decoding pass over them (this runs on every request).
  if (rawPath.includes('%')) {
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return { ok: false, reason: 'invalid percent-encoding in path' };
    }
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return { ok: false, reason: 'control character in path' };
  if (DOT_SEGMENT.test(path)) return { ok: false, reason: 'dot segment in path' };
  return { ok: true, rawPath, path, query };
}
