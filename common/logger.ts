// Structured logging (pino) shared by every service; secrets are redacted before anything is written.
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  level: string;
  format: 'json' | 'pretty';
}

const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-touchline-signature"]',
  'key',
  'secret',
  'password',
  'databaseUrl',
  'internalSecret',
  'adminKey',
];

export function createLogger(options: LoggerOptions, bindings: Record<string, unknown> = {}): Logger {
  const settings = {
    level: options.level,
    base: bindings,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.format === 'pretty') {
    return pino(settings, pretty({ sync: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' }));
  }
  return pino(settings);
}

/** A logger that writes nothing, for tests and tools that want silence. */
export const silentLogger: Logger = pino({ level: 'silent' });
