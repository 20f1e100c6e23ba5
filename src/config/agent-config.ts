/**
 * The agent's own settings (not the exporters'): what to sample, how often,
 * and where local files go. Exporter settings live next to their env parsers.
 */
import type { ProfileKind } from '../profile/profile-kinds.js';

export type { ProfileKind };
export type LocalFormat = 'pprof' | 'html' | 'folded';

export interface AgentConfig {
  /** Length of one collection interval, ms. */
  readonly intervalMs: number;
  /** On-CPU sampling frequency, Hz. */
  readonly frequencyHz: number;
  readonly profiles: readonly ProfileKind[];
  /** Network metrics (MESHPROF_PROFILES with `network`): HTTP and TCP, exported as OTLP metrics. */
  readonly network: boolean;
  /** Directory for local profile files; undefined disables them. */
  readonly outputDir: string | undefined;
  readonly localFormats: readonly LocalFormat[];
  /** Permission bits of local files (MESHPROF_OUTPUT_MODE); a created directory gets x where r is set. */
  readonly outputMode: number;
  /** Bound on the total size of local files; the oldest are deleted first. */
  readonly outputMaxBytes: number;
  /** Root of the host's /proc, e.g. /host/proc when the agent runs in a container. */
  readonly procRoot: string;
  readonly includeIdle: boolean;
  /** Memory profiles: mean bytes between sampled allocations (1: every allocation). */
  readonly memoryRateBytes: number;
  /** Keep C++/Rust symbol names mangled. */
  readonly keepMangled: boolean;
  /** Add file:line from DWARF line tables (costs CPU and memory: see bench/line-info.ts). */
  readonly lineInfo: boolean;
  /** How user stacks are walked: .eh_frame tables in the kernel (with frame pointers where a file has none), or frame pointers only. */
  readonly unwind: 'eh-frame' | 'frame-pointers';
  /** Kernel memory for unwind table rows (1 KiB per 64 rows), shared by every sampler. */
  readonly unwindTableBytes: number;
  readonly logLevel: string;
  /** MESHPROF_LOG_FORMAT: JSON lines, compact text, or text on a terminal and JSON otherwise. */
  readonly logFormat: 'json' | 'text' | 'auto';
  /** Where Prometheus metrics are served (`host:port`, loopback when only a port is given); undefined disables them. */
  readonly metricsAddr: string | undefined;
  /** How long SIGTERM waits for exporters to deliver the last interval, ms. */
  readonly shutdownTimeoutMs: number;
  /** Bounds of each exporter's own queue. */
  readonly exportQueue: { readonly maxItems: number; readonly maxBytes: number };
  /** Retry policy of every exporter: retry until maxElapsedMs, waits growing to maxBackoffMs. */
  readonly exportRetry: {
    readonly maxAttempts: number;
    readonly initialBackoffMs: number;
    readonly maxBackoffMs: number;
    readonly maxElapsedMs: number;
  };
  /** Largest request an exporter sends; bigger intervals are split by process. */
  readonly exportMaxRequestBytes: number;
}

/** Defaults for a local run: profile the host, write pprof into ./profiles (HTML costs an encode per interval: on request). */
export const agentDefaults: AgentConfig = {
  intervalMs: 15_000,
  frequencyHz: 99,
  profiles: ['oncpu'],
  network: false,
  outputDir: 'profiles',
  localFormats: ['pprof'],
  // Profiles name pids, commands and paths: readable by their owner only.
  outputMode: 0o600,
  outputMaxBytes: 2 ** 30,
  procRoot: '/proc',
  includeIdle: false,
  memoryRateBytes: 512 * 1024,
  keepMangled: false,
  lineInfo: false,
  unwind: 'eh-frame',
  // 1 Mi rows: node (372k), nginx (21k), libc (28k) and an Envoy-sized binary fit together
  unwindTableBytes: 16 * 1024 * 1024,
  logLevel: 'info',
  logFormat: 'auto',
  metricsAddr: undefined,
  shutdownTimeoutMs: 10_000,
  exportQueue: { maxItems: 256, maxBytes: 64 * 1024 * 1024 },
  // Like the Collector's retry_on_failure: bounded by time, not attempts, so an
  // outage shorter than maxElapsedMs loses nothing that fits in the queue.
  exportRetry: { maxAttempts: Number.POSITIVE_INFINITY, initialBackoffMs: 1000, maxBackoffMs: 30_000, maxElapsedMs: 300_000 },
  exportMaxRequestBytes: 4 * 1024 * 1024,
};
