/**
 * The peers benchmark's figures as markdown: one table per frequency and
 * churn setting, every tool's cost beside bpftrace's and perf's from the
 * same run, and one table for start-up times.
 */
import { median } from './harness.js';
import { formatMarkdownTable, formatNumber } from './results-table.js';
import type { ThreadSplit, ToolRun } from './tool-run.js';

/** One frequency and churn setting: every tool's run, the no-tool baselines included. */
export interface PeerConfigResult {
  readonly hz: number;
  /** Execs a second asked of the churner; 0 for none. */
  readonly churnPerSec: number;
  /** What the churner really managed, execs a second. */
  readonly churnMeasuredPerSec: number;
  readonly runs: readonly ToolRun[];
}

/** Start-up medians in ms, with every run. */
export interface StartupResult {
  readonly runs: number;
  readonly nodeBareMs: readonly number[];
  readonly helpMs: readonly number[];
  readonly recordReadyMs: readonly number[];
  /** Another checkout's CLI (--baseline DIR), measured in the same rounds. */
  readonly baseline?: { readonly label: string; readonly helpMs: readonly number[]; readonly recordReadyMs: readonly number[] };
}

/** `peers:99hz` or `peers:19hz-churn`. */
export function configName(c: { hz: number; churnPerSec: number }): string {
  return `peers:${c.hz}hz${c.churnPerSec > 0 ? '-churn' : ''}`;
}

function pct(v: number | undefined): string {
  return v === undefined ? '–' : `${v.toFixed(v < 10 ? 2 : 1)}%`;
}

function times(v: number, of: number | undefined): string {
  return of === undefined || !(of > 0) ? '–' : `${formatNumber(v / of)}×`;
}

/** The mean spinner rate over the no-tool runs, the reference for "work lost". */
export function baselineSpinRate(runs: readonly ToolRun[]): number {
  const base = runs.filter((r) => r.name === 'no tool');
  return base.reduce((a, r) => a + r.spinIterPerSec, 0) / Math.max(1, base.length);
}

/** CPU per second profiled, % of one core: start, sampling and writing, over the profile's length. */
export function cpuPerProfiledSecondPct(r: ToolRun): number {
  return (r.cpuMs / r.profileMs) * 100;
}

/** `true ×12, sh ×2`: the commands of processes new on the host, counted, the commonest first. */
function newcomers(list: readonly string[]): string {
  const n = new Map<string, number>();
  for (const item of list) {
    const m = / ×(\d+)$/.exec(item);
    const comm = m === null ? item : item.slice(0, m.index);
    n.set(comm, (n.get(comm) ?? 0) + (m === null ? 1 : Number(m[1])));
  }
  return [...n].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([c, k]) => (k > 1 ? `${c} ×${k}` : c)).join(', ');
}

/** One markdown table for one setting; ratios are against the same run's bpftrace and perf. */
export function formatPeerConfig(c: PeerConfigResult): string {
  const bpftrace = c.runs.find((r) => r.name === 'bpftrace');
  const perf = c.runs.find((r) => r.name === 'perf');
  const perSec = (r: ToolRun | undefined): number | undefined => (r === undefined ? undefined : cpuPerProfiledSecondPct(r));
  const base = baselineSpinRate(c.runs);
  const rows = c.runs.map((r) => {
    const spin = base > 0 ? (r.spinIterPerSec / base).toFixed(3) : '–';
    const forks = r.hostForksPerSec.toFixed(0);
    if (r.name === 'no tool') return [r.name, formatNumber(r.wallMs / 1000), '–', '–', '–', '–', '–', '–', '–', '–', '–', spin, forks];
    return [
      r.name,
      formatNumber(r.wallMs / 1000),
      formatNumber(r.cpuMs / 1000),
      pct(perSec(r)),
      times(perSec(r)!, perSec(bpftrace)),
      times(perSec(r)!, perSec(perf)),
      pct(r.samplingCpuPct),
      r.steadyCpuPct === undefined ? '–' : `${pct(r.steadyCpuPct)} (max ${pct(r.steadyMaxSecondPct)})`,
      formatNumber(r.peakRssMb),
      times(r.peakRssMb, bpftrace?.peakRssMb),
      times(r.peakRssMb, perf?.peakRssMb),
      spin,
      forks,
    ];
  });
  const split = (t: ThreadSplit): string => Object.entries(t.byThread).filter(([, ms]) => Math.abs(ms) >= 0.5).sort((x, y) => y[1] - x[1])
    .map(([name, ms]) => `${name} ${ms.toFixed(0)}`).join(', ') + (t.newHostProcesses === undefined ? '' : ` (new on the host: ${newcomers(t.newHostProcesses)})`);
  const threadLines = c.runs.filter((r) => r.steadyByThread !== undefined).map((r) => `- ${r.name}, ms by thread: steady window ${split(r.steadyByThread!)}` +
    (r.steadyMaxSecond === undefined ? '' : `; busiest second (to ${r.steadyMaxSecond.atS} s, ${r.steadyMaxSecond.cpuMs.toFixed(0)} ms) ${split(r.steadyMaxSecond)}`));
  const title = `${c.hz} Hz, ${c.churnPerSec > 0 ? `${c.churnPerSec} execs/s of churn (measured ${c.churnMeasuredPerSec.toFixed(1)})` : 'no churn'}`;
  return `**${title}**\n\n${formatMarkdownTable(
    ['tool', 'wall (s)', 'CPU (s)', 'CPU per profiled s (% core)', '× bpftrace', '× perf', 'CPU while profiling (% core)', 'steady (% core)',
      'peak RSS (MB)', '× bpftrace', '× perf', 'spinner work (× no tool)', 'host forks/s'],
    rows,
  )}${threadLines.length > 0 ? `\n\n${threadLines.join('\n')}` : ''}`;
}

/** Start-up medians against a bare `node -e 0` from the same run. */
export function formatStartup(s: StartupResult): string {
  const bare = median(s.nodeBareMs);
  const row = (name: string, v: readonly number[]): string[] => [name, formatNumber(median(v)), `${formatNumber(Math.min(...v))}–${formatNumber(Math.max(...v))}`, times(median(v), bare)];
  return `**Start-up, median of ${s.runs} runs (wall time)**\n\n${formatMarkdownTable(
    ['command', 'median (ms)', 'range (ms)', '× node -e 0'],
    [
      row('node -e 0', s.nodeBareMs),
      row('meshprof --help', s.helpMs),
      ...(s.baseline !== undefined ? [row(`${s.baseline.label}: --help`, s.baseline.helpMs)] : []),
      row('meshprof record: exec → "recording" line', s.recordReadyMs),
      ...(s.baseline !== undefined ? [row(`${s.baseline.label}: record`, s.baseline.recordReadyMs)] : []),
    ],
  )}`;
}

/** Every round of every CLI, and the load average around them. */
export interface CliCostResult {
  readonly runs: readonly CliCostRun[];
  readonly loadavgBefore: readonly number[];
  readonly loadavgAfter: readonly number[];
}

/** CLI cost medians per build (measureCliCost), each row also against the first row. */
export function formatCliCost(r: CliCostResult): string {
  const labels = [...new Set(r.runs.map((x) => x.label))];
  const med = (label: string, f: (x: CliCostRun) => number): number => median(r.runs.filter((x) => x.label === label).map(f));
  const first = labels[0]!;
  const cell = (label: string, f: (x: CliCostRun) => number, digits: number): string => {
    const v = med(label, f);
    const base = med(first, f);
    return label === first || !(base > 0) ? v.toFixed(digits) : `${v.toFixed(digits)} (${formatNumber(v / base)}×)`;
  };
  const rounds = r.runs.filter((x) => x.label === first).length;
  const load = (l: readonly number[]): string => l.map((v) => v.toFixed(2)).join(' ');
  return `**CLI cost, median of ${rounds} interleaved rounds** (load average ${load(r.loadavgBefore)} before, ${load(r.loadavgAfter)} after)\n\n${formatMarkdownTable(
    ['build', '--help wall (ms)', '--help CPU (ms)', 'record --pid -d 2s CPU (ms)', 'its peak RSS (MB)', 'record --all -d 5s CPU (ms)', 'record peak RSS (MB)', 'record samples', 'agent 30 s CPU (ms)', 'agent RSS at 30 s (MB)', 'agent HWM (MB)'],
    labels.map((l) => [
      l, cell(l, (x) => x.helpWallMs, 0), cell(l, (x) => x.helpCpuMs, 0), cell(l, (x) => x.pidRecordCpuMs, 0), cell(l, (x) => x.pidRecordPeakRssMb, 0), cell(l, (x) => x.recordCpuMs, 0), cell(l, (x) => x.recordPeakRssMb, 0),
      med(l, (x) => x.recordSamples).toFixed(0), cell(l, (x) => x.agentCpuMs, 0), cell(l, (x) => x.agentRssMb, 0), cell(l, (x) => x.agentHwmMb, 0),
    ]),
  )}`;
}

/** One CLI's figures in one round (bench/peers-startup.ts measures them). */
export interface CliCostRun {
  readonly label: string;
  /** `--help`: spawn to exit, and its CPU (user + sys, rusage). */
  readonly helpWallMs: number;
  readonly helpCpuMs: number;
  /** `record --all -d 5s`: whole-process CPU (start, sampling, naming, writing) and peak RSS (rusage). */
  readonly recordCpuMs: number;
  readonly recordPeakRssMb: number;
  /** Samples record says it wrote: the same work on both sides. */
  readonly recordSamples: number;
  /**
   * `record --pid SPINNER -d 2s`: start-up, one binary to name, and the
   * write; whole-host work, which other jobs on the host change from run to
   * run, stays out of it. CPU and peak RSS (rusage).
   */
  readonly pidRecordCpuMs: number;
  readonly pidRecordPeakRssMb: number;
  /** `agent` (whole host, on-CPU, local pprof), its first 30 s: CPU, RSS and VmHWM at 30 s (/proc). */
  readonly agentCpuMs: number;
  readonly agentRssMb: number;
  readonly agentHwmMb: number;
}
