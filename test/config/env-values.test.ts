import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { envValue, parseBoolean, parseDurationSetting, pickEnv } from '../../src/config/env-values.js';

/** The ConfigError fn throws. */
function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('envValue and pickEnv', () => {
  it('treat blank (empty or whitespace-only) as unset and trim the rest', () => {
    const env = { EMPTY: '', SPACES: ' \t ', SET: '  15s ', NEWLINE: '\n' };
    expect(envValue(env, 'EMPTY')).toBeUndefined();
    expect(envValue(env, 'SPACES')).toBeUndefined();
    expect(envValue(env, 'NEWLINE')).toBeUndefined();
    expect(envValue(env, 'MISSING')).toBeUndefined();
    expect(envValue(env, 'SET')).toBe('15s');
    expect(pickEnv(env, ['EMPTY', 'SPACES', 'SET'])).toEqual({ name: 'SET', value: '15s' });
    expect(pickEnv(env, ['EMPTY', 'MISSING'])).toBeUndefined();
  });
});

describe('parseBoolean', () => {
  it.each([
    ['true', true], ['TRUE', true], ['True', true], ['1', true], ['yes', true], ['YES', true], ['on', true], ['On', true],
    ['false', false], ['FALSE', false], ['0', false], ['no', false], ['No', false], ['off', false], ['OFF', false], [' on ', true],
  ])('reads %j as %s', (raw, value) => {
    expect(parseBoolean('X', raw)).toBe(value);
  });

  it.each(['maybe', 'y', 'n', 't', '2', 'enabled', ''])('rejects %j naming the variable and the accepted words', (raw) => {
    const err = thrown(() => parseBoolean('MESHPROF_LINE_INFO', raw));
    expect(err.setting).toBe('MESHPROF_LINE_INFO');
    expect(err.message).toBe(`MESHPROF_LINE_INFO=${raw}: not a boolean: use true/false, 1/0, yes/no or on/off`);
  });
});

describe('parseDurationSetting', () => {
  it('reads the shared grammar, a bare number in the setting\'s unit', () => {
    expect(parseDurationSetting('X', '1m30s')).toBe(90_000);
    expect(parseDurationSetting('X', '15', { bare: 's' })).toBe(15_000);
    expect(parseDurationSetting('X', '10000', { bare: 'ms' })).toBe(10_000);
    expect(parseDurationSetting('X', '10s', { bare: 'ms' })).toBe(10_000);
  });

  it('rejects a bare number where the setting has no unit for one', () => {
    expect(thrown(() => parseDurationSetting('X', '15')).message).toBe('X=15: not a duration of at least 1ms: use e.g. 10s, 500ms or 1m');
  });

  it('names the variable, the minimum and examples', () => {
    const err = thrown(() => parseDurationSetting('MESHPROF_INTERVAL', '500ms', { bare: 's', minMs: 1000, example: '15s or 1m' }));
    expect(err.setting).toBe('MESHPROF_INTERVAL');
    expect(err.message).toBe('MESHPROF_INTERVAL=500ms: not a duration of at least 1s: use e.g. 15s or 1m');
    expect(thrown(() => parseDurationSetting('X', '-1s')).message).toContain('X=-1s: not a duration of at least 1ms');
  });

  it('rejects what setTimeout cannot hold (it would fire after 1 ms), and accepts its longest wait', () => {
    const err = thrown(() => parseDurationSetting('MESHPROF_SHUTDOWN_TIMEOUT', '1000000h', { bare: 's' }));
    expect(err.setting).toBe('MESHPROF_SHUTDOWN_TIMEOUT');
    expect(err.message).toBe('MESHPROF_SHUTDOWN_TIMEOUT=1000000h: longer than 596h31m23.647s, the longest a timer can wait: use a shorter duration');
    expect(parseDurationSetting('X', '596h31m23.647s')).toBe(2 ** 31 - 1);
    expect(() => parseDurationSetting('X', '596h31m23.648s')).toThrow(/longer than/);
    expect(() => parseDurationSetting('X', `${'9'.repeat(400)}h`)).toThrow(/longer than/);
  });
});
