import { PROFILE_KINDS, METRIC_KINDS } from '../profile/profile-kinds.js';
import { agentDefaults, type AgentConfig, type LocalFormat, type ProfileKind } from './agent-config.js';
import { ConfigError, ConfigIssues } from './config-error.js';
import { parseBoolean, parseByteSize, parseDurationSetting } from './env-values.js';
import { parseFileMode } from './output-env.js';
import { parseListenAddress } from './receiver-env.js';

export { ConfigError, ConfigErrors } from './config-error.js';

const profileKinds: readonly (ProfileKind | (typeof METRIC_KINDS)[number])[] = [...PROFILE_KINDS, ...METRIC_KINDS];
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

function count(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(name, `${name}=${raw}: use a whole number of at least 1`);
  return n;
}

/** Durations here are timers (a bare number is seconds, as the docs say). */
function duration(name: string, raw: string, minMs: number): number {
  return parseDurationSetting(name, raw, { bare: 's', minMs });
}

/** Parses a variable when set, else gives fallback; a bad value is recorded and fallback used. */
type OptionalSetting = <T>(name: string, parse: (name: string, raw: string) => T, fallback: T) => T;

/** The export settings: queue, retry, request size, shutdown deadline. */
function exportSettings(opt: OptionalSetting, d: AgentConfig): Pick<AgentConfig, 'shutdownTimeoutMs' | 'exportQueue' | 'exportRetry' | 'exportMaxRequestBytes'> {
  return {
    shutdownTimeoutMs: opt('MESHPROF_SHUTDOWN_TIMEOUT', (n, r) => duration(n, r, 100), d.shutdownTimeoutMs),
    exportQueue: {
      maxItems: opt('MESHPROF_EXPORT_QUEUE_MAX_REQUESTS', count, d.exportQueue.maxItems),
      maxBytes: opt('MESHPROF_EXPORT_QUEUE_MAX_BYTES', (n, r) => parseByteSize(n, r, 1024), d.exportQueue.maxBytes),
    },
    exportRetry: {
      maxAttempts: opt('MESHPROF_EXPORT_RETRY_MAX_ATTEMPTS', count, d.exportRetry.maxAttempts),
      initialBackoffMs: opt('MESHPROF_EXPORT_RETRY_INITIAL_BACKOFF', (n, r) => duration(n, r, 1), d.exportRetry.initialBackoffMs),
      maxBackoffMs: opt('MESHPROF_EXPORT_RETRY_MAX_BACKOFF', (n, r) => duration(n, r, 1), d.exportRetry.maxBackoffMs),
      maxElapsedMs: opt('MESHPROF_EXPORT_RETRY_MAX_ELAPSED', (n, r) => duration(n, r, 1), d.exportRetry.maxElapsedMs),
    },
    exportMaxRequestBytes: opt('MESHPROF_EXPORT_MAX_REQUEST_BYTES', (n, r) => parseByteSize(n, r, 1024), d.exportMaxRequestBytes),
  };
}

/**
 * Merges defaults with env values (already blank-filtered) and validates the
 * result. Every bad variable is reported: one ConfigError when one is bad,
 * ConfigErrors listing them all when several are.
 */
export function resolveAgentConfig(values: Readonly<Record<string, string>>, defaults: AgentConfig = agentDefaults): AgentConfig {
  const issues = new ConfigIssues();
  const opt: OptionalSetting = (name, parse, fallback) => {
    const raw = values[name];
    return raw === undefined ? fallback : issues.check(() => parse(name, raw), fallback);
  };
  const intervalMs = opt('MESHPROF_INTERVAL', (name, raw) => parseDurationSetting(name, raw, { bare: 's', minMs: 1000, example: '15s or 1m' }), defaults.intervalMs);
  const frequencyHz = opt('MESHPROF_FREQUENCY', (name, raw) => {
    const hz = Number(raw);
    if (!Number.isInteger(hz) || hz < 1 || hz > 10_000) {
      throw new ConfigError(name, `MESHPROF_FREQUENCY=${raw}: use a whole number of Hz from 1 to 10000`);
    }
    return hz;
  }, defaults.frequencyHz);
  const profiles = opt('MESHPROF_PROFILES', (name, raw) => {
    const kinds = list(name, raw, profileKinds);
    if (kinds.length === 0) throw new ConfigError(name, `MESHPROF_PROFILES is empty: use one or several of ${profileKinds.join(', ')}`);
    return kinds;
  }, [...defaults.profiles, ...(defaults.network ? ['network' as const] : [])]);
  const dir = values.MESHPROF_OUTPUT_DIR;
  const outputDir = dir === undefined ? defaults.outputDir : dir === 'none' ? undefined : dir;
  const localFormats = opt('MESHPROF_LOCAL_FORMATS', (n, r) => list(n, r, formats), defaults.localFormats);
  const includeIdle = opt('MESHPROF_INCLUDE_IDLE', parseBoolean, defaults.includeIdle);
  const memoryRateBytes = opt('MESHPROF_MEMORY_RATE', (n, r) => {
    const bytes = parseByteSize(n, r, 1);
    if (bytes > 2 ** 32) throw new ConfigError(n, `${n}=${r}: larger than 4GiB: use a smaller rate, e.g. 512KiB`);
    return bytes;
  }, defaults.memoryRateBytes);
  const keepMangled = opt('MESHPROF_KEEP_MANGLED', parseBoolean, defaults.keepMangled);
  const lineInfo = opt('MESHPROF_LINE_INFO', parseBoolean, defaults.lineInfo);
  const unwind = opt('MESHPROF_UNWIND', (n, r) => oneOf(n, r, ['eh-frame', 'frame-pointers'] as const), defaults.unwind);
  const unwindTableBytes = opt('MESHPROF_UNWIND_TABLE_MEMORY', (n, r) => parseByteSize(n, r, 64 * 1024), defaults.unwindTableBytes);
  const logLevel = issues.check(() => {
    // Rover's variable counts when meshprof's is unset, so a Rover DaemonSet keeps its level.
    const rover = values.MESHPROF_LOG_LEVEL === undefined ? values.ROVER_LOGGER_LEVEL : undefined;
    const name = rover === undefined ? 'MESHPROF_LOG_LEVEL' : 'ROVER_LOGGER_LEVEL';
    const raw = values.MESHPROF_LOG_LEVEL ?? rover ?? defaults.logLevel;
    // Rover's levels are logrus's, in any case: WARNING and PANIC have pino equivalents.
    const level = rover === undefined ? raw : ({ warning: 'warn', panic: 'fatal' } as Record<string, string>)[raw.toLowerCase()] ?? raw.toLowerCase();
    if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(level)) {
      throw new ConfigError(name, `${name}=${raw}: use one of trace, debug, info, warn, error, silent`);
    }
    return level;
  }, defaults.logLevel);
  const logFormat = opt('MESHPROF_LOG_FORMAT', (n, r) => oneOf(n, r, ['json', 'text', 'auto'] as const), defaults.logFormat);
  // Metrics have no authentication: a port alone (`:9464`, `9464`) binds loopback; every interface must be asked for (0.0.0.0:9464).
  const metricsAddr = issues.check(() => {
    const addr = values.MESHPROF_METRICS_ADDR ?? defaults.metricsAddr;
    if (addr === undefined) return undefined;
    let listen: { host: string; port: number };
    try {
      listen = parseListenAddress('MESHPROF_METRICS_ADDR', addr.startsWith(':') ? addr.slice(1) : addr);
    } catch {
      throw new ConfigError('MESHPROF_METRICS_ADDR', `MESHPROF_METRICS_ADDR=${addr}: use host:port with a port from 0 to 65535, e.g. 127.0.0.1:9464, or 0.0.0.0:9464 for every interface`);
    }
    return listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
  }, defaults.metricsAddr);
  const outputMode = opt('MESHPROF_OUTPUT_MODE', parseFileMode, defaults.outputMode);
  const outputMaxBytes = opt('MESHPROF_OUTPUT_MAX_BYTES', (n, r) => parseByteSize(n, r, 1024 * 1024), defaults.outputMaxBytes);
  const exports = exportSettings(opt, defaults);
  issues.throwIfAny();
  return {
    intervalMs, frequencyHz, outputDir, localFormats, outputMode, outputMaxBytes,
    profiles: profiles.filter((k): k is ProfileKind => k !== 'network'), network: profiles.includes('network'),
    procRoot: values.MESHPROF_HOST_PROC ?? defaults.procRoot,
    includeIdle, memoryRateBytes, keepMangled, lineInfo, unwind, unwindTableBytes, logLevel, logFormat, metricsAddr,
    ...exports,
  };
}
