/**
 * OTLP exporter settings (profiles, or metrics) from the standard OTEL_EXPORTER_OTLP_*
 * variables. Pure: reads only the record it is given. Blank values count as
 * unset, and each OTEL_EXPORTER_OTLP_PROFILES_* variable wins over its
 * generic OTEL_EXPORTER_OTLP_* counterpart.
 */

import { ConfigError, ConfigIssues } from './config-error.js';
import { envValue, parseBoolean, parseDurationSetting, pickEnv, type EnvRecord, type EnvSetting } from './env-values.js';

/** OTLP wire protocols meshprof speaks. */
export type OtlpProtocol = 'grpc' | 'http/protobuf';

/** Merged, validated OTLP exporter settings. */
export interface OtlpExporterConfig {
  readonly protocol: OtlpProtocol;
  /** gRPC: scheme://host:port; HTTP: the full profiles URL. */
  readonly endpoint: string;
  /** True when an endpoint variable was set, i.e. the user asked for OTLP export. */
  readonly endpointExplicit: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: 'gzip' | 'none';
  readonly timeoutMs: number;
  /** File paths (PEM). */
  readonly certificate: string | undefined;
  readonly clientKey: string | undefined;
  readonly clientCertificate: string | undefined;
  readonly insecure: boolean;
}

/** Resource settings shared by all signals. */
export interface OtlpResourceConfig {
  readonly serviceName: string | undefined;
  readonly resourceAttributes: Readonly<Record<string, string>>;
}

/** Path appended to the generic endpoint for OTLP/HTTP profiles. */
export const OTLP_HTTP_PROFILES_PATH = '/v1development/profiles';
/** Path appended to the generic endpoint for OTLP/HTTP metrics. */
export const OTLP_HTTP_METRICS_PATH = '/v1/metrics';
/** Path appended to the generic endpoint for OTLP/HTTP logs. */
export const OTLP_HTTP_LOGS_PATH = '/v1/logs';

/** Which OTLP signal's variables to read: OTEL_EXPORTER_OTLP_<SIGNAL>_* win over the generic ones. */
export type OtlpSignal = 'PROFILES' | 'METRICS' | 'LOGS';

const GENERIC = 'OTEL_EXPORTER_OTLP_';

/**
 * Reads the OTLP exporter settings; throws naming the variable on a bad value
 * (ConfigErrors naming each one when several are bad).
 */
export function readOtlpEnv(env: EnvRecord, signal: OtlpSignal = 'PROFILES'): OtlpExporterConfig {
  const SPECIFIC = `OTEL_EXPORTER_OTLP_${signal}_`;
  const httpPath = { PROFILES: OTLP_HTTP_PROFILES_PATH, METRICS: OTLP_HTTP_METRICS_PATH, LOGS: OTLP_HTTP_LOGS_PATH }[signal];
  const issues = new ConfigIssues();
  const pick = (suffix: string): EnvSetting | undefined => pickEnv(env, [SPECIFIC + suffix, GENERIC + suffix]);

  const proto = pick('PROTOCOL');
  // The OTLP spec's default protocol is http/protobuf.
  const protocol = proto?.value ?? 'http/protobuf';
  if (proto !== undefined && protocol !== 'grpc' && protocol !== 'http/protobuf') {
    issues.add(proto.name, `reading ${proto.name}: unsupported protocol "${protocol}" (use grpc or http/protobuf)`);
  }
  // With the protocol wrong, check the endpoint as leniently as gRPC does (host:port or URL),
  // so an endpoint that suits the intended protocol is not reported as a second problem.
  const checked: OtlpProtocol = protocol === 'http/protobuf' ? protocol : 'grpc';

  const specific = envValue(env, SPECIFIC + 'ENDPOINT');
  const generic = envValue(env, GENERIC + 'ENDPOINT');
  let endpoint: string;
  if (specific !== undefined) endpoint = issues.check(() => checkUrl(SPECIFIC + 'ENDPOINT', specific, checked), specific);
  else if (generic !== undefined) {
    const base = issues.check(() => checkUrl(GENERIC + 'ENDPOINT', generic, checked), generic);
    endpoint = checked === 'http/protobuf' ? base.replace(/\/+$/, '') + httpPath : base;
  } else endpoint = checked === 'grpc' ? 'http://localhost:4317' : `http://localhost:4318${httpPath}`;

  const headers = pick('HEADERS');
  const compression = pick('COMPRESSION');
  if (compression && compression.value !== 'gzip' && compression.value !== 'none') {
    issues.add(compression.name, `reading ${compression.name}: unsupported compression "${compression.value}" (use gzip or none)`);
  }
  const timeout = pick('TIMEOUT');
  const insecure = pick('INSECURE');

  const config: OtlpExporterConfig = {
    protocol: checked,
    endpoint,
    endpointExplicit: specific !== undefined || generic !== undefined,
    headers: headers ? issues.check(() => checkHeaders(headers.name, parseKeyValueList(headers.name, headers.value), checked), {}) : {},
    compression: compression?.value === 'gzip' ? 'gzip' : 'none',
    timeoutMs: timeout ? issues.check(() => parseTimeout(timeout.name, timeout.value), 10_000) : 10_000,
    certificate: pick('CERTIFICATE')?.value,
    clientKey: pick('CLIENT_KEY')?.value,
    clientCertificate: pick('CLIENT_CERTIFICATE')?.value,
    insecure: insecure ? issues.check(() => parseBoolean(insecure.name, insecure.value), false) : false,
  };
  issues.throwIfAny();
  return config;
}

/** Reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. */
export function readOtlpResourceEnv(env: EnvRecord): OtlpResourceConfig {
  const attrs = envValue(env, 'OTEL_RESOURCE_ATTRIBUTES');
  return {
    serviceName: envValue(env, 'OTEL_SERVICE_NAME'),
    resourceAttributes: attrs ? parseKeyValueList('OTEL_RESOURCE_ATTRIBUTES', attrs) : {},
  };
}

/** Parses `k1=v1,k2=v2` with percent-encoded keys and values (W3C baggage style). */
export function parseKeyValueList(variable: string, text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue;
    const eq = entry.indexOf('=');
    const key = eq > 0 ? decode(variable, entry.slice(0, eq).trim()) : '';
    if (key === '') throw new ConfigError(variable, `reading ${variable}: entry "${entry.trim()}" is not key=value`);
    out[key] = decode(variable, entry.slice(eq + 1).trim());
  }
  return out;
}

function decode(variable: string, text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ConfigError(variable, `reading ${variable}: bad percent-encoding in "${text}"`);
  }
}

/** RFC 9110 token characters: what an HTTP header name may hold. */
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What grpc-js accepts as a metadata key (it lower-cases them first). */
const GRPC_KEY = /^[0-9a-z_.-]+$/;

/**
 * Checks headers as they will be sent, so a bad one fails at start with its
 * name rather than as an uncaught TypeError at the first export: names are
 * HTTP tokens (gRPC: letters, digits, `-_.`), values hold no control
 * characters (a percent-encoded CR/LF would split the request) and, for
 * gRPC, only printable ASCII.
 */
export function checkHeaders(variable: string, headers: Record<string, string>, protocol: OtlpProtocol): Record<string, string> {
  for (const [name, value] of Object.entries(headers)) {
    if (!HTTP_TOKEN.test(name) || (protocol === 'grpc' && !GRPC_KEY.test(name.toLowerCase()))) {
      throw new ConfigError(variable, `reading ${variable}: ${JSON.stringify(name)} is not a header name: use letters, digits and -, e.g. api-key=secret`);
    }
    if (protocol === 'grpc' && name.toLowerCase().endsWith('-bin')) {
      throw new ConfigError(variable, `reading ${variable}: ${name}: gRPC -bin headers carry bytes, not text: rename it`);
    }
    const bad = protocol === 'grpc' ? /[^\x20-\x7e]/.exec(value) : /[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]/.exec(value);
    if (bad !== null) {
      const code = `U+${(bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
      throw new ConfigError(variable, `reading ${variable}: the value of header ${name} holds ${code}, which cannot be sent in a header: remove it`);
    }
  }
  return headers;
}

/** When text is `host:port` without a scheme, the URL to write instead, else undefined. */
export function missingScheme(text: string): string | undefined {
  return /^[A-Za-z0-9.-]+:\d+(?:\/.*)?$/.test(text) || /^\[[0-9a-fA-F:.]+\]:\d+(?:\/.*)?$/.test(text) ? `http://${text}` : undefined;
}

function checkUrl(variable: string, value: string, protocol: OtlpProtocol): string {
  // gRPC endpoints may be bare host:port; HTTP ones must be URLs.
  if (protocol === 'grpc' && /^[^/:]+:\d+$/.test(value)) return value;
  const withScheme = missingScheme(value);
  if (withScheme !== undefined) {
    throw new ConfigError(variable, `reading ${variable}: "${value}" has no scheme: write ${withScheme} (or https://)`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(variable, `reading ${variable}: "${value}" is not a URL: use e.g. http://collector:4318`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(variable, `reading ${variable}: scheme ${url.protocol} is not http or https`);
  }
  return value;
}

/** OTLP timeouts: a bare number is milliseconds, as the OTel spec has it; `10s` works too. */
function parseTimeout(variable: string, value: string): number {
  return parseDurationSetting(variable, value, { bare: 'ms', example: '10000 (milliseconds) or 10s' });
}
