import { formatDurationMs, MAX_TIMER_MS, parseDurationMs, parseDurationNs } from '../config/duration.js';
import { parseByteSize } from '../config/env-values.js';
import { UsageError } from './usage-error.js';

/**
 * `--pid 1 --pid 2,3` → [1, 2, 3]; rejects anything that is not a positive
 * integer. An empty list (`--pid ''`, `--pid ,`) is an error, not "every
 * process": a script whose `$(pgrep x)` found nothing must not profile the host.
 */
export function parsePidList(values: readonly string[] | undefined): number[] {
  const pids: number[] = [];
  for (const value of values ?? []) {
    const parts = value.split(',').map((p) => p.trim()).filter((p) => p !== '');
    if (parts.length === 0) throw new UsageError(`--pid '${value}': no process id in it: pass --pid 1234 (or --all for every process)`);
    for (const text of parts) {
      const pid = Number(text);
      if (!/^\d+$/.test(text) || pid <= 0) throw new UsageError(`--pid ${text}: not a process id: use a positive number`);
      pids.push(pid);
    }
  }
  return [...new Set(pids)];
}

/**
 * A duration flag in milliseconds (config/duration.ts grammar; a bare number
 * is seconds), with the flag's name in the error; no longer than a timer can
 * wait, since a longer one would fire at once.
 */
export function parseDurationFlag(flag: string, value: string): number {
  const ms = parseDurationMs(value, 's');
  if (ms === undefined || ms <= 0) throw new UsageError(`${flag} ${value}: not a duration: use e.g. 10s, 500ms or 2m`);
  if (ms > MAX_TIMER_MS) throw new UsageError(`${flag} ${value}: longer than ${formatDurationMs(MAX_TIMER_MS)}: use a shorter duration`);
  return ms;
}

/** A whole number within bounds, written in decimal digits (not 0x10 or 1e3), with the flag's name in the error. */
export function parseIntFlag(flag: string, value: string, min: number, max: number): number {
  const text = value.trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`${flag} ${value}: use a whole number in decimal digits from ${min} to ${max}`);
  return n;
}

/** A duration flag in nanoseconds (block thresholds go down to microseconds; a bare number is seconds). */
export function parseDurationNsFlag(flag: string, value: string): bigint {
  const ns = parseDurationNs(value, 's');
  if (ns === undefined || ns < 0n) throw new UsageError(`${flag} ${value}: not a duration: use e.g. 1us, 10ms or 1s`);
  return ns;
}

/** A size flag in bytes (65536, 512KiB, 1MiB) from `min` to `max`, with the flag's name in the error. */
export function parseByteSizeFlag(flag: string, value: string, min: number, max: number): number {
  let n: number;
  try {
    n = parseByteSize(flag, value, min);
  } catch {
    throw new UsageError(`${flag} ${value}: not a size of at least ${min} bytes: use e.g. 512KiB, 1MiB or 65536`);
  }
  if (n > max) throw new UsageError(`${flag} ${value}: larger than ${max} bytes: use a smaller size`);
  return n;
}
