/**
 * The profile receiver's settings (off unless an endpoint is set):
 *
 * - MESHPROF_RECEIVER_GRPC_ENDPOINT: OTLP/gRPC, `host:port` or a port alone
 *   (then 127.0.0.1, so nothing listens beyond the node by accident).
 * - MESHPROF_RECEIVER_HTTP_ENDPOINT: OTLP/HTTP (`/v1development/profiles`)
 *   and Pyroscope's `/ingest` and `/push.v1.PusherService/Push`; same form.
 * - MESHPROF_RECEIVER_AUTH_TOKEN: bearer token every request must carry.
 * - MESHPROF_RECEIVER_MAX_BYTES: largest request, compressed or not; default 4MiB.
 * - MESHPROF_RECEIVER_TLS_CERT_FILE / _KEY_FILE: serve TLS (both or neither).
 */
import { accessSync, constants } from 'node:fs';
import { ConfigIssues } from './config-error.js';
import { envValue, parseByteSize, type EnvRecord } from './env-values.js';

/** Where a server listens. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Validated receiver settings. */
export interface ReceiverConfig {
  readonly grpc: ListenAddress | undefined;
  readonly http: ListenAddress | undefined;
  readonly authToken: string | undefined;
  readonly maxBytes: number;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
}

/** Default request limit: the gRPC default maximum message size. */
export const DEFAULT_RECEIVER_MAX_BYTES = 4 * 1024 * 1024;

/** Parses `host:port`, `[v6]:port` or `port`; throws a message naming the variable. */
export function parseListenAddress(name: string, raw: string): ListenAddress {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]*):)?(\d+)$/.exec(raw);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${name}=${raw}: not an address: use host:port (e.g. 127.0.0.1:4317) or a port alone (loopback)`);
  }
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
  return { host: host === '' ? '127.0.0.1' : host, port };
}

/** Reads the receiver settings; undefined when neither endpoint is set. Throws naming each bad variable. */
export function readReceiverEnv(env: EnvRecord): ReceiverConfig | undefined {
  const issues = new ConfigIssues();
  const address = (name: string): ListenAddress | undefined => {
    const raw = envValue(env, name);
    if (raw === undefined) return undefined;
    try {
      return parseListenAddress(name, raw);
    } catch (err) {
      issues.add(name, (err as Error).message);
      return undefined;
    }
  };
  const grpc = address('MESHPROF_RECEIVER_GRPC_ENDPOINT');
  const http = address('MESHPROF_RECEIVER_HTTP_ENDPOINT');
  if (grpc !== undefined && http !== undefined && grpc.port !== 0 && grpc.port === http.port && grpc.host === http.host) {
    issues.add('MESHPROF_RECEIVER_HTTP_ENDPOINT', `MESHPROF_RECEIVER_HTTP_ENDPOINT=${http.host}:${http.port}: the same address as MESHPROF_RECEIVER_GRPC_ENDPOINT: give each its own port (e.g. 4317 and 4318)`);
  }
  const rawMax = envValue(env, 'MESHPROF_RECEIVER_MAX_BYTES');
  const maxBytes = rawMax === undefined ? DEFAULT_RECEIVER_MAX_BYTES : issues.check(() => parseByteSize('MESHPROF_RECEIVER_MAX_BYTES', rawMax, 1024), DEFAULT_RECEIVER_MAX_BYTES);
  const certFile = envValue(env, 'MESHPROF_RECEIVER_TLS_CERT_FILE');
  const keyFile = envValue(env, 'MESHPROF_RECEIVER_TLS_KEY_FILE');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const missing = certFile === undefined ? 'MESHPROF_RECEIVER_TLS_CERT_FILE' : 'MESHPROF_RECEIVER_TLS_KEY_FILE';
    issues.add(missing, `${missing} is unset: TLS needs both MESHPROF_RECEIVER_TLS_CERT_FILE and MESHPROF_RECEIVER_TLS_KEY_FILE`);
  }
  for (const [name, file] of [['MESHPROF_RECEIVER_TLS_CERT_FILE', certFile], ['MESHPROF_RECEIVER_TLS_KEY_FILE', keyFile]] as const) {
    if (file === undefined) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (err) {
      issues.add(name, `${name}=${file}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  const authToken = envValue(env, 'MESHPROF_RECEIVER_AUTH_TOKEN');
  const anyEndpoint = grpc !== undefined || http !== undefined;
  if (!anyEndpoint) {
    for (const name of ['MESHPROF_RECEIVER_AUTH_TOKEN', 'MESHPROF_RECEIVER_MAX_BYTES', 'MESHPROF_RECEIVER_TLS_CERT_FILE'] as const) {
      if (envValue(env, name) !== undefined && issues.errors.length === 0) {
        issues.add(name, `${name} is set but the receiver is off: set MESHPROF_RECEIVER_GRPC_ENDPOINT and/or MESHPROF_RECEIVER_HTTP_ENDPOINT, or unset ${name}`);
      }
    }
  }
  issues.throwIfAny();
  if (!anyEndpoint) return undefined;
  return { grpc, http, authToken, maxBytes, tls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined };
}
