const nsPerUnit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * Parses a duration such as `15s`, `500ms`, `10us`, `2m`, `1h` or a bare
 * number of seconds into nanoseconds. Returns undefined when the text is not one.
 */
export function parseDurationNs(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|h)?\s*$/.exec(text);
  if (!m) return undefined;
  const ns = Number(m[1]) * (nsPerUnit[m[2] ?? 's'] ?? 1e9);
  return Number.isFinite(ns) ? Math.round(ns) : undefined;
}

/** Like parseDurationNs, in whole milliseconds (rounded). */
export function parseDurationMs(text: string): number | undefined {
  const ns = parseDurationNs(text);
  return ns === undefined ? undefined : Math.round(ns / 1e6);
}

/** Formats milliseconds the way users write them back (`15s`, `1m30s`). */
export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
}
