/**
 * The benchmark contract: every benchmark measures a baseline and the thing
 * under test in the same invocation and reports their ratio, so figures from
 * a busy laptop and a quiet CI box compare. Absolute times are kept in the
 * results only as context; nothing anywhere asserts on them.
 */
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** One benchmark: a name to select it by, and a run that returns its figures. */
export interface Benchmark {
  /** Selectable on the command line; `group:item` names are selected by `group` too. */
  readonly name: string;
  /** One line: what is compared with what. */
  readonly description: string;
  /** Left out of a run of everything: it takes minutes (peers, soaks); run it by its name or group. */
  readonly onlyWhenNamed?: boolean;
  run(): Promise<BenchResult>;
}

/** Extra figures a benchmark reports besides the two medians (counts, bytes, ...). */
export type BenchMetrics = Record<string, number | string>;

/** What one benchmark measured; `baseline` and `measured` are medians in `unit`. */
export interface BenchResult {
  readonly name: string;
  /** Unit of `baseline` and `measured`, e.g. `ms`, `usecs/op`, `ns/lookup`. */
  readonly unit: string;
  /** What the baseline is, e.g. `no profiler`. */
  readonly baselineLabel: string;
  /** What the measured run is, e.g. `off-CPU sampler, all processes`. */
  readonly measuredLabel: string;
  readonly baseline: number;
  readonly measured: number;
  /** measured / baseline: a slowdown or cost factor, 1 meaning no difference. */
  readonly ratio: number;
  /** Every repetition, in run order, so the spread is visible in the JSON. */
  readonly samples: { readonly baseline: readonly number[]; readonly measured: readonly number[] };
  readonly metrics: BenchMetrics;
  readonly notes: readonly string[];
}

/** The fields a benchmark supplies; medians and the ratio are computed from `samples`. */
export interface BenchResultInput {
  readonly name: string;
  readonly unit: string;
  readonly baselineLabel: string;
  readonly measuredLabel: string;
  readonly samples: { readonly baseline: readonly number[]; readonly measured: readonly number[] };
  readonly metrics?: BenchMetrics;
  readonly notes?: readonly string[];
}

/** Median of a non-empty list; the mean of the middle two for even lengths. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('computing median: no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Builds a result from repeated samples: medians of each side and their ratio. */
export function benchResult(input: BenchResultInput): BenchResult {
  const baseline = median(input.samples.baseline);
  const measured = median(input.samples.measured);
  return {
    name: input.name,
    unit: input.unit,
    baselineLabel: input.baselineLabel,
    measuredLabel: input.measuredLabel,
    baseline,
    measured,
    ratio: baseline > 0 ? measured / baseline : Number.NaN,
    samples: input.samples,
    metrics: input.metrics ?? {},
    notes: input.notes ?? [],
  };
}

/**
 * Runs baseline and measured `runs` times each, alternating, so load from
 * other jobs on a shared machine lands on both sides rather than on one.
 */
export async function measureInterleaved(
  runs: number,
  baseline: () => Promise<number> | number,
  measured: () => Promise<number> | number,
): Promise<{ baseline: number[]; measured: number[] }> {
  const out = { baseline: [] as number[], measured: [] as number[] };
  for (let i = 0; i < runs; i++) {
    // Swapping the order each round keeps a warming cache from favouring one side.
    if (i % 2 === 0) {
      out.baseline.push(await baseline());
      out.measured.push(await measured());
    } else {
      out.measured.push(await measured());
      out.baseline.push(await baseline());
    }
  }
  return out;
}

/** Milliseconds `fn` takes once. */
export function timeMs(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

/** How many repetitions each benchmark makes; BENCH_RUNS overrides (minimum 1). */
export function benchRuns(fallback: number): number {
  const v = Number(process.env.BENCH_RUNS ?? '');
  return Number.isInteger(v) && v >= 1 ? v : fallback;
}

/**
 * Whether the module at `moduleUrl` runs as a script (`npx vite-node
 * bench/x.ts`, which hides the script path from argv, or `node dist/bench/x.js`)
 * rather than under run.ts, which sets BENCH_RUNNER before importing it.
 */
export function isBenchScript(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return process.env.BENCH_RUNNER === undefined && entry !== undefined &&
    (resolve(entry) === fileURLToPath(moduleUrl) || entry.endsWith('vite-node'));
}

/** Runs benchmarks as a script, one after another: each result as JSON on stdout, exit code 1 on a failure. */
export function runBenchScript(...benchmarks: Benchmark[]): void {
  void (async () => {
    for (const b of benchmarks) {
      try {
        console.log(JSON.stringify(await b.run(), null, 2));
      } catch (err) {
        console.error(err);
        process.exitCode = 1;
      }
    }
  })();
}
