/**
 * SkyWalking OAP settings from the environment. meshprof's own names win; a
 * SkyWalking Rover DaemonSet's names are read too, so it can switch images.
 */
import { ConfigError, ConfigIssues } from './config-error.js';
import { parseBoolean, parseDurationSetting, pickEnv, type EnvRecord } from './env-values.js';

/** TLS settings for the OAP connection. */
export interface SkyWalkingTlsConfig {
  readonly enabled: boolean;
  readonly caPath: string | undefined;
  readonly clientCertPath: string | undefined;
  readonly clientKeyPath: string | undefined;
  /** Accept any server certificate (Rover's insecure_skip_verify). */
  readonly insecureSkipVerify: boolean;
}

/** Periods, in milliseconds, with Rover's defaults. */
export interface SkyWalkingPeriods {
  readonly heartbeatMs: number;
  /** Full re-report every this many heartbeats. */
  readonly reportEveryBeats: number;
  readonly taskQueryMs: number;
  readonly flushMs: number;
  readonly continuousFetchMs: number;
  readonly continuousCheckMs: number;
  readonly continuousExecuteMs: number;
  readonly continuousSilenceMs: number;
  /** NETWORK tasks' meters and sampled requests go out this often. */
  readonly networkReportMs: number;
}

/** Everything the SkyWalking exporter needs from the environment. */
export interface SkyWalkingEnvConfig {
  /** host:port of the OAP gRPC endpoint. */
  readonly addr: string;
  readonly tls: SkyWalkingTlsConfig;
  /** Sent as the `Authentication` metadata header on every call. */
  readonly authentication: string | undefined;
  /** Prefixed to service names as `cluster::service`. */
  readonly clusterName: string | undefined;
  readonly nodeName: string | undefined;
  /** Where the host's /proc is mounted inside the container. */
  readonly hostProcPath: string | undefined;
  readonly periods: SkyWalkingPeriods;
  /** Prefix of NETWORK tasks' meter names (Rover's rover_net_p). */
  readonly networkMeterPrefix: string;
}

type Env = EnvRecord;

/** Default periods, as Rover ships them. */
export const defaultSkyWalkingPeriods: SkyWalkingPeriods = {
  heartbeatMs: 20_000,
  reportEveryBeats: 10,
  taskQueryMs: 10_000,
  flushMs: 5_000,
  continuousFetchMs: 1_000,
  continuousCheckMs: 5_000,
  continuousExecuteMs: 600_000,
  continuousSilenceMs: 1_200_000,
  networkReportMs: 2_000,
};

function pickBool(env: Env, names: readonly string[]): boolean {
  const found = pickEnv(env, names);
  return found === undefined ? false : parseBoolean(found.name, found.value);
}

/**
 * Shortest period accepted: each one is a call to OAP or a check that logs
 * when it fails, so `1ms` would flood OAP and the log (5,842 lines in 12 s).
 */
export const MIN_SKYWALKING_PERIOD_MS = 1000;

/** Rover's periods are Go durations ("20s", "1m30s"); a bare number is seconds; at least 1s. */
function pickDuration(env: Env, names: readonly string[], fallback: number): number {
  const found = pickEnv(env, names);
  return found === undefined ? fallback : parseDurationSetting(found.name, found.value, { bare: 's', minMs: MIN_SKYWALKING_PERIOD_MS, example: '20s or 1m30s' });
}

function pickCount(env: Env, names: readonly string[], fallback: number): number {
  const found = pickEnv(env, names);
  if (found === undefined) return fallback;
  const n = Number(found.value);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(found.name, `reading ${found.name}: "${found.value}" is not a positive integer`);
  return n;
}

const M = 'MESHPROF_SKYWALKING_';

/**
 * Reads the SkyWalking settings. Returns undefined when no OAP address is set
 * (the exporter is off); throws, naming the variable, on invalid values
 * (ConfigErrors naming each one when several are bad).
 */
export function readSkyWalkingEnv(env: Env): SkyWalkingEnvConfig | undefined {
  const addr = pickEnv(env, [`${M}ADDR`, 'ROVER_BACKEND_ADDR']);
  if (addr === undefined) return undefined;
  const issues = new ConfigIssues();
  if (!/^[^\s]+:\d+$/.test(addr.value)) issues.add(addr.name, `reading ${addr.name}: "${addr.value}" is not host:port`);

  const cert = pickEnv(env, [`${M}CLIENT_CERT`, 'ROVER_BACKEND_PEM_PATH']);
  const key = pickEnv(env, [`${M}CLIENT_KEY`, 'ROVER_BACKEND_KEY_PATH']);
  const tls: SkyWalkingTlsConfig = {
    enabled: issues.check(() => pickBool(env, [`${M}TLS`, 'ROVER_BACKEND_ENABLE_TLS']), false),
    caPath: pickEnv(env, [`${M}CA`, 'ROVER_BACKEND_CA_PEM_PATH'])?.value,
    clientCertPath: cert?.value,
    clientKeyPath: key?.value,
    insecureSkipVerify: issues.check(() => pickBool(env, [`${M}INSECURE`, 'ROVER_BACKEND_INSECURE_SKIP_VERIFY']), false),
  };
  if ((cert === undefined) !== (key === undefined)) {
    issues.add((cert ?? key)?.name ?? `${M}CLIENT_CERT`, `reading ${M}CLIENT_CERT and ${M}CLIENT_KEY: set both or neither`);
  }

  const d = defaultSkyWalkingPeriods;
  const duration = (names: readonly string[], fallback: number): number => issues.check(() => pickDuration(env, names, fallback), fallback);
  const periods: SkyWalkingPeriods = {
    heartbeatMs: duration([`${M}HEARTBEAT_PERIOD`, 'ROVER_PROCESS_DISCOVERY_HEARTBEAT_PERIOD'], d.heartbeatMs),
    reportEveryBeats: issues.check(() => pickCount(
      env,
      [`${M}PROPERTIES_REPORT_PERIOD`, 'ROVER_PROCESS_DISCOVERY_PROPERTIES_REPORT_PERIOD'],
      d.reportEveryBeats,
    ), d.reportEveryBeats),
    taskQueryMs: duration([`${M}TASK_QUERY_INTERVAL`, 'ROVER_PROFILING_CHECK_INTERVAL'], d.taskQueryMs),
    flushMs: duration([`${M}FLUSH_INTERVAL`, 'ROVER_PROFILING_FLUSH_INTERVAL'], d.flushMs),
    continuousFetchMs: duration(
      [`${M}CONTINUOUS_FETCH_INTERVAL`, 'ROVER_PROFILING_CONTINUOUS_FETCH_INTERVAL'],
      d.continuousFetchMs,
    ),
    continuousCheckMs: duration(
      [`${M}CONTINUOUS_CHECK_INTERVAL`, 'ROVER_PROFILING_CONTINUOUS_CHECK_INTERVAL'],
      d.continuousCheckMs,
    ),
    continuousExecuteMs: duration(
      [`${M}CONTINUOUS_EXECUTE_DURATION`, 'ROVER_PROFILING_CONTINUOUS_TRIGGER_EXECUTE_DURATION'],
      d.continuousExecuteMs,
    ),
    continuousSilenceMs: duration(
      [`${M}CONTINUOUS_SILENCE_DURATION`, 'ROVER_PROFILING_CONTINUOUS_TRIGGER_SILENCE_DURATION'],
      d.continuousSilenceMs,
    ),
    networkReportMs: duration([`${M}NETWORK_REPORT_INTERVAL`, 'ROVER_PROFILING_TASK_NETWORK_TOPOLOGY_REPORT_INTERVAL'], d.networkReportMs),
  };
  const prefix = pickEnv(env, [`${M}NETWORK_METER_PREFIX`, 'ROVER_PROFILING_TASK_NETWORK_TOPOLOGY_METER_PREFIX']);
  if (prefix !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix.value)) {
    issues.add(prefix.name, `reading ${prefix.name}: "${prefix.value}" is not a meter name prefix (letters, digits and _, e.g. rover_net_p)`);
  }
  const auth = pickEnv(env, [`${M}AUTHENTICATION`, 'ROVER_BACKEND_AUTHENTICATION']);
  // Sent as gRPC metadata, which takes printable ASCII only; the message never shows the token.
  if (auth !== undefined && /[^\x20-\x7e]/.test(auth.value)) {
    issues.add(auth.name, `reading ${auth.name}: the token holds a character gRPC metadata cannot carry (control or non-ASCII): check how it was set`);
  }
  issues.throwIfAny();

  return {
    addr: addr.value,
    tls,
    authentication: auth?.value,
    clusterName: pickEnv(env, [`${M}CLUSTER`, 'ROVER_CORE_CLUSTER_NAME'])?.value,
    nodeName: pickEnv(env, [`${M}NODE_NAME`, 'ROVER_PROCESS_DISCOVERY_KUBERNETES_NODE_NAME', 'NODE_NAME'])?.value,
    hostProcPath: pickEnv(env, [`${M}HOST_PROC`, 'ROVER_HOST_PROC_MAPPING'])?.value,
    periods,
    networkMeterPrefix: prefix?.value ?? 'rover_net_p',
  };
}
