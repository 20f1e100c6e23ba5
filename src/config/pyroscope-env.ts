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
import { missingScheme } from './otlp-env.js';

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
  const withScheme = missingScheme(url);
  if (withScheme !== undefined) {
    issues.add('MESHPROF_PYROSCOPE_URL', `reading MESHPROF_PYROSCOPE_URL: "${url}" has no scheme: write ${withScheme} (or https://)`);
  } else {
    try {
      parsed = new URL(url);
    } catch {
      issues.add('MESHPROF_PYROSCOPE_URL', `reading MESHPROF_PYROSCOPE_URL: "${url}" is not a URL: use e.g. http://pyroscope:4040`);
    }
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
  // Each of these is sent in a header: a control character would fail every push, so it fails now.
  for (const name of ['MESHPROF_PYROSCOPE_TENANT_ID', 'MESHPROF_PYROSCOPE_BASIC_AUTH_USER', 'MESHPROF_PYROSCOPE_BASIC_AUTH_PASSWORD', 'MESHPROF_PYROSCOPE_BEARER_TOKEN']) {
    const v = envValue(env, name);
    const bad = v === undefined ? null : /[\x00-\x1f\x7f]|[^\x00-\xff]/.exec(v);
    if (bad !== null) {
      const code = `U+${(bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
      issues.add(name, `reading ${name}: holds ${code}, which cannot be sent in a header: remove it`);
    }
  }
  if (user?.includes(':')) issues.add('MESHPROF_PYROSCOPE_BASIC_AUTH_USER', 'reading MESHPROF_PYROSCOPE_BASIC_AUTH_USER: basic auth user names cannot hold ":"');
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
