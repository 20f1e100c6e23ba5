/**
 * The value grammar every config reader shares, so a setting means the same
 * whichever reader owns it: blank is unset, one set of boolean words, one
 * duration grammar (config/duration.ts) with a timer's range.
 */
import { ConfigError } from './config-error.js';
import { formatDurationMs, MAX_TIMER_MS, parseDurationMs, type BareUnit } from './duration.js';

/** Env as process.env has it. */
export type EnvRecord = Readonly<Record<string, string | undefined>>;

/** A variable that is set, with the name it was found under. */
export interface EnvSetting {
  readonly name: string;
  readonly value: string;
}

/** A variable's trimmed value, or undefined when unset or blank (as the OTel SDKs treat blank). */
export function envValue(env: EnvRecord, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/** The first of names that is set (not blank), for settings with a preferred and a fallback name. */
export function pickEnv(env: EnvRecord, names: readonly string[]): EnvSetting | undefined {
  for (const name of names) {
    const value = envValue(env, name);
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

const trueWords = ['true', '1', 'yes', 'on'];
const falseWords = ['false', '0', 'no', 'off'];

/** The words parseBoolean accepts, as its error message lists them. */
export const BOOLEAN_WORDS = 'true/false, 1/0, yes/no or on/off';

/** Reads a boolean setting: true/false, 1/0, yes/no, on/off in any case; throws naming the setting otherwise. */
export function parseBoolean(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (trueWords.includes(v)) return true;
  if (falseWords.includes(v)) return false;
  throw new ConfigError(name, `${name}=${raw}: not a boolean: use ${BOOLEAN_WORDS}`);
}

/** What a duration setting accepts besides the shared grammar. */
export interface DurationRule {
  /** Unit of a bare number (`s` for MESHPROF_INTERVAL, `ms` for OTLP timeouts); undefined: a unit is required. */
  readonly bare?: BareUnit;
  /** Shortest accepted value, ms; default 1. */
  readonly minMs?: number;
  /** Examples for the error message; default "10s, 500ms or 1m". */
  readonly example?: string;
}

/**
 * Reads a duration setting in whole milliseconds, no longer than a timer can
 * wait (MAX_TIMER_MS); throws naming the setting, its value and what to write.
 */
export function parseDurationSetting(name: string, raw: string, rule: DurationRule = {}): number {
  const minMs = rule.minMs ?? 1;
  const ms = parseDurationMs(raw, rule.bare);
  if (ms === undefined || ms < minMs) {
    throw new ConfigError(name, `${name}=${raw}: not a duration of at least ${formatDurationMs(minMs)}: use e.g. ${rule.example ?? '10s, 500ms or 1m'}`);
  }
  if (ms > MAX_TIMER_MS) {
    throw new ConfigError(name, `${name}=${raw}: longer than ${formatDurationMs(MAX_TIMER_MS)}, the longest a timer can wait: use a shorter duration`);
  }
  return ms;
}

const byteUnits: Record<string, number> = { '': 1, b: 1, k: 1000, kb: 1000, ki: 1024, kib: 1024, m: 1e6, mb: 1e6, mi: 2 ** 20, mib: 2 ** 20, g: 1e9, gb: 1e9, gi: 2 ** 30, gib: 2 ** 30 };

/** Reads a size setting: a number with an optional unit (65536, 4MiB, 1.5GB); throws naming the setting below `min` bytes. */
export function parseByteSize(name: string, raw: string, min: number): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw);
  const unit = m ? byteUnits[(m[2] ?? '').toLowerCase()] : undefined;
  const n = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isFinite(n) || n < min) throw new ConfigError(name, `${name}=${raw}: not a size of at least ${min} bytes: use e.g. 4MiB or 65536`);
  return n;
}
