// Structured logging (pino) shared by every service; secrets are redacted before anything is written.
import pino, { type Logger } from 'pino';

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
    // Loaded only when asked for: containers log JSON and need not load it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pretty = require('pino-pretty') as typeof import('pino-pretty');
    return pino(
      settings,
      pretty({
        sync: true,
        singleLine: true,
        ignore: 'pid,hostname,service',
        messageFormat: '{if service}{service}: {end}{msg}',
        translateTime: 'SYS:HH:MM:ss.l',
      }),
    );
  }
  return pino(settings);
}

/** A logger that writes nothing, for tests and tools that want silence. */
export const silentLogger: Logger = pino({ level: 'silent' });
