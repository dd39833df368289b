// The hub's ops API with the session's token. The token lives in sessionStorage
// (this tab only, gone when it closes), goes out in the Authorization header
// and nowhere else: never in a URL, never in localStorage, never logged.

const KEY = 'storegw.hubToken';

export class Unauthorized extends Error {}

export const session = {
  get token() {
    return sessionStorage.getItem(KEY);
  },
  set(token) {
    sessionStorage.setItem(KEY, token);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

/** Calls the API; answers { status, body } (body parsed as JSON when it is). Throws Unauthorized on 401. */
export async function call(method, path, body, token = session.token) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
  const text = await res.text();
  let parsed;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (res.status === 401) throw new Unauthorized('the hub did not accept this token');
  return { status: res.status, body: parsed };
}

/** A GET that must succeed: answers the body, throws with the status otherwise. */
export async function get(path) {
  const r = await call('GET', path);
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.body?.message ?? r.body?.error ?? ''}`.trim());
  return r.body;
}
