/**
 * Settings of network profiling, from the environment:
 * MESHPROF_NETWORK_SLOW (default 100ms): requests at least this long are
 * kept one by one; MESHPROF_NETWORK_PATHS (default false): add url.path to
 * the HTTP histograms, at most MESHPROF_NETWORK_MAX_PATHS (default 100)
 * distinct paths per process; MESHPROF_NETWORK_TLS (default true): follow
 * TLS through uprobes (libssl, OpenSSL linked in, Go crypto/tls);
 * MESHPROF_NETWORK_HEAD_BYTES (default 1024, 0 off): bytes of each kept
 * HTTP/1.x request's head the kernel copies for its trace headers.
 */
import { envValue, parseBoolean, parseDurationSetting, type EnvRecord } from './env-values.js';
import { ConfigError } from './config-error.js';

export interface NetworkSettings {
  readonly slowThresholdNs: number;
  readonly paths: boolean;
  readonly maxPathsPerProcess: number;
  readonly tls: boolean;
  readonly requestHeadBytes: number;
}

/** Reads the network settings; throws a ConfigError naming the variable. */
export function readNetworkEnv(env: EnvRecord): NetworkSettings {
  const slow = envValue(env, 'MESHPROF_NETWORK_SLOW');
  const paths = envValue(env, 'MESHPROF_NETWORK_PATHS');
  const maxPaths = envValue(env, 'MESHPROF_NETWORK_MAX_PATHS');
  const tls = envValue(env, 'MESHPROF_NETWORK_TLS');
  const head = envValue(env, 'MESHPROF_NETWORK_HEAD_BYTES');
  let requestHeadBytes = 1024;
  if (head !== undefined) {
    requestHeadBytes = Number(head);
    if (!Number.isInteger(requestHeadBytes) || requestHeadBytes < 0 || requestHeadBytes > 1024) {
      throw new ConfigError('MESHPROF_NETWORK_HEAD_BYTES', `MESHPROF_NETWORK_HEAD_BYTES=${head}: not a whole number from 0 to 1024: use e.g. 1024, or 0 for no HTTP/1 trace context`);
    }
  }
  let maxPathsPerProcess = 100;
  if (maxPaths !== undefined) {
    maxPathsPerProcess = Number(maxPaths);
    if (!Number.isInteger(maxPathsPerProcess) || maxPathsPerProcess < 1 || maxPathsPerProcess > 10_000) {
      throw new ConfigError('MESHPROF_NETWORK_MAX_PATHS', `MESHPROF_NETWORK_MAX_PATHS=${maxPaths}: not a whole number from 1 to 10000: use e.g. 100`);
    }
  }
  return {
    slowThresholdNs: slow === undefined ? 100_000_000 : parseDurationSetting('MESHPROF_NETWORK_SLOW', slow, { example: '100ms or 1s' }) * 1_000_000,
    paths: paths === undefined ? false : parseBoolean('MESHPROF_NETWORK_PATHS', paths),
    maxPathsPerProcess,
    tls: tls === undefined ? true : parseBoolean('MESHPROF_NETWORK_TLS', tls),
    requestHeadBytes,
  };
}
