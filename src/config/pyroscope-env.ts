/**
 * Pyroscope exporter settings from MESHPROF_PYROSCOPE_* variables:
 *
 * - MESHPROF_PYROSCOPE_URL: base URL of Pyroscope (e.g. http://pyroscope:4040);
 *   unset means no Pyroscope export.
 * - MESHPROF_PYROSCOPE_BASIC_AUTH_USER / _PASSWORD: HTTP basic auth.
 * - MESHPROF_PYROSCOPE_BEARER_TOKEN: bearer auth (not together with basic).
 * - MESHPROF_PYROSCOPE_TENANT_ID: sent as X-Scope-OrgID (multi-tenant setups).
 * - MESHPROF_PYROSCOPE_API: push (Connect push.v1 API), ingest (legacy
 *   /ingest) or auto (push, falling back to ingest when push is missing); default auto.
 * - MESHPROF_PYROSCOPE_TIMEOUT: per-request timeout; a bare number is ms
 *   (`10000`), or a duration such as `10s`; default 10000.
 */
import { ConfigIssues } from './config-error.js';
import { envValue, parseDurationSetting, type EnvRecord } from './env-values.js';

/** Which Pyroscope API to use. */
export type PyroscopeApi = 'push' | 'ingest' | 'auto';

/** Merged, validated Pyroscope settings. */
export interface PyroscopeExporterConfig {
  readonly url: string;
  readonly basicAuth: { readonly user: string; readonly password: string } | undefined;
  readonly bearerToken: string | undefined;
  readonly tenantId: string | undefined;
  readonly api: PyroscopeApi;
  readonly timeoutMs: number;
}

/**
 * Reads the Pyroscope settings; undefined when MESHPROF_PYROSCOPE_URL is unset.
 * Throws naming the variable on a bad value (ConfigErrors naming each one when several are bad).
 */
export function readPyroscopeEnv(env: EnvRecord): PyroscopeExporterConfig | undefined {
  const url = envValue(env, 'MESHPROF_PYROSCOPE_URL');
  if (url === undefined) return undefined;
  const issues = new ConfigIssues();
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    issues.add('MESHPROF_PYROSCOPE_URL', `reading MESHPROF_PYROSCOPE_URL: "${url}" is not a URL`);
  }
  if (parsed !== undefined && parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    issues.add('MESHPROF_PYROSCOPE_URL', `reading MESHPROF_PYROSCOPE_URL: scheme ${parsed.protocol} is not http or https`);
  }
  const user = envValue(env, 'MESHPROF_PYROSCOPE_BASIC_AUTH_USER');
  const password = envValue(env, 'MESHPROF_PYROSCOPE_BASIC_AUTH_PASSWORD');
  if (password !== undefined && user === undefined) {
    issues.add('MESHPROF_PYROSCOPE_BASIC_AUTH_PASSWORD', 'reading MESHPROF_PYROSCOPE_BASIC_AUTH_PASSWORD: set without MESHPROF_PYROSCOPE_BASIC_AUTH_USER');
  }
  const bearerToken = envValue(env, 'MESHPROF_PYROSCOPE_BEARER_TOKEN');
  if (bearerToken !== undefined && user !== undefined) {
    issues.add('MESHPROF_PYROSCOPE_BEARER_TOKEN', 'reading MESHPROF_PYROSCOPE_BEARER_TOKEN: cannot be combined with MESHPROF_PYROSCOPE_BASIC_AUTH_USER');
  }
  const api = envValue(env, 'MESHPROF_PYROSCOPE_API') ?? 'auto';
  if (api !== 'push' && api !== 'ingest' && api !== 'auto') {
    issues.add('MESHPROF_PYROSCOPE_API', `reading MESHPROF_PYROSCOPE_API: "${api}" is not push, ingest or auto`);
  }
  const timeout = envValue(env, 'MESHPROF_PYROSCOPE_TIMEOUT');
  const timeoutMs = timeout === undefined
    ? 10_000
    : issues.check(() => parseDurationSetting('MESHPROF_PYROSCOPE_TIMEOUT', timeout, { bare: 'ms', example: '10000 (milliseconds) or 10s' }), 10_000);
  issues.throwIfAny();
  return {
    url: url.replace(/\/+$/, ''),
    basicAuth: user !== undefined ? { user, password: password ?? '' } : undefined,
    bearerToken,
    tenantId: envValue(env, 'MESHPROF_PYROSCOPE_TENANT_ID'),
    api: api as PyroscopeApi,
    timeoutMs,
  };
}
