/**
 * The agent's own settings (not the exporters'): what to sample, how often,
 * and where local files go. Exporter settings live next to their env parsers.
 */
export type ProfileKind = 'oncpu' | 'offcpu';
export type LocalFormat = 'pprof' | 'html' | 'folded';

export interface AgentConfig {
  /** Length of one collection interval, ms. */
  readonly intervalMs: number;
  /** On-CPU sampling frequency, Hz. */
  readonly frequencyHz: number;
  readonly profiles: readonly ProfileKind[];
  /** Directory for local profile files; undefined disables them. */
  readonly outputDir: string | undefined;
  readonly localFormats: readonly LocalFormat[];
  /** Root of the host's /proc, e.g. /host/proc when the agent runs in a container. */
  readonly procRoot: string;
  readonly includeIdle: boolean;
  readonly logLevel: string;
  /** Where Prometheus metrics are served (`host:port`); undefined disables them. */
  readonly metricsAddr: string | undefined;
}

/** Defaults for a local run: profile the host, write pprof + HTML into ./profiles. */
export const agentDefaults: AgentConfig = {
  intervalMs: 15_000,
  frequencyHz: 99,
  profiles: ['oncpu'],
  outputDir: 'profiles',
  localFormats: ['pprof', 'html'],
  procRoot: '/proc',
  includeIdle: false,
  logLevel: 'info',
  metricsAddr: undefined,
};
