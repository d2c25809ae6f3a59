// The server's log: one JSON object per line on stderr ({ts, level, event, ...fields}), so a log pipeline
// reads it without parsing prose. Never a secret: callers log ids, names and messages, not keys or bodies.
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: Fields): void;
  info(event: string, fields?: Fields): void;
  warn(event: string, fields?: Fields): void;
  error(event: string, fields?: Fields): void;
  enabled(level: LogLevel): boolean;
}

/** An Error as fields: its message, and its stack only for errors the server did not expect. */
export function errorFields(error: unknown, withStack = false): Fields {
  if (!(error instanceof Error)) return { error: String(error) };
  return withStack && error.stack ? { error: error.message, stack: error.stack } : { error: error.message };
}

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const emit = (at: LogLevel) => (event: string, fields: Fields = {}) => {
    if (LOG_LEVELS.indexOf(at) < threshold) return;
    write(`${JSON.stringify({ ts: new Date().toISOString(), level: at, event, ...fields })}\n`);
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    enabled: (at) => LOG_LEVELS.indexOf(at) >= threshold,
  };
}
