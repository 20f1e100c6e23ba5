/**
 * Benchmark (issue 16): the on-CPU BPF program's run time per sample with
 * the Python frame walker (bpf/pywalker.h) against the same .eh_frame
 * walker without it, from the kernel's bpf_stats (run_time_ns / run_cnt),
 * alternating in one invocation, on Debian's python3.11 running
 * test/fixtures/lang-python/checkout.py (handler → checkout_total, four
 * Python frames deep). Run alone with `npx vite-node bench/python-walker.ts` (root).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../src/kernel/index.js';
import { createProcessTable } from '../src/process/process-table.js';
import { createOnCpuSampler } from '../src/samplers/oncpu-sampler.js';
import { createProcessUnwinder } from '../src/unwind/process-unwinder.js';
import { PYTHON_PROC_SIZE } from '../src/unwind/python-layout.js';
import { newProgStats, progIds, withBpfStats, type BpfRunStats } from './bpf-run-stats.js';
import { benchResult, benchRuns, measureInterleaved, type Benchmark, type BenchResult, isBenchScript, runBenchScript } from './harness.js';

const PYTHON = '/usr/bin/python3.11';
const SECONDS_PER_RUN = 1;

/** One sampling run on `pid`: the program's mean ns per run (NaN when another job loaded the same program). */
async function sampleRun(pid: number, python: boolean, seen: { walked: boolean }): Promise<number> {
  const before = progIds('do_sample');
  const processes = createProcessTable();
  processes.observe(pid);
  const unwinder = createProcessUnwinder({ processes, targets: [pid] });
  await unwinder.settled();
  const sampler = createOnCpuSampler({ targets: [pid], frequencyHz: 99, unwindMaps: unwinder.maps, pythonFrames: python });
  let stats: BpfRunStats | undefined;
  try {
    sampler.start();
    await new Promise((r) => setTimeout(r, SECONDS_PER_RUN * 1000));
    stats = newProgStats('do_sample', before);
    if (python && sampler.drain().samples.some((s) => (s.pythonStack?.length ?? 0) > 0)) seen.walked = true;
  } finally {
    sampler.stop();
    unwinder.close();
  }
  return stats && stats.runs > 0 ? stats.runTimeNs / stats.runs : Number.NaN;
}

async function retrying(pid: number, python: boolean, seen: { walked: boolean }): Promise<number> {
  let ns = Number.NaN;
  for (let i = 0; i < 3 && Number.isNaN(ns); i++) ns = await sampleRun(pid, python, seen);
  return ns;
}

/** The on-CPU program with Python frames walked vs. native stacks only. */
export const pythonWalker: Benchmark = {
  name: 'python-walker',
  description: 'on-CPU BPF ns per sample of a python3.11 process: Python frame walker on vs off (bpf_stats)',
  async run(): Promise<BenchResult> {
    const script = join(packageRoot(), 'test', 'fixtures', 'lang-python', 'checkout.py');
    const child = spawn(PYTHON, [script, 'checkout', '3600'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    const seen = { walked: false };
    try {
      const samples = await withBpfStats(() => measureInterleaved(
        benchRuns(5),
        () => retrying(child.pid!, false, seen),
        () => retrying(child.pid!, true, seen),
      ));
      if (!seen.walked) throw new Error('python-walker: no sample carried Python frames: the walker did not run');
      return benchResult({
        name: 'python-walker',
        unit: 'ns/run',
        baselineLabel: '.eh_frame walker only',
        measuredLabel: '.eh_frame walker + Python frames',
        samples,
        metrics: {
          mapBytesPythonProcs: 1024 * PYTHON_PROC_SIZE,
          mapBytesPystacksOnCpu: 2 * 1024 * (16 + 64 * 8),
        },
        notes: ['means include the early returns of samples of other processes (pid filter)'],
      });
    } finally {
      child.kill('SIGKILL');
    }
  },
};

// As a script: `npx vite-node bench/python-walker.ts`.
if (isBenchScript(import.meta.url)) runBenchScript(pythonWalker);
