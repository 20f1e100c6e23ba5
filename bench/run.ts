/**
 * `npm run bench`: runs the benchmarks named on the command line (all by
 * default), prints a table of ratios and writes every figure to
 * bench/results/<timestamp>.json. Exits 1 when a benchmark failed, 2 on an
 * unknown name; it never judges the figures themselves.
 *
 *   node dist/bench/run.js                      all of them
 *   node dist/bench/run.js symbol-lookup        one
 *   node dist/bench/run.js unwind-tables        a group (unwind-tables:libc, unwind-tables:nginx)
 *   node dist/bench/run.js --list               names and descriptions
 *   BENCH_RUNS=9 node dist/bench/run.js ...     more repetitions per side
 *   node dist/bench/run.js peers --quick        a long one, only run when named; --flags go to it
 */
import './runner-mode.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, release } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/kernel/index.js';
import type { Benchmark, BenchResult } from './harness.js';
import { lineInfo } from './line-info.js';
import { networkOverhead } from './network-overhead.js';
import { memoryOverhead } from './memory-overhead.js';
import { offCpuOverhead } from './offcpu-overhead.js';
import { offCpuWalker } from './offcpu-walker.js';
import { onCpuOverhead } from './oncpu-overhead.js';
import { moduleLoad } from './module-load.js';
import { peersBenchmarks, peersCliCost, peersSoak } from './peers.js';
import { pprofEncode } from './pprof-encode.js';
import { pythonWalker } from './python-walker.js';
import { formatResultsTable, type BenchFailure } from './results-table.js';
import { receiverLoad } from './receiver-load.js';
import { symbolLookup } from './symbol-lookup.js';
import { symbolLoadStall, unwindBuildStall } from './main-thread-stall.js';
import { unwindSampler } from './unwind-sampler.js';
import { unwindTables } from './unwind-tables.js';

/** Every benchmark, in run order. Add a new module's export here. */
export const BENCHMARKS: readonly Benchmark[] = [
  offCpuOverhead,
  offCpuWalker,
  onCpuOverhead,
  networkOverhead,
  ...memoryOverhead,
  symbolLookup,
  lineInfo,
  ...unwindTables,
  unwindBuildStall,
  symbolLoadStall,
  unwindSampler,
  receiverLoad,
  pythonWalker,
  moduleLoad,
  pprofEncode,
  ...peersBenchmarks,
  peersSoak,
  peersCliCost,
];

/** The benchmarks `names` select: exact names, or a `group` for every `group:…`; all but the onlyWhenNamed ones when empty. */
export function selectBenchmarks(all: readonly Benchmark[], names: readonly string[]): Benchmark[] {
  if (names.length === 0) return all.filter((b) => b.onlyWhenNamed !== true);
  const unknown = names.filter((n) => !all.some((b) => b.name === n || b.name.startsWith(`${n}:`)));
  if (unknown.length > 0) throw new Error(`selecting benchmarks: unknown ${unknown.join(', ')} (known: ${all.map((b) => b.name).join(', ')})`);
  return all.filter((b) => names.some((n) => b.name === n || b.name.startsWith(`${n}:`)));
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--list')) {
    for (const b of BENCHMARKS) console.log(`${b.name.padEnd(22)} ${b.description}${b.onlyWhenNamed === true ? ' (only when named)' : ''}`);
    return 0;
  }
  let selected: Benchmark[];
  try {
    // --flags (peers' --quick, --soak-minutes=N) are read by the benchmarks themselves.
    selected = selectBenchmarks(BENCHMARKS, argv.filter((a) => !a.startsWith('--')));
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const results: BenchResult[] = [];
  const failures: BenchFailure[] = [];
  const started = new Date();
  for (const b of selected) {
    process.stderr.write(`bench: ${b.name}: ${b.description}\n`);
    try {
      const r = await b.run();
      results.push(r);
      process.stderr.write(`bench: ${b.name}: ratio ${r.ratio.toFixed(3)}\n`);
    } catch (err) {
      failures.push({ name: b.name, error: (err as Error).message });
      process.stderr.write(`bench: ${b.name}: failed: ${(err as Error).message}\n`);
    }
  }
  console.log(formatResultsTable(results, failures));
  const dir = join(packageRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  const host = { kernel: release(), arch: arch(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version };
  writeFileSync(file, `${JSON.stringify({ startedAt: started.toISOString(), host, results, failures }, null, 2)}\n`);
  console.log(`\nresults: ${file}`);
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
