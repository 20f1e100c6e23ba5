/**
 * Benchmark (issue 3): what the off-CPU sampler costs the processes it
 * watches. `perf bench sched pipe` ping-pongs a byte between two processes,
 * so nearly all its time is context switches, the event the sampler hooks:
 * the worst case. Baseline: no profiler; measured: the sampler profiling
 * every process and drained every second.
 */
import { createOffCpuSampler } from '../src/samplers/offcpu-sampler.js';
import { benchResult, benchRuns, measureInterleaved, type Benchmark, type BenchResult } from './harness.js';
import { meanRunNs, newProgStats, progIds, runStatsMetrics, withBpfStats, type BpfRunStats } from './bpf-run-stats.js';
import { runChild } from './run-child.js';
import { addDrops, formatDropsPerRun, withSampler } from './with-sampler.js';

/** Round trips per perf run: about 2–3 s on a 2-core VM. */
const LOOPS = 200_000;

/** perf's `usecs/op` line; throws when perf printed something else. */
export function parsePipeUsecsPerOp(stdout: string): number {
  const m = /([\d.]+)\s+usecs\/op/.exec(stdout);
  if (m?.[1] === undefined) throw new Error(`reading perf bench output: no usecs/op in ${JSON.stringify(stdout.slice(0, 200))}`);
  return Number(m[1]);
}

async function pipeUsecsPerOp(): Promise<number> {
  const run = await runChild('perf', ['bench', 'sched', 'pipe', '-l', String(LOOPS)]);
  return parsePipeUsecsPerOp(run.stdout);
}

async function run(): Promise<BenchResult> {
  let switches = 0;
  let perfSwitches = 0;
  let stacks = 0;
  const drops: Record<string, number> = {};
  let attachedWith = '';
  const runStats: (BpfRunStats | undefined)[] = [];
  const profiled = async (): Promise<number> => {
    const sampler = createOffCpuSampler({ targets: 'all' });
    const program = (): string => (sampler.attachedWith === 'raw_tp' ? 'sched_switch_raw' : 'sched_switch_btf');
    const before = progIds('sched_switch_btf', 'sched_switch_raw');
    const usecs = await withSampler(sampler, pipeUsecsPerOp, (batch) => {
      for (const s of batch.samples) {
        const n = s.values[0] ?? 0;
        switches += n;
        // perf bench names its two processes sched-pipe: the workload's share.
        if (s.comm === 'sched-pipe') perfSwitches += n;
      }
      stacks += batch.samples.length;
      addDrops(drops, batch.drops);
    }, { beforeStop: () => runStats.push(newProgStats(program(), before)) });
    attachedWith = sampler.attachedWith ?? '';
    return usecs;
  };
  const runs = benchRuns(3);
  const samples = await withBpfStats(() => measureInterleaved(runs, pipeUsecsPerOp, profiled));
  const runNs = meanRunNs(runStats);
  // The program's own time per round trip: a floor under the slowdown that other jobs cannot move.
  const bpfUsecsPerOp = runNs === undefined ? undefined : (perfSwitches / runs / LOOPS) * runNs / 1000;
  return benchResult({
    name: 'offcpu-overhead',
    unit: 'usecs/op',
    baselineLabel: 'perf bench sched pipe, no profiler',
    measuredLabel: 'same, off-CPU sampler on all processes',
    samples,
    metrics: {
      loops: LOOPS,
      attachedWith,
      switchesPerRun: Math.round(switches / runs),
      workloadSwitchesPerRun: Math.round(perfSwitches / runs),
      workloadSwitchesPerOp: Number((perfSwitches / runs / LOOPS).toFixed(2)),
      aggregatedStacksPerRun: Math.round(stacks / runs),
      dropsPerRun: formatDropsPerRun(drops, runs),
      ...runStatsMetrics(runStats, runs),
      ...(bpfUsecsPerOp === undefined ? {} : { bpfUsecsPerOp: Number(bpfUsecsPerOp.toFixed(2)) }),
    },
    notes: [
      'ratio = slowdown of one pipe round trip; two context switches per round trip is the worst case for a sched_switch hook',
      'bpfNsPerRun is the kernel\'s own mean run time of the sched_switch program (kernel.bpf_stats_enabled), immune to load from other jobs',
      'switches are everything the sampler counted machine-wide (other jobs included); workloadSwitches only the two sched-pipe processes of perf',
    ],
  });
}

/** The off-CPU overhead benchmark; needs root (or CAP_BPF+CAP_PERFMON) and perf. */
export const offCpuOverhead: Benchmark = {
  name: 'offcpu-overhead',
  description: `perf bench sched pipe -l ${LOOPS}: usecs/op with vs without the off-CPU sampler on all processes`,
  run,
};
