import { pino, type Logger, type LoggerOptions } from 'pino';

/** Field names that never reach a log line, at any of the depths configs and errors nest them. */
const SECRET_FIELDS = [
  'password',
  'secret',
  'token',
  'apiKey',
  'apiSecret',
  'privateKey',
  'clientSecret',
  'accessToken',
  'refreshToken',
  'authorization',
  'sasl',
];
export const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => [
  f,
  `*.${f}`,
  `*.*.${f}`,
  `*.*.*.${f}`,
  `*.*.*.*.${f}`,
]);

export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
