/**
 * Benchmark (issues 4 and 13): time to build the unwind tables of libc,
 * nginx, node and libLLVM, the fast compiler (eh-frame-index.ts +
 * unwind-table-compiler.ts) against the reference build it replaced
 * (parseEhFrame + buildUnwindTable + encodeUnwindTable, still the
 * specification), in the same run, interleaved, on the same bytes; the
 * tables are checked byte-identical. Measured twice: warm (after one
 * build in this process, median of runs) and cold (the first build in a
 * fresh process, as a new table worker does it). Run with the others
 * through `node dist/bench/run.js unwind-tables`, or alone with
 * `node dist/bench/unwind-tables.js`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ElfFile } from '../src/elf/elf-file.js';
import { readEhFrame } from '../src/elf/eh-frame-section.js';
import { buildEncodedTable, loadFileUnwindTable } from '../src/unwind/file-unwind-table.js';
import { openTableDiskCache } from '../src/unwind/table-disk-cache.js';
import { buildUnwindTable } from '../src/unwind/unwind-table.js';
import { encodeUnwindTable } from '../src/unwind/unwind-table-codec.js';
import { benchResult, benchRuns, isBenchScript, measureInterleaved, median, type Benchmark, type BenchResult } from './harness.js';

/** The files benchmarked: a shared library, an executable, and the two largest tables issue 13 names. */
export const UNWIND_BENCH_FILES = [
  '/lib/x86_64-linux-gnu/libc.so.6',
  '/usr/sbin/nginx',
  '/usr/bin/node',
  '/usr/lib/x86_64-linux-gnu/libLLVM-14.so.1',
] as const;

type Path = 'reference' | 'fast';

/** One build of `path`'s table by `how`: its bytes. */
function buildOnce(path: string, how: Path): Buffer {
  const elf = ElfFile.open(path);
  try {
    if (how === 'fast') return buildEncodedTable(elf)?.table ?? Buffer.alloc(0);
    const eh = readEhFrame(elf);
    return eh === undefined ? Buffer.alloc(0) : encodeUnwindTable(buildUnwindTable(eh).rows);
  } finally {
    elf.close();
  }
}

/** CPU milliseconds (user + system) of one call: other jobs on a shared machine move it less than wall time. */
function cpuMs(fn: () => void): number {
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
}

/** The compiled dist/ directory, where a fresh process can import the builders from. */
function distRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  // dist/bench/ when run compiled; bench/ under vite-node
  return existsSync(join(here, '..', 'src', 'unwind', 'file-unwind-table.js')) ? join(here, '..') : join(here, '..', 'dist');
}

/** CPU milliseconds of the first build by `how` in a fresh node process (modules loaded first, not counted). */
function coldBuildMs(path: string, how: Path): number {
  const root = distRoot();
  const script = `
    const { ElfFile } = await import(${JSON.stringify(join(root, 'src/elf/elf-file.js'))});
    const { readEhFrame } = await import(${JSON.stringify(join(root, 'src/elf/eh-frame-section.js'))});
    const { buildEncodedTable } = await import(${JSON.stringify(join(root, 'src/unwind/file-unwind-table.js'))});
    const { buildUnwindTable } = await import(${JSON.stringify(join(root, 'src/unwind/unwind-table.js'))});
    const { encodeUnwindTable } = await import(${JSON.stringify(join(root, 'src/unwind/unwind-table-codec.js'))});
    const t = process.cpuUsage();
    const elf = ElfFile.open(${JSON.stringify(path)});
    if (${JSON.stringify(how)} === 'fast') buildEncodedTable(elf);
    else encodeUnwindTable(buildUnwindTable(readEhFrame(elf)).rows);
    elf.close();
    const d = process.cpuUsage(t);
    console.log((d.user + d.system) / 1000);`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim());
}

/** One file's figures: CPU ms medians of the reference and the fast build, warm and cold. */
export interface UnwindTableBench {
  readonly path: string;
  readonly rows: number;
  readonly identical: boolean;
  readonly warm: { readonly reference: number[]; readonly fast: number[] };
  readonly cold: { readonly reference: number[]; readonly fast: number[] };
  /** loadFileUnwindTable from a warm disk cache (open the ELF, read and check the cached file). */
  readonly cacheHit: number[];
}

/** CPU ms of `runs` loads of `path` whose table is in a fresh disk cache already. */
function cacheHitMs(path: string, runs: number): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'meshprof-bench-cache-'));
  try {
    const cache = openTableDiskCache(dir, 2 ** 30)!;
    loadFileUnwindTable(path, cache);
    return Array.from({ length: runs }, () => cpuMs(() => {
      if (loadFileUnwindTable(path, cache).fromCache !== true) throw new Error(`benchmarking ${path}: cache miss`);
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Measures one file: `runs` interleaved warm builds each way, and `runs` cold ones. */
export async function benchUnwindTable(path: string, runs = 5): Promise<UnwindTableBench> {
  const reference = buildOnce(path, 'reference');
  const fast = buildOnce(path, 'fast');
  const warm = await measureInterleaved(runs, () => cpuMs(() => buildOnce(path, 'reference')), () => cpuMs(() => buildOnce(path, 'fast')));
  const cold = await measureInterleaved(runs, () => coldBuildMs(path, 'reference'), () => coldBuildMs(path, 'fast'));
  return {
    path,
    rows: fast.length / 16,
    identical: fast.equals(reference),
    warm: { reference: warm.baseline, fast: warm.measured },
    cold: { reference: cold.baseline, fast: cold.measured },
    cacheHit: cacheHitMs(path, runs),
  };
}

const round = (v: number): number => Number(v.toFixed(1));

/** A Benchmark named `unwind-tables:<file name>` for one file. */
export function unwindTableBenchmark(path: string): Benchmark {
  const name = `unwind-tables:${basename(path).replace(/\.so.*$/, '')}`;
  return {
    name,
    description: `${path}: the fast table compiler vs the reference build, warm and in a fresh process`,
    async run(): Promise<BenchResult> {
      if (!existsSync(path)) throw new Error(`benchmarking ${path}: file missing (setup.sh --test installs nginx)`);
      const b = await benchUnwindTable(path, benchRuns(5));
      if (!b.identical) throw new Error(`benchmarking ${path}: the fast table differs from the reference`);
      const coldRef = median(b.cold.reference);
      const coldFast = median(b.cold.fast);
      return benchResult({
        name,
        unit: 'cpu ms',
        baselineLabel: 'reference build (parseEhFrame + buildUnwindTable + encode), warm',
        measuredLabel: 'fast compiler (indexEhFrame + compileUnwindTable), warm',
        samples: { baseline: b.warm.reference, measured: b.warm.fast },
        metrics: {
          rows: b.rows,
          warmSpeedup: round(median(b.warm.reference) / median(b.warm.fast)),
          coldReferenceMs: round(coldRef),
          coldFastMs: round(coldFast),
          coldSpeedup: round(coldRef / coldFast),
          cacheHitMs: round(median(b.cacheHit)),
        },
        notes: ['tables byte-identical; cold = first build in a fresh process (modules loaded, not counted)'],
      });
    },
  };
}

/** One benchmark per file of UNWIND_BENCH_FILES. */
export const unwindTables: readonly Benchmark[] = UNWIND_BENCH_FILES.map(unwindTableBenchmark);

async function main(): Promise<void> {
  const runs = benchRuns(5);
  console.log(`unwind tables, CPU ms, median of ${runs}; reference = the build before issue 13, fast = indexEhFrame + compileUnwindTable`);
  console.log('file                 rows     warm ref  warm fast  speedup   cold ref  cold fast  speedup  cache hit  identical');
  for (const path of UNWIND_BENCH_FILES) {
    if (!existsSync(path)) continue;
    const b = await benchUnwindTable(path, runs);
    const [wr, wf, cr, cf] = [b.warm.reference, b.warm.fast, b.cold.reference, b.cold.fast].map(median) as [number, number, number, number];
    console.log(
      `${basename(path).padEnd(18)} ${String(b.rows).padStart(7)} ${wr.toFixed(0).padStart(10)} ${wf.toFixed(0).padStart(10)} ${(wr / wf).toFixed(1).padStart(7)}x` +
      ` ${cr.toFixed(0).padStart(10)} ${cf.toFixed(0).padStart(10)} ${(cr / cf).toFixed(1).padStart(7)}x ${median(b.cacheHit).toFixed(1).padStart(10)}  ${b.identical}`,
    );
  }
}

// Run as a script: `node dist/bench/unwind-tables.js`, or `npx vite-node
// bench/unwind-tables.ts` (run.ts sets BENCH_RUNNER first to keep it out).
if (isBenchScript(import.meta.url)) void main();
