import { parseDurationMs, parseDurationNs } from '../config/duration.js';
import { parseByteSize } from '../config/env-values.js';
import { UsageError } from './usage-error.js';

/** `--pid 1 --pid 2,3` → [1, 2, 3]; rejects anything that is not a positive integer. */
export function parsePidList(values: readonly string[] | undefined): number[] {
  const pids: number[] = [];
  for (const value of values ?? []) {
    for (const part of value.split(',')) {
      const text = part.trim();
      if (text === '') continue;
      const pid = Number(text);
      if (!/^\d+$/.test(text) || pid <= 0) throw new UsageError(`--pid ${text}: not a process id: use a positive number`);
      pids.push(pid);
    }
  }
  return [...new Set(pids)];
}

/** A duration flag in milliseconds (config/duration.ts grammar; a bare number is seconds), with the flag's name in the error. */
export function parseDurationFlag(flag: string, value: string): number {
  const ms = parseDurationMs(value, 's');
  if (ms === undefined || ms <= 0) throw new UsageError(`${flag} ${value}: not a duration: use e.g. 10s, 500ms or 2m`);
  return ms;
}

/** A whole number within bounds, with the flag's name in the error. */
export function parseIntFlag(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} ${value}: use a whole number from ${min} to ${max}`);
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
