import type { Logger } from './logger.js';

/**
 * A logger that writes `secret` as `<redacted>` wherever it appears (messages
 * and fields): gRPC errors can echo the metadata they were sent, and the
 * Authentication token must never reach a log.
 */
export function redactingLogger(log: Logger, secret: string | undefined): Logger {
  if (secret === undefined || secret === '') return log;
  const scrub = (text: string): string => text.split(secret).join('<redacted>');
  const scrubFields = (fields: object): object => {
    let json: string;
    try {
      json = JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? { message: v.message } : typeof v === 'bigint' ? String(v) : v));
    } catch {
      return { fields: '<unprintable>' };
    }
    return json.includes(secret) ? (JSON.parse(scrub(json)) as object) : fields;
  };
  const wrap = (fn: Logger['info']): Logger['info'] => ((a: string | object, b?: string) => {
    if (typeof a === 'string') fn(scrub(a));
    else fn(scrubFields(a), scrub(b ?? ''));
  }) as Logger['info'];
  return { debug: wrap(log.debug.bind(log)), info: wrap(log.info.bind(log)), warn: wrap(log.warn.bind(log)), error: wrap(log.error.bind(log)) };
}
