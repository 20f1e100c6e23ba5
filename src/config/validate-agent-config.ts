import { agentDefaults, type AgentConfig, type LocalFormat, type ProfileKind } from './agent-config.js';
import { parseDurationMs } from './duration.js';

/** A setting that cannot work; the message names the variable or flag and what to change. */
export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const profileKinds: readonly ProfileKind[] = ['oncpu', 'offcpu'];
const formats: readonly LocalFormat[] = ['pprof', 'html', 'folded'];

function list<T extends string>(name: string, raw: string, allowed: readonly T[]): T[] {
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) {
      throw new ConfigError(name, `${name}=${raw}: unknown value "${item}": use a comma-separated list of ${allowed.join(', ')}`);
    }
  }
  return items as T[];
}

function oneOf<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new ConfigError(name, `${name}=${raw}: use one of ${allowed.join(', ')}`);
}

function bool(name: string, raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `${name}=${raw}: not a boolean: use true or false`);
}

const byteUnits: Record<string, number> = { '': 1, b: 1, k: 1000, kb: 1000, ki: 1024, kib: 1024, m: 1e6, mb: 1e6, mi: 2 ** 20, mib: 2 ** 20, g: 1e9, gb: 1e9, gi: 2 ** 30, gib: 2 ** 30 };

function bytes(name: string, raw: string, min: number): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw);
  const unit = m ? byteUnits[(m[2] ?? '').toLowerCase()] : undefined;
  const n = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isFinite(n) || n < min) throw new ConfigError(name, `${name}=${raw}: not a size of at least ${min} bytes: use e.g. 4MiB or 65536`);
  return n;
}

function count(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(name, `${name}=${raw}: use a whole number of at least 1`);
  return n;
}

function duration(name: string, raw: string, minMs: number): number {
  const ms = parseDurationMs(raw);
  if (ms === undefined || ms < minMs) throw new ConfigError(name, `${name}=${raw}: not a duration of at least ${minMs}ms: use e.g. 10s, 500ms or 1m`);
  return ms;
}

/** The export settings: queue, retry, request size, shutdown deadline. */
function exportSettings(values: Readonly<Record<string, string>>, d: AgentConfig): Pick<AgentConfig, 'shutdownTimeoutMs' | 'exportQueue' | 'exportRetry' | 'exportMaxRequestBytes'> {
  const v = (name: string): string | undefined => values[name];
  const opt = <T>(name: string, parse: (name: string, raw: string) => T, fallback: T): T => {
    const raw = v(name);
    return raw === undefined ? fallback : parse(name, raw);
  };
  return {
    shutdownTimeoutMs: opt('MESHPROF_SHUTDOWN_TIMEOUT', (n, r) => duration(n, r, 100), d.shutdownTimeoutMs),
    exportQueue: {
      maxItems: opt('MESHPROF_EXPORT_QUEUE_MAX_REQUESTS', count, d.exportQueue.maxItems),
      maxBytes: opt('MESHPROF_EXPORT_QUEUE_MAX_BYTES', (n, r) => bytes(n, r, 1024), d.exportQueue.maxBytes),
    },
    exportRetry: {
      maxAttempts: opt('MESHPROF_EXPORT_RETRY_MAX_ATTEMPTS', count, d.exportRetry.maxAttempts),
      initialBackoffMs: opt('MESHPROF_EXPORT_RETRY_INITIAL_BACKOFF', (n, r) => duration(n, r, 1), d.exportRetry.initialBackoffMs),
      maxBackoffMs: opt('MESHPROF_EXPORT_RETRY_MAX_BACKOFF', (n, r) => duration(n, r, 1), d.exportRetry.maxBackoffMs),
      maxElapsedMs: opt('MESHPROF_EXPORT_RETRY_MAX_ELAPSED', (n, r) => duration(n, r, 1), d.exportRetry.maxElapsedMs),
    },
    exportMaxRequestBytes: opt('MESHPROF_EXPORT_MAX_REQUEST_BYTES', (n, r) => bytes(n, r, 1024), d.exportMaxRequestBytes),
  };
}

/** Merges defaults with env values (already blank-filtered) and validates the result. */
export function resolveAgentConfig(values: Readonly<Record<string, string>>, defaults: AgentConfig = agentDefaults): AgentConfig {
  let intervalMs = defaults.intervalMs;
  if (values.MESHPROF_INTERVAL !== undefined) {
    const ms = parseDurationMs(values.MESHPROF_INTERVAL);
    if (ms === undefined || ms < 1000) {
      throw new ConfigError('MESHPROF_INTERVAL', `MESHPROF_INTERVAL=${values.MESHPROF_INTERVAL}: not a duration of at least 1s: use e.g. 15s or 1m`);
    }
    intervalMs = ms;
  }
  let frequencyHz = defaults.frequencyHz;
  if (values.MESHPROF_FREQUENCY !== undefined) {
    frequencyHz = Number(values.MESHPROF_FREQUENCY);
    if (!Number.isInteger(frequencyHz) || frequencyHz < 1 || frequencyHz > 10_000) {
      throw new ConfigError('MESHPROF_FREQUENCY', `MESHPROF_FREQUENCY=${values.MESHPROF_FREQUENCY}: use a whole number of Hz from 1 to 10000`);
    }
  }
  const profiles = values.MESHPROF_PROFILES !== undefined ? list('MESHPROF_PROFILES', values.MESHPROF_PROFILES, profileKinds) : defaults.profiles;
  if (profiles.length === 0) throw new ConfigError('MESHPROF_PROFILES', 'MESHPROF_PROFILES is empty: use oncpu, offcpu or both');
  const dir = values.MESHPROF_OUTPUT_DIR;
  const outputDir = dir === undefined ? defaults.outputDir : dir === 'none' ? undefined : dir;
  const localFormats = values.MESHPROF_LOCAL_FORMATS !== undefined ? list('MESHPROF_LOCAL_FORMATS', values.MESHPROF_LOCAL_FORMATS, formats) : defaults.localFormats;
  const includeIdle = values.MESHPROF_INCLUDE_IDLE !== undefined ? bool('MESHPROF_INCLUDE_IDLE', values.MESHPROF_INCLUDE_IDLE) : defaults.includeIdle;
  const keepMangled = values.MESHPROF_KEEP_MANGLED !== undefined ? bool('MESHPROF_KEEP_MANGLED', values.MESHPROF_KEEP_MANGLED) : defaults.keepMangled;
  const lineInfo = values.MESHPROF_LINE_INFO !== undefined ? bool('MESHPROF_LINE_INFO', values.MESHPROF_LINE_INFO) : defaults.lineInfo;
  const unwind = values.MESHPROF_UNWIND !== undefined ? oneOf('MESHPROF_UNWIND', values.MESHPROF_UNWIND, ['eh-frame', 'frame-pointers'] as const) : defaults.unwind;
  const unwindTableBytes = values.MESHPROF_UNWIND_TABLE_MEMORY !== undefined
    ? bytes('MESHPROF_UNWIND_TABLE_MEMORY', values.MESHPROF_UNWIND_TABLE_MEMORY, 64 * 1024)
    : defaults.unwindTableBytes;
  const logLevel = values.MESHPROF_LOG_LEVEL ?? defaults.logLevel;
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) {
    throw new ConfigError('MESHPROF_LOG_LEVEL', `MESHPROF_LOG_LEVEL=${logLevel}: use one of trace, debug, info, warn, error, silent`);
  }
  const metricsAddr = values.MESHPROF_METRICS_ADDR ?? defaults.metricsAddr;
  if (metricsAddr !== undefined && !/^[^:]*:\d+$/.test(metricsAddr)) {
    throw new ConfigError('MESHPROF_METRICS_ADDR', `MESHPROF_METRICS_ADDR=${metricsAddr}: use host:port, e.g. 0.0.0.0:9464`);
  }
  return {
    intervalMs, frequencyHz, profiles, outputDir, localFormats,
    procRoot: values.MESHPROF_HOST_PROC ?? defaults.procRoot,
    includeIdle, keepMangled, lineInfo, unwind, unwindTableBytes, logLevel, metricsAddr,
    ...exportSettings(values, defaults),
  };
}
