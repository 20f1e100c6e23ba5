/** Renders benchmark results as a plain-text table for the terminal. */
import type { BenchResult } from './harness.js';

/** A benchmark that threw instead of returning a result. */
export interface BenchFailure {
  readonly name: string;
  readonly error: string;
}

/** Integers as they are, other numbers to three significant digits. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  if (abs >= 1000) return Math.round(v).toString();
  return v.toPrecision(3);
}

/** One row per result (ratio first, as it is what compares across machines), then one per failure, then metrics. */
export function formatResultsTable(results: readonly BenchResult[], failures: readonly BenchFailure[]): string {
  const header = ['benchmark', 'ratio', 'baseline', 'measured', 'unit'];
  const rows = results.map((r) => [r.name, `${r.ratio.toFixed(r.ratio < 10 ? 3 : 1)}x`, formatNumber(r.baseline), formatNumber(r.measured), r.unit]);
  for (const f of failures) rows.push([f.name, 'FAILED', '', '', '']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ''];
  for (const r of results) {
    out.push(`${r.name}: ${r.measuredLabel} vs ${r.baselineLabel}`);
    const metrics = Object.entries(r.metrics).map(([k, v]) => `${k}=${typeof v === 'number' ? formatNumber(v) : v}`);
    if (metrics.length > 0) out.push(`  ${metrics.join(' ')}`);
  }
  for (const f of failures) out.push(`${f.name}: FAILED: ${f.error}`);
  return out.join('\n');
}

/** A GitHub-flavoured markdown table, for figures meant to be pasted into docs/. */
export function formatMarkdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}
