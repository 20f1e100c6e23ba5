/**
 * Benchmarks: how long the agent's main thread stalls while node's tables
 * are built (node, 100 MB: ~370k unwind rows, ~78k symbols), built inline
 * as before against the worker threads the agent uses now. The figure is the
 * longest gap between 5 ms timer ticks during the build, which is how late a
 * poll, a drain or an export would have been.
 */
import { performance } from 'node:perf_hooks';
import { createInlineFileJobs, type FileJobs } from '../src/elf/file-job-worker.js';
import { readFileSymbolTables, readSymbolTablesAt } from '../src/symbolize/file-lookup.js';
import { createSymbolCache, type FileSymbolTables } from '../src/symbolize/symbol-cache.js';
import { createSymbolTableJobs } from '../src/symbolize/symbol-table-jobs.js';
import { createInlineTableBuilder, createWorkerTableBuilder, type UnwindTableBuilder } from '../src/unwind/table-builder.js';
import { unwindRowCount } from '../src/unwind/unwind-table-codec.js';
import { benchResult, benchRuns, measureInterleaved, type Benchmark, type BenchResult, isBenchScript, runBenchScript } from './harness.js';
import { createLogger, type Logger } from '../src/log/logger.js';

const FILE = process.execPath;

/** Collects what the builders say, e.g. that no compiled worker exists and the "worker" side ran inline. */
function builderWarnings(): { log: Logger; notes: string[] } {
  const notes: string[] = [];
  return { notes, log: createLogger((level, message) => { if (level === 'warn' && !notes.includes(message)) notes.push(message); }) };
}

/** The longest gap between 5 ms ticks of this thread while `work` runs, in ms. */
async function longestStallDuring(work: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let max = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  }, 5);
  try {
    await work();
    // one more tick, so a stall that ends with the work is counted
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    clearInterval(tick);
  }
  return max;
}

/** Builds FILE's unwind table with `builder`; counts its rows into `rows`. */
const buildUnwindTable = (builder: UnwindTableBuilder, rows: { n: number }) => async (): Promise<void> => {
  try {
    rows.n = unwindRowCount((await builder.build(() => FILE)).table);
  } finally {
    builder.close();
  }
};

/** Loads FILE's symbols through a symbol cache over `jobs`, as the agent's symbolizer does. */
const loadSymbols = (jobs: FileJobs<FileSymbolTables>) => async (): Promise<void> => {
  const cache = createSymbolCache({ readTables: readFileSymbolTables, tableJobs: jobs });
  try {
    await cache.load(FILE);
  } finally {
    cache.close();
  }
};

/** Inline build vs the worker thread: the main thread's longest stall. */
export const unwindBuildStall: Benchmark = {
  name: 'unwind-build-stall',
  description: 'main-thread stall while node\'s unwind table is built: inline vs worker thread',
  async run(): Promise<BenchResult> {
    const rows = { n: 0 };
    const said = builderWarnings();
    const samples = await measureInterleaved(
      benchRuns(3),
      () => longestStallDuring(buildUnwindTable(createInlineTableBuilder(), rows)),
      () => longestStallDuring(buildUnwindTable(createWorkerTableBuilder(said.log), rows)),
    );
    return benchResult({
      name: 'unwind-build-stall',
      unit: 'ms max stall',
      baselineLabel: 'built inline (main thread)',
      measuredLabel: 'built in the worker thread',
      samples,
      metrics: { file: FILE, rows: rows.n },
      notes: ['ratio well below 1 means the agent keeps polling while tables are built', ...said.notes],
    });
  },
};

/** Symbols read inline vs in the worker thread: the main thread's longest stall. */
export const symbolLoadStall: Benchmark = {
  name: 'symbol-load-stall',
  description: 'main-thread stall while node\'s symbol table is read: inline vs worker thread',
  async run(): Promise<BenchResult> {
    const symbols = readSymbolTablesAt(FILE).own.size;
    const said = builderWarnings();
    const samples = await measureInterleaved(
      benchRuns(3),
      () => longestStallDuring(loadSymbols(createInlineFileJobs('loading symbols', readSymbolTablesAt))),
      () => longestStallDuring(loadSymbols(createSymbolTableJobs(said.log))),
    );
    return benchResult({
      name: 'symbol-load-stall',
      unit: 'ms max stall',
      baselineLabel: 'read inline (main thread)',
      measuredLabel: 'read in the worker thread',
      samples,
      metrics: { file: FILE, symbols },
      notes: ['ratio well below 1 means the first profile of a node process no longer holds the poll loop', ...said.notes],
    });
  },
};

// As a script: `npx vite-node bench/main-thread-stall.ts`.
if (isBenchScript(import.meta.url)) runBenchScript(unwindBuildStall, symbolLoadStall);
