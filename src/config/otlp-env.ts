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
    headers: headers ? issues.check(() => parseKeyValueList(headers.name, headers.value), {}) : {},
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

function checkUrl(variable: string, value: string, protocol: OtlpProtocol): string {
  // gRPC endpoints may be bare host:port; HTTP ones must be URLs.
  if (protocol === 'grpc' && /^[^/:]+:\d+$/.test(value)) return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(variable, `reading ${variable}: "${value}" is not a URL`);
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
