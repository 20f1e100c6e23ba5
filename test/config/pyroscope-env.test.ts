import { describe, expect, it } from 'vitest';
import { readPyroscopeEnv } from '../../src/config/pyroscope-env.js';
import { settingsList } from '../helpers/settings-list.js';

describe('readPyroscopeEnv', () => {
  it('is off without a URL (blank counts as unset)', () => {
    expect(readPyroscopeEnv({})).toBeUndefined();
    expect(readPyroscopeEnv({ MESHPROF_PYROSCOPE_URL: '  ' })).toBeUndefined();
  });

  it('reads URL, auth, tenant, api and timeout', () => {
    expect(
      readPyroscopeEnv({
        MESHPROF_PYROSCOPE_URL: 'https://pyro.example:4040/',
        MESHPROF_PYROSCOPE_BASIC_AUTH_USER: '1234',
        MESHPROF_PYROSCOPE_BASIC_AUTH_PASSWORD: 'glc_x',
        MESHPROF_PYROSCOPE_TENANT_ID: 'team-a',
        MESHPROF_PYROSCOPE_API: 'ingest',
        MESHPROF_PYROSCOPE_TIMEOUT: '3000',
      }),
    ).toEqual({
      url: 'https://pyro.example:4040',
      basicAuth: { user: '1234', password: 'glc_x' },
      bearerToken: undefined,
      tenantId: 'team-a',
      api: 'ingest',
      timeoutMs: 3000,
    });
    expect(readPyroscopeEnv({ MESHPROF_PYROSCOPE_URL: 'http://p:4040', MESHPROF_PYROSCOPE_TIMEOUT: '2.5s' })?.timeoutMs).toBe(2500);
    expect(readPyroscopeEnv({ MESHPROF_PYROSCOPE_URL: 'http://p:4040', MESHPROF_PYROSCOPE_BEARER_TOKEN: 't' })).toMatchObject({
      bearerToken: 't',
      basicAuth: undefined,
      api: 'auto',
      timeoutMs: 10_000,
    });
  });

  it.each([
    [{ MESHPROF_PYROSCOPE_URL: 'pyroscope:4040' }, 'reading MESHPROF_PYROSCOPE_URL: "pyroscope:4040" has no scheme: write http://pyroscope:4040 (or https://)'],
    [{ MESHPROF_PYROSCOPE_URL: '::' }, 'reading MESHPROF_PYROSCOPE_URL: "::" is not a URL'],
    [{ MESHPROF_PYROSCOPE_URL: 'http://p', MESHPROF_PYROSCOPE_BASIC_AUTH_PASSWORD: 'x' }, 'reading MESHPROF_PYROSCOPE_BASIC_AUTH_PASSWORD'],
    [
      { MESHPROF_PYROSCOPE_URL: 'http://p', MESHPROF_PYROSCOPE_BASIC_AUTH_USER: 'u', MESHPROF_PYROSCOPE_BEARER_TOKEN: 't' },
      'reading MESHPROF_PYROSCOPE_BEARER_TOKEN: cannot be combined',
    ],
    [{ MESHPROF_PYROSCOPE_URL: 'http://p', MESHPROF_PYROSCOPE_API: 'grpc' }, 'reading MESHPROF_PYROSCOPE_API'],
    [{ MESHPROF_PYROSCOPE_URL: 'http://p', MESHPROF_PYROSCOPE_TIMEOUT: '-1' }, 'MESHPROF_PYROSCOPE_TIMEOUT=-1: not a duration'],
  ])('rejects %o naming the variable', (env, message) => {
    expect(() => readPyroscopeEnv(env)).toThrow(message);
  });
});

describe('readPyroscopeEnv with several bad variables', () => {
  it('lists each one, not only the first', () => {
    expect(() => readPyroscopeEnv({ MESHPROF_PYROSCOPE_URL: '::', MESHPROF_PYROSCOPE_BASIC_AUTH_PASSWORD: 'x', MESHPROF_PYROSCOPE_TIMEOUT: 'soon' })).toThrow(settingsList(
      'reading MESHPROF_PYROSCOPE_URL: "::" is not a URL: use e.g. http://pyroscope:4040',
      'reading MESHPROF_PYROSCOPE_BASIC_AUTH_PASSWORD: set without MESHPROF_PYROSCOPE_BASIC_AUTH_USER',
      'MESHPROF_PYROSCOPE_TIMEOUT=soon: not a duration of at least 1ms: use e.g. 10000 (milliseconds) or 10s',
    ));
  });
});
