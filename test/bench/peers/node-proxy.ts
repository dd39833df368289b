// The floor for a proxy written on Node: node:http on the client side, an undici
// Pool to the upstream given as the first argument, the body streamed both ways,
// and nothing else (no routing, no header rules, no classification, no metrics).
// What any Node proxy pays per request at least, measured beside nginx.
import { createServer } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { relayAnswer } from '../../../src/http/relay.js';
import { exitWithParent } from '../harness.js';

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: node-proxy.js UPSTREAM_URL');
const pool = new Pool(upstream, { connections: 64 });
/** Hop-by-hop headers and the ones undici sets itself. */
const DROP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length']);

const server = createServer((req, res) => {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !DROP.has(k)) headers[k] = v;
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  pool.request({ method: req.method as Dispatcher.HttpMethod, path: req.url ?? '/', headers, body: hasBody ? req : null }).then(
    (up) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && k !== 'connection' && k !== 'keep-alive') out[k] = v;
      // Passed on as the gateway passes an answer, so the floor is what that costs alone.
      relayAnswer(res, up.statusCode, out, up.body);
    },
    () => {
      res.statusCode = 502;
      res.end();
    },
  );
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  process.stdout.write(`${JSON.stringify({ listening: `http://127.0.0.1:${address.port}` })}\n`);
});
exitWithParent(async () => {
  server.close();
  await pool.close();
});
