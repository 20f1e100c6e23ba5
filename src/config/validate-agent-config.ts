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

function bool(name: string, raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `${name}=${raw}: not a boolean: use true or false`);
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
    includeIdle, logLevel, metricsAddr,
  };
}
