// The reference proxy: @fastify/http-proxy with its defaults, in front of the
// upstream given as the first argument. Logging is off: the gateway logs no
// line per request either.
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';
import { exitWithParent } from '../harness.js';

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: fastify-proxy.js UPSTREAM_URL');
const app = Fastify({ logger: false });
await app.register(proxy, { upstream });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
exitWithParent(() => app.close());
process.stdout.write(`${JSON.stringify({ listening: url })}\n`);
