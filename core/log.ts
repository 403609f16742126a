import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths redacted from every log line, whatever a caller passes by mistake. The rule is still: never
 * log face images, embeddings, names, keys or tokens; this is the net under it.
 */
const REDACT = [
  'embedding', '*.embedding', 'template', '*.template', 'templates', '*.templates',
  'name', '*.name', 'label', '*.label', 'displayLabel', '*.displayLabel',
  'key', '*.key', 'secret', '*.secret', 'token', '*.token', 'passphrase', '*.passphrase',
  'image', '*.image', 'photo', '*.photo', 'payload', '*.payload',
  // the hub's API: operator credentials, tenants' identity data, request headers
  'password', '*.password', 'current', '*.current', 'next', '*.next', 'passwordHash', '*.passwordHash',
  'csrfToken', '*.csrfToken', 'sessionId', '*.sessionId', 'cookie', '*.cookie', 'authorization', '*.authorization',
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]', 'res.headers["set-cookie"]',
  'idNumber', '*.idNumber', 'photos', '*.photos', 'body', '*.body',
];

export interface LogOptions {
  level?: string;
  /** Where lines go; defaults to stderr so that CLI output on stdout stays machine-readable. */
  destination?: NodeJS.WritableStream;
}

/** The process's root logger; components receive children of it (`root.child({ module: 'roster' })`). */
export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.level ?? process.env['DOORWAY_LOG_LEVEL'] ?? 'info';
  return pino(
    { level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } },
    (opts.destination ?? pino.destination(2)) as pino.DestinationStream,
  );
}

/** A logger that writes nothing, for tests and tools that do not care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
