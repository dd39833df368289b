// One logger for the process. Secrets never reach it: request headers that
// carry them are redacted, configuration objects are never logged whole, and
// errors (logged as `{ err }`, pino's convention) keep only what says what
// went wrong, where (see serializeErr).
import { pino, stdSerializers, type Logger, type LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-device-token"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-device-token"]',
  'headers.cookie',
  '*.token',
  '*.privateKey',
  '*.presharedKey',
];

/** What an error's own properties may add to its type, message and stack: the system's and HTTP's codes and where they occurred. */
const ERROR_FIELDS = ['code', 'errno', 'syscall', 'address', 'port', 'hostname', 'path', 'signal', 'statusCode'] as const;

/**
 * pino's err serializer, less the properties it copies from the error beyond
 * those above. It copies them all, and some errors carry what must not be
 * logged: a URL's `input` (credentials and all) on ERR_INVALID_URL, a
 * response's headers and body on an HTTP client's errors, a request (with its
 * Authorization header) on others'. Causes stay, in the message and stack.
 */
export function serializeErr(e: unknown): unknown {
  if (!(e instanceof Error)) return { message: String(e) };
  const full = stdSerializers.err(e);
  const kept: Record<string, unknown> = { type: full.type, message: full.message, stack: full.stack };
  for (const key of ERROR_FIELDS) if (full[key] !== undefined) kept[key] = full[key];
  if (e instanceof AggregateError) kept.aggregateErrors = e.errors.map(serializeErr);
  return kept;
}

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream; name?: string } = {}): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: serializeErr },
    ...(options.name !== undefined && { name: options.name }),
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}
