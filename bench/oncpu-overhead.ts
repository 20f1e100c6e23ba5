/**
 * Benchmark: what the on-CPU sampler at 99 Hz on every CPU costs a
 * CPU-bound process. The workload is a fixed amount of arithmetic (sized
 * once to about two seconds of CPU), timed by the child itself around its
 * loop so exec and exit stay out; baseline without the sampler, measured
 * with it. The figure is the loop's CPU time: the sampler's interrupt and
 * BPF program run on the interrupted task's clock (this kernel has no
 * CONFIG_IRQ_TIME_ACCOUNTING), while waiting behind other jobs, which
 * dominates wall time on a shared machine, does not count.
 */
import { createOnCpuSampler } from '../src/samplers/oncpu-sampler.js';
import { compileC, type CProgram } from './c-program.js';
import { benchResult, benchRuns, measureInterleaved, median, type Benchmark, type BenchResult } from './harness.js';
import { meanRunNs, newProgStats, progIds, runStatsMetrics, withBpfStats, type BpfRunStats } from './bpf-run-stats.js';
import { runChild } from './run-child.js';
import { addDrops, formatDropsPerRun, withSampler } from './with-sampler.js';

const FREQUENCY_HZ = 99;
const TARGET_MS = 2000;

/* argv[1] iterations of an LCG step through a non-inlined call (so the
 * sampled stacks have a frame), then "WALL_MS CPU_MS" of the loop alone. */
const SOURCE = `#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned long sink;

__attribute__((noinline)) static unsigned long step(unsigned long x) {
  return x * 6364136223846793005UL + 1442695040888963407UL;
}

static double ms(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  unsigned long n = argc > 1 ? strtoul(argv[1], 0, 10) : 100000000UL, x = 1;
  double wall = ms(CLOCK_MONOTONIC), cpu = ms(CLOCK_PROCESS_CPUTIME_ID);
  for (unsigned long i = 0; i < n; i++) x = step(x);
  sink = x;
  printf("%.3f %.3f\\n", ms(CLOCK_MONOTONIC) - wall, ms(CLOCK_PROCESS_CPUTIME_ID) - cpu);
  return 0;
}
`;

interface LoopTime {
  readonly pid: number;
  readonly wallMs: number;
  readonly cpuMs: number;
}

async function loop(program: CProgram, iterations: number): Promise<LoopTime> {
  const r = await runChild(program.path, [String(iterations)]);
  const [wall, cpu] = r.stdout.trim().split(/\s+/).map(Number);
  if (wall === undefined || cpu === undefined || !Number.isFinite(wall) || !Number.isFinite(cpu)) {
    throw new Error(`reading workload output: ${JSON.stringify(r.stdout)}`);
  }
  return { pid: r.pid, wallMs: wall, cpuMs: cpu };
}

async function run(): Promise<BenchResult> {
  const program = compileC('oncpu-work', SOURCE, ['-O1', '-fno-omit-frame-pointer']);
  try {
    // Size the work once so the runs take about TARGET_MS of CPU here, whatever the CPU.
    const probeIterations = 100_000_000;
    const probe = await loop(program, probeIterations);
    const iterations = Math.max(probeIterations, Math.round((probeIterations * TARGET_MS) / Math.max(probe.cpuMs, 1)));
    const wall = { baseline: [] as number[], measured: [] as number[] };
    let workloadSamples = 0;
    let allSamples = 0;
    const drops: Record<string, number> = {};
    const runStats: (BpfRunStats | undefined)[] = [];
    const plain = async (): Promise<number> => {
      const t = await loop(program, iterations);
      wall.baseline.push(t.wallMs);
      return t.cpuMs;
    };
    const profiled = async (): Promise<number> => {
      const sampler = createOnCpuSampler({ targets: 'all', frequencyHz: FREQUENCY_HZ });
      const before = progIds('do_sample');
      let pid = -1;
      const counted: { tgid: number; n: number }[] = [];
      const t = await withSampler(sampler, async () => {
        const r = await loop(program, iterations);
        pid = r.pid;
        return r;
      }, (batch) => {
        for (const s of batch.samples) counted.push({ tgid: s.tgid, n: s.values[0] ?? 0 });
        addDrops(drops, batch.drops);
      }, { beforeStop: () => runStats.push(newProgStats('do_sample', before)) });
      for (const c of counted) {
        allSamples += c.n;
        if (c.tgid === pid) workloadSamples += c.n;
      }
      wall.measured.push(t.wallMs);
      return t.cpuMs;
    };
    const runs = benchRuns(5);
    const samples = await withBpfStats(() => measureInterleaved(runs, plain, profiled));
    const wallBaseline = median(wall.baseline);
    const wallMeasured = median(wall.measured);
    const runNs = meanRunNs(runStats);
    // The program's own time on the workload's CPU as a share of its loop: what noise cannot move.
    const bpfShare = runNs === undefined ? undefined : (workloadSamples / runs) * runNs / (median(samples.baseline) * 1e6);
    return benchResult({
      name: 'oncpu-overhead',
      unit: 'ms',
      baselineLabel: 'CPU-bound loop, no profiler',
      measuredLabel: `same, on-CPU sampler at ${FREQUENCY_HZ} Hz on all CPUs`,
      samples,
      metrics: {
        iterations,
        frequencyHz: FREQUENCY_HZ,
        wallMsBaseline: Number(wallBaseline.toFixed(1)),
        wallMsMeasured: Number(wallMeasured.toFixed(1)),
        wallRatio: Number((wallMeasured / wallBaseline).toFixed(4)),
        workloadSamplesPerRun: Math.round(workloadSamples / runs),
        allSamplesPerRun: Math.round(allSamples / runs),
        dropsPerRun: formatDropsPerRun(drops, runs),
        compileMs: Math.round(program.compileMs),
        ...runStatsMetrics(runStats, runs),
        ...(bpfShare === undefined ? {} : { bpfShareOfLoop: Number(bpfShare.toExponential(2)) }),
      },
      notes: [
        'times are the loop\'s CPU time (CLOCK_PROCESS_CPUTIME_ID); wallRatio is the same with CLOCK_MONOTONIC, which also counts waiting behind other jobs',
        'with CONFIG_IRQ_TIME_ACCOUNTING=y interrupt time leaves the task\'s CPU clock: read wallRatio on a quiet machine there',
        'bpfNsPerRun is the kernel\'s own mean run time of do_sample (kernel.bpf_stats_enabled); bpfMsPerWorkloadRun spans all CPUs',
        `expect about ${FREQUENCY_HZ} workload samples per second of loop: a check the sampler really watched it`,
      ],
    });
  } finally {
    program.dispose();
  }
}

/** The on-CPU overhead benchmark; needs root (or CAP_BPF+CAP_PERFMON) and gcc. */
export const onCpuOverhead: Benchmark = {
  name: 'oncpu-overhead',
  description: `fixed CPU-bound loop (~${TARGET_MS / 1000} s): CPU time with vs without the on-CPU sampler at ${FREQUENCY_HZ} Hz`,
  run,
};
