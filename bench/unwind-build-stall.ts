/**
 * Benchmark (issue 4): how long the agent's main thread stalls while a
 * large binary's unwind table is built (node, 100 MB, ~370k rows): built
 * inline, as before, against the worker thread the agent uses now. The
 * figure is the longest gap between 5 ms timer ticks during the build,
 * which is how late a poll, a drain or an export would have been.
 */
import { performance } from 'node:perf_hooks';
import { createInlineTableBuilder, createWorkerTableBuilder, type UnwindTableBuilder } from '../src/unwind/table-builder.js';
import { unwindRowCount } from '../src/unwind/unwind-table-codec.js';
import { benchResult, benchRuns, measureInterleaved, type Benchmark, type BenchResult, isBenchScript, runBenchScript } from './harness.js';

const FILE = process.execPath;

/** Builds FILE's table with `builder`; returns the longest event-loop stall in ms, and the rows. */
async function stallWhileBuilding(builder: UnwindTableBuilder, rows: { n: number }): Promise<number> {
  let last = performance.now();
  let max = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  }, 5);
  try {
    const t = await builder.build(() => FILE);
    rows.n = unwindRowCount(t.table);
    // one more tick, so a stall that ends with the build is counted
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    clearInterval(tick);
    builder.close();
  }
  return max;
}

/** Inline build vs the worker thread: the main thread's longest stall. */
export const unwindBuildStall: Benchmark = {
  name: 'unwind-build-stall',
  description: 'main-thread stall while node\'s unwind table is built: inline vs worker thread',
  async run(): Promise<BenchResult> {
    const rows = { n: 0 };
    const samples = await measureInterleaved(
      benchRuns(3),
      () => stallWhileBuilding(createInlineTableBuilder(), rows),
      () => stallWhileBuilding(createWorkerTableBuilder(), rows),
    );
    return benchResult({
      name: 'unwind-build-stall',
      unit: 'ms max stall',
      baselineLabel: 'built inline (main thread)',
      measuredLabel: 'built in the worker thread',
      samples,
      metrics: { file: FILE, rows: rows.n },
      notes: ['ratio well below 1 means the agent keeps polling while tables are built'],
    });
  },
};

// As a script: `npx vite-node bench/unwind-build-stall.ts`.
if (isBenchScript(import.meta.url)) runBenchScript(unwindBuildStall);
