/**
 * The one logger interface every stage writes to. pino's Logger satisfies
 * it, so the agent hands its logger down as is; `record` and tests pass
 * small ones of their own.
 */

/** Writes a message, optionally with structured fields first (pino's order). */
export interface LogFn {
  (message: string): void;
  (fields: object, message: string): void;
}

/** A leveled logger. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

/** The levels of a Logger, lowest first. */
export type LogLevel = keyof Logger;

const discard: LogFn = () => undefined;

/** A logger that discards everything, for callers that do not care. */
export const silentLogger: Logger = { debug: discard, info: discard, warn: discard, error: discard };

/**
 * A logger over one function of (level, text): what `record` and tests use.
 * Fields, when given, are appended to the text as JSON.
 */
export function createLogger(write: (level: LogLevel, text: string) => void): Logger {
  const at = (level: LogLevel): LogFn => ((a: string | object, b?: string): void => {
    write(level, typeof a === 'string' ? a : `${b ?? ''} ${JSON.stringify(a)}`);
  }) as LogFn;
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
