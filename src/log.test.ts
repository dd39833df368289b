// Errors logged as `{ err }` say what went wrong and where, causes included,
// and carry nothing else of the error object: no URL input, headers, body or
// request that a library hung on it.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';

const SECRET = 'secret-Hq7Zt2Lw9Pk4Rv1x';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), last: () => JSON.parse(lines.at(-1)!) as { err: Record<string, unknown> }, text: () => lines.join('') };
}

describe('logged errors', () => {
  it('keep type, message, stack and the system codes', () => {
    const { logger, last } = capture();
    const e = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1', port: 9 });
    logger.warn({ err: e }, 'cannot connect');
    expect(last().err).toMatchObject({ type: 'Error', message: e.message, code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1', port: 9 });
    expect(last().err.stack).toContain('log.test.ts');
  });

  it('keep their causes, in the message and the stack', () => {
    const { logger, last } = capture();
    logger.error({ err: new Error('cannot write the command log', { cause: Object.assign(new Error('SQLITE_BUSY: database is locked'), { code: 'SQLITE_BUSY' }) }) }, 'x');
    expect(last().err.message).toBe('cannot write the command log: SQLITE_BUSY: database is locked');
    expect(last().err.stack).toContain('caused by: Error: SQLITE_BUSY');
  });

  it('drop every other property, where libraries hang URLs, headers, bodies and requests', () => {
    const { logger, text } = capture();
    let invalidUrl: unknown;
    try {
      new URL(`wss://gateway:${SECRET}@[not-a-host/v1/gateways/connect`);
    } catch (e) {
      invalidUrl = e;
    }
    expect((invalidUrl as { input?: string }).input).toContain(SECRET);
    const httpError = Object.assign(new Error('Response status code 401: Unauthorized'), {
      statusCode: 401,
      headers: { 'set-cookie': `session=${SECRET}` },
      body: { token: SECRET },
      request: { headers: { authorization: `Bearer ${SECRET}` } },
      options: { headers: [['authorization', `Bearer ${SECRET}`]] },
    });
    logger.error({ err: invalidUrl }, 'a');
    logger.error({ err: httpError }, 'b');
    logger.child({ component: 'ops-api' }).error({ err: httpError }, 'through a child logger');
    logger.error({ err: new AggregateError([httpError, invalidUrl], 'all attempts failed') }, 'c');
    expect(text()).not.toContain(SECRET);
    expect(text()).toContain('"statusCode":401');
    expect(text()).toContain('"code":"ERR_INVALID_URL"');
  });

  it('say what was thrown when it is not an Error', () => {
    const { logger, last } = capture();
    logger.error({ err: 'a string' }, 'x');
    expect(last().err).toEqual({ message: 'a string' });
  });
});
