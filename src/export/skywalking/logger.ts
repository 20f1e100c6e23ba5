/** The logging the SkyWalking exporter needs; a pino logger satisfies it. */
export interface SkyWalkingLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
}

/** A logger that drops everything, for callers that do not care. */
export const silentLogger: SkyWalkingLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
};
