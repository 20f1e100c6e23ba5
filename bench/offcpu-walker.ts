/**
 * Benchmark (issues 3 and 4): what the .eh_frame walker adds to the off-CPU
 * sampler's sched_switch program, per switch, on the workload that switches
 * most: `perf bench sched pipe`, every process profiled. Baseline: the
 * sampler with frame pointers only; measured: the same with the walker and
 * the agent's tables (built as processes show up in samples). Both figures
 * come from the kernel's bpf_stats, read after a 1.5 s warm-up so the
 * walker's side is measured once the tables are in.
 */
import { createProcessUnwinder, withProcessUnwinder } from '../src/unwind/process-unwinder.js';
import { createProcessTable } from '../src/process/process-table.js';
import { createOffCpuSampler } from '../src/samplers/offcpu-sampler.js';
import type { StackSampler } from '../src/samplers/stack-sampler.js';
import { newProgStats, progIds, withBpfStats, type BpfRunStats } from './bpf-run-stats.js';
import { benchResult, benchRuns, measureInterleaved, type Benchmark, type BenchResult, isBenchScript, runBenchScript } from './harness.js';
import { parsePipeUsecsPerOp } from './offcpu-overhead.js';
import { runChild } from './run-child.js';
import { addDrops, withSampler } from './with-sampler.js';

/** Round trips: about 4–6 s on a 2-core VM, so most of it is past the warm-up. */
const LOOPS = 400_000;
const WARM_UP_MS = 1500;

interface RunFigures {
  nsPerSwitch: number;
  usecsPerOp: number;
}

/** One perf run under the off-CPU sampler, with or without the walker. */
async function sampledRun(walker: boolean, drops: Record<string, number>, out: RunFigures[]): Promise<number> {
  const processes = createProcessTable();
  const unwinder = walker ? createProcessUnwinder({ processes, targets: [] }) : undefined;
  const raw = createOffCpuSampler({ targets: 'all', ...(unwinder ? { unwindMaps: unwinder.maps } : {}) });
  const sampler: StackSampler = unwinder ? withProcessUnwinder(raw, processes, unwinder) : raw;
  const program = (): string => (raw.attachedWith === 'raw_tp' ? 'sched_switch_raw' : 'sched_switch_btf');
  const before = progIds('sched_switch_btf', 'sched_switch_raw');
  let warm: BpfRunStats | undefined;
  let end: BpfRunStats | undefined;
  try {
    const usecs = await withSampler(sampler, async () => {
      const perf = runChild('perf', ['bench', 'sched', 'pipe', '-l', String(LOOPS)]);
      await new Promise((r) => setTimeout(r, WARM_UP_MS));
      warm = newProgStats(program(), before);
      return parsePipeUsecsPerOp((await perf).stdout);
    }, (batch) => addDrops(drops, batch.drops), { beforeStop: () => { end = newProgStats(program(), before); } });
    if (warm && end && end.runs > warm.runs) {
      out.push({ nsPerSwitch: (end.runTimeNs - warm.runTimeNs) / (end.runs - warm.runs), usecsPerOp: usecs });
    }
    return out.length > 0 ? out[out.length - 1]!.nsPerSwitch : Number.NaN;
  } finally {
    unwinder?.close();
  }
}

/** Frame pointers vs the .eh_frame walker in the off-CPU program. */
export const offCpuWalker: Benchmark = {
  name: 'offcpu-walker',
  description: 'off-CPU BPF ns per context switch: frame pointers vs the .eh_frame walker (bpf_stats, perf bench sched pipe)',
  async run(): Promise<BenchResult> {
    const fpDrops: Record<string, number> = {};
    const walkerDrops: Record<string, number> = {};
    const fp: RunFigures[] = [];
    const walked: RunFigures[] = [];
    const samples = await withBpfStats(() => measureInterleaved(
      benchRuns(3),
      () => sampledRun(false, fpDrops, fp),
      () => sampledRun(true, walkerDrops, walked),
    ));
    const usecs = (r: RunFigures[]): string => r.map((x) => x.usecsPerOp.toFixed(1)).join('/');
    return benchResult({
      name: 'offcpu-walker',
      unit: 'ns/switch',
      baselineLabel: 'off-CPU sampler, frame pointers',
      measuredLabel: 'off-CPU sampler, .eh_frame walker',
      samples: { baseline: samples.baseline.filter(Number.isFinite), measured: samples.measured.filter(Number.isFinite) },
      metrics: {
        pipeUsecsPerOpFramePointers: usecs(fp),
        pipeUsecsPerOpWalker: usecs(walked),
        dropsWalker: JSON.stringify(walkerDrops),
      },
      notes: ['bpf_stats after a 1.5 s warm-up; the mean covers every switch on the host, including early returns'],
    });
  },
};

// As a script: `npx vite-node bench/offcpu-walker.ts`.
if (isBenchScript(import.meta.url)) runBenchScript(offCpuWalker);
