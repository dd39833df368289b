// One logger for the process. Secrets never reach it: request headers that
// carry them are redacted, and configuration objects are never logged whole.
import { pino, type Logger, type LoggerOptions } from 'pino';

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

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream; name?: string } = {}): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(options.name !== undefined && { name: options.name }),
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}
