/**
 * The one duration grammar of meshprof's settings and flags: Go's
 * time.ParseDuration (`1m30s`, `500ms`, `2h`, `1.5s`, `250us`/`µs`, `10ns`),
 * plus a bare number for the settings that accept one, in the unit the caller
 * names. Values are kept as bigint nanoseconds so `formatDuration*` output
 * parses back to exactly the same value.
 */

/** Unit a bare number is read in; undefined means a bare number (other than 0) is not a duration. */
export type BareUnit = 'ns' | 'us' | 'ms' | 's';

const nsPerUnit: Readonly<Record<string, bigint>> = {
  ns: 1n, us: 1_000n, 'µs': 1_000n, 'μs': 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n,
};

const number = String.raw`(?:\d+(?:\.\d*)?|\.\d+)`;
// µ is U+00B5 (micro sign) and μ U+03BC (Greek mu); Go accepts both.
const part = new RegExp(String.raw`(${number})(ns|us|µs|μs|ms|s|m|h)`, 'gu');
const compound = new RegExp(String.raw`^(?:${number}(?:ns|us|µs|μs|ms|s|m|h))+$`, 'u');
const bare = new RegExp(String.raw`^${number}$`);

/** `digits[.fraction]` times unit, in ns; a fraction finer than 1 ns is dropped, as Go does. */
function scale(text: string, unit: bigint): bigint {
  const [whole = '', fraction = ''] = text.split('.');
  const wholeNs = BigInt(whole === '' ? '0' : whole) * unit;
  if (fraction === '') return wholeNs;
  return wholeNs + (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
}

/**
 * Parses a duration into nanoseconds; undefined when text is not one. A bare
 * number is read in `bareUnit` (only `0` is accepted without one, as in Go).
 * Surrounding whitespace is ignored; a leading `-` or `+` is kept, so callers
 * check the range themselves.
 */
export function parseDurationNs(text: string, bareUnit?: BareUnit): bigint | undefined {
  const trimmed = text.trim();
  const sign = trimmed.startsWith('-') ? -1n : 1n;
  const body = /^[-+]/.test(trimmed) ? trimmed.slice(1) : trimmed;
  if (bare.test(body)) {
    if (bareUnit !== undefined) return sign * scale(body, nsPerUnit[bareUnit] ?? 1n);
    return Number(body) === 0 ? 0n : undefined;
  }
  if (!compound.test(body)) return undefined;
  let ns = 0n;
  for (const m of body.matchAll(part)) ns += scale(m[1] ?? '0', nsPerUnit[m[2] ?? ''] ?? 0n);
  return sign * ns;
}

/** Like parseDurationNs, in milliseconds rounded to the nearest whole one. */
export function parseDurationMs(text: string, bareUnit?: BareUnit): number | undefined {
  const ns = parseDurationNs(text, bareUnit);
  return ns === undefined ? undefined : Math.round(Number(ns) / 1e6);
}

/** `n / unit` in decimal, without trailing zeros: (1500n, 1000n) → "1.5". */
function decimal(n: bigint, unit: bigint): string {
  const whole = n / unit;
  const rest = n % unit;
  if (rest === 0n) return String(whole);
  const digits = String(unit).length - 1;
  return `${whole}.${String(rest).padStart(digits, '0').replace(/0+$/, '')}`;
}

/**
 * Formats nanoseconds in the grammar parseDurationNs reads, leaving out zero
 * parts: `1m30s`, `1h`, `1.5s`, `250ms`, `1us`, `0s`. Parsing the result gives
 * back exactly ns.
 */
export function formatDurationNs(ns: bigint): string {
  if (ns < 0n) return `-${formatDurationNs(-ns)}`;
  if (ns === 0n) return '0s';
  if (ns < 1_000n) return `${ns}ns`;
  if (ns < 1_000_000n) return `${decimal(ns, 1_000n)}us`;
  if (ns < 1_000_000_000n) return `${decimal(ns, 1_000_000n)}ms`;
  const h = ns / 3_600_000_000_000n;
  const m = (ns / 60_000_000_000n) % 60n;
  const s = ns % 60_000_000_000n;
  return `${h > 0n ? `${h}h` : ''}${m > 0n ? `${m}m` : ''}${s > 0n ? `${decimal(s, 1_000_000_000n)}s` : ''}`;
}

/** formatDurationNs for milliseconds (a fraction is kept down to the nanosecond). */
export function formatDurationMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  return formatDurationNs(Number.isInteger(ms) ? BigInt(ms) * 1_000_000n : BigInt(Math.round(ms * 1e6)));
}

/**
 * The longest delay setTimeout and setInterval hold (2^31-1 ms, about 24.8
 * days); Node.js turns a longer one into 1 ms, so a setting above it would fire
 * at once instead of late.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
