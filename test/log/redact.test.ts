import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log/logger.js';
import { redactingLogger } from '../../src/log/redact.js';

function recording(): Logger & { out: string[] } {
  const out: string[] = [];
  const at = (level: string) => (a: object | string, b?: string): void => { out.push(`${level} ${typeof a === 'string' ? a : `${JSON.stringify(a)} ${b ?? ''}`}`); };
  return { out, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('redactingLogger', () => {
  it('never writes the secret, in messages or fields, at any level', () => {
    const inner = recording();
    const log = redactingLogger(inner, 'tok-123');
    log.warn('skywalking: querying tasks: Metadata string value "tok-123" contains illegal characters');
    log.error({ err: new Error('auth tok-123 refused'), nested: { header: 'Bearer tok-123' } }, 'failed with tok-123');
    log.info('no secret here');
    expect(inner.out.join('\n')).not.toContain('tok-123');
    expect(inner.out).toEqual([
      'warn skywalking: querying tasks: Metadata string value "<redacted>" contains illegal characters',
      'error {"err":{"message":"auth <redacted> refused"},"nested":{"header":"Bearer <redacted>"}} failed with <redacted>',
      'info no secret here',
    ]);
  });

  it('passes the logger through when there is no secret', () => {
    const inner = recording();
    expect(redactingLogger(inner, undefined)).toBe(inner);
  });
});
