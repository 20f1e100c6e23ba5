/**
 * The kernel's own count of how often a BPF program ran and for how long
 * (kernel.bpf_stats_enabled, 5.1+, read through bpftool). It is the one
 * overhead figure that load from other jobs cannot blur, so the overhead
 * benchmarks report it next to their noisy end-to-end ratios.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

/** Runs and total run time of one program since it was loaded. */
export interface BpfRunStats {
  readonly runs: number;
  readonly runTimeNs: number;
}

interface ProgInfo {
  readonly id: number;
  readonly name?: string;
  readonly run_time_ns?: number;
  readonly run_cnt?: number;
}

/** Every loaded program; empty when bpftool is missing or fails, which only costs the stats. */
function listProgs(): ProgInfo[] {
  try {
    return JSON.parse(execFileSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as ProgInfo[];
  } catch {
    return [];
  }
}

/** Ids of the loaded programs with any of these names (other processes' included). */
export function progIds(...names: readonly string[]): Set<number> {
  return new Set(listProgs().filter((p) => p.name !== undefined && names.includes(p.name)).map((p) => p.id));
}

/**
 * The stats of the one program called `name` whose id is not in `before`,
 * i.e. the one this process loaded since; undefined when there is not
 * exactly one (another job loaded the same program meanwhile).
 */
export function newProgStats(name: string, before: ReadonlySet<number>): BpfRunStats | undefined {
  const fresh = listProgs().filter((p) => p.name === name && !before.has(p.id));
  const p = fresh.length === 1 ? fresh[0] : undefined;
  if (p === undefined) return undefined;
  return { runs: p.run_cnt ?? 0, runTimeNs: p.run_time_ns ?? 0 };
}

/**
 * Runs `fn` with kernel.bpf_stats_enabled set, then restores the old value.
 * The stats cost two clock reads per program run, on both sides of nothing
 * measured here (the baseline runs no BPF). Without the sysctl (not root,
 * old kernel) `fn` runs anyway and the stats read as zero.
 */
export async function withBpfStats<T>(fn: () => Promise<T>): Promise<T> {
  let old: string | undefined;
  try {
    old = readFileSync(SYSCTL, 'utf8').trim();
    writeFileSync(SYSCTL, '1');
  } catch {
    old = undefined;
  }
  try {
    return await fn();
  } finally {
    if (old !== undefined) writeFileSync(SYSCTL, old);
  }
}

/** Mean nanoseconds per program run over every known sample, or undefined when none is known. */
export function meanRunNs(stats: readonly (BpfRunStats | undefined)[]): number | undefined {
  const known = stats.filter((s): s is BpfRunStats => s !== undefined);
  const runs = known.reduce((a, s) => a + s.runs, 0);
  return runs > 0 ? known.reduce((a, s) => a + s.runTimeNs, 0) / runs : undefined;
}

/** Metrics for a result: runs per workload run and the mean cost of one, or why they are missing. */
export function runStatsMetrics(stats: readonly (BpfRunStats | undefined)[], runs: number): Record<string, number | string> {
  const known = stats.filter((s): s is BpfRunStats => s !== undefined);
  if (known.length === 0) return { bpfRunStats: 'unavailable (no bpftool, not root, or another job loaded the same program)' };
  const total = known.reduce((a, s) => ({ runs: a.runs + s.runs, runTimeNs: a.runTimeNs + s.runTimeNs }), { runs: 0, runTimeNs: 0 });
  return {
    bpfRunsPerRun: Math.round(total.runs / known.length),
    bpfNsPerRun: total.runs > 0 ? Math.round(total.runTimeNs / total.runs) : 0,
    bpfMsPerWorkloadRun: Number((total.runTimeNs / known.length / 1e6).toFixed(1)),
    bpfStatsRuns: `${known.length}/${runs}`,
  };
}
