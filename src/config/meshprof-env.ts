/**
 * Every environment variable `meshprof agent` reads, validated in one pass
 * before anything starts: the agent's own MESHPROF_* settings, the exporters'
 * (OTLP, Pyroscope), SkyWalking's, self-telemetry's switch and discovery's
 * (MESHPROF_KUBERNETES, MESHPROF_TARGET_*, ...). A user with several bad
 * variables learns about all of them at once, one line each.
 */
import type { DiscoveryConfig } from '../discovery/discovery.js';
import type { AgentConfig } from './agent-config.js';
import { readAgentEnv } from './agent-env.js';
import { readEvery } from './config-error.js';
import { discoveryConfigFromEnv } from './discovery-env.js';
import { readExportersEnv, type ExportersEnvConfig } from './exporters-env.js';
import { readNetworkEnv, type NetworkSettings } from './network-env.js';
import { envValue, type EnvRecord } from './env-values.js';
import { readReceiverEnv, type ReceiverConfig } from './receiver-env.js';
import { readSkyWalkingEnv, type SkyWalkingEnvConfig } from './skywalking-env.js';
import { readTracesExporterEnv, type TracesExporter } from './telemetry-env.js';
import { resolveAgentConfig } from './validate-agent-config.js';
import { readRelabelEnv } from './labels-env.js';
import type { RelabelRule } from '../discovery/relabel.js';

export { ConfigError, ConfigErrors, configErrorsOf } from './config-error.js';
export type { ExportersEnvConfig } from './exporters-env.js';

/** The agent's validated settings, one part per reader. */
export interface MeshprofEnv {
  /** MESHPROF_INTERVAL, MESHPROF_PROFILES, MESHPROF_OUTPUT_DIR, ... (config/agent-env.ts). */
  readonly agent: AgentConfig;
  /** OTEL_EXPORTER_OTLP_*, MESHPROF_PYROSCOPE_*, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES. */
  readonly exporters: ExportersEnvConfig;
  /** MESHPROF_SKYWALKING_* / ROVER_*; undefined when no OAP address is set. */
  readonly skywalking: SkyWalkingEnvConfig | undefined;
  /** OTEL_TRACES_EXPORTER. */
  readonly tracesExporter: TracesExporter;
  /** MESHPROF_NETWORK_* (config/network-env.ts), read whether or not network profiling is on. */
  readonly network: NetworkSettings;
  /** MESHPROF_KUBERNETES, MESHPROF_NODE_NAME, MESHPROF_TARGET_*, MESHPROF_EXCLUDE_*, ... */
  readonly discovery: DiscoveryConfig;
  /** MESHPROF_RECEIVER_*; undefined when no receiver endpoint is set. */
  readonly receiver: ReceiverConfig | undefined;
  /** MESHPROF_RELABEL: rules applied to every process's attributes before export. */
  readonly relabel: readonly RelabelRule[];
}

/**
 * Runs every reader over env. Throws one ConfigError when one variable is
 * bad, or ConfigErrors whose message is "N settings need changing:" and each
 * variable's own message (what to change) on its own line.
 */
export function resolveMeshprofEnv(env: EnvRecord): MeshprofEnv {
  // Rover's name for the host's /proc counts for the whole agent, not only
  // SkyWalking's tasks: samplers and tasks must read the same processes.
  // A Rover DaemonSet mounts the host's / and names it ROVER_HOST_MAPPING: its /proc is under it.
  const roverRoot = envValue(env, 'ROVER_HOST_MAPPING');
  const roverProc = env.ROVER_HOST_PROC_MAPPING ?? (roverRoot === undefined ? undefined : `${roverRoot.replace(/\/+$/, '')}/proc`);
  const procVars = env.MESHPROF_HOST_PROC === undefined && roverProc !== undefined
    ? { ...env, MESHPROF_HOST_PROC: roverProc }
    : env;
  return readEvery<MeshprofEnv>({
    agent: () => resolveAgentConfig(readAgentEnv(procVars)),
    exporters: () => readExportersEnv(env),
    skywalking: () => readSkyWalkingEnv(env),
    tracesExporter: () => readTracesExporterEnv(env),
    network: () => readNetworkEnv(env),
    discovery: () => discoveryConfigFromEnv(procVars),
    receiver: () => readReceiverEnv(env),
    relabel: () => readRelabelEnv(env),
  });
}
