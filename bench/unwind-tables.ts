/**
 * Benchmark (issue 4): time to build the unwind tables of libc and nginx,
 * and the table sizes. Times are reported as a ratio to a baseline measured
 * in the same run (opening the file and reading its .eh_frame bytes), so
 * numbers from different machines compare. Run with the others through
 * `node dist/bench/run.js unwind-tables`, or alone with
 * `npx vite-node bench/unwind-tables.ts`.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { ElfFile } from '../src/elf/elf-file.js';
import { readEhFrame } from '../src/elf/eh-frame-section.js';
import { loadFileUnwindTable } from '../src/unwind/file-unwind-table.js';
import { buildUnwindTable } from '../src/unwind/unwind-table.js';
import { encodeUnwindTable } from '../src/unwind/unwind-table-codec.js';
import { benchResult, benchRuns, median, timeMs, type Benchmark, type BenchResult, isBenchScript } from './harness.js';

/** The files benchmarked: a large shared library and a large executable. */
export const UNWIND_BENCH_FILES = ['/lib/x86_64-linux-gnu/libc.so.6', '/usr/sbin/nginx'] as const;

/** One file's figures; times are medians in milliseconds. */
export interface UnwindTableBench {
  readonly path: string;
  readonly ehFrameBytes: number;
  readonly tableBytes: number;
  readonly rows: number;
  /** Open the file and read .eh_frame. */
  readonly baselineMs: number;
  /** Parse CIEs and FDEs. */
  readonly parseMs: number;
  /** Build and encode the rows from parsed .eh_frame. */
  readonly buildMs: number;
  /** loadFileUnwindTable: open, parse, build, encode. */
  readonly totalMs: number;
  readonly totalRatio: number;
  readonly samples: { readonly baseline: readonly number[]; readonly measured: readonly number[] };
}

function repeat(runs: number, fn: () => void): number[] {
  return Array.from({ length: runs }, () => timeMs(fn));
}

/** Measures one file `runs` times (after one warm-up). */
export function benchUnwindTable(path: string, runs = 5): UnwindTableBench {
  const readBytes = (): void => {
    const elf = ElfFile.open(path);
    try {
      const sec = elf.section('.eh_frame');
      if (sec === undefined) throw new Error(`benchmarking ${path}: no .eh_frame`);
      sec.bytes();
    } finally {
      elf.close();
    }
  };
  const warm = loadFileUnwindTable(path);
  readBytes();
  const baseline = repeat(runs, readBytes);
  const measured = repeat(runs, () => loadFileUnwindTable(path));
  const elf = ElfFile.open(path);
  try {
    const parseMs = median(repeat(runs, () => readEhFrame(elf)));
    const eh = readEhFrame(elf)!;
    const buildMs = median(repeat(runs, () => encodeUnwindTable(buildUnwindTable(eh).rows)));
    const baselineMs = median(baseline);
    const totalMs = median(measured);
    return {
      path,
      ehFrameBytes: elf.section('.eh_frame')?.size ?? 0,
      tableBytes: warm.table.length,
      rows: warm.stats?.rows ?? 0,
      baselineMs, parseMs, buildMs, totalMs,
      totalRatio: totalMs / baselineMs,
      samples: { baseline, measured },
    };
  } finally {
    elf.close();
  }
}

/** A Benchmark named `unwind-tables:<file name>` for one file. */
export function unwindTableBenchmark(path: string): Benchmark {
  const name = `unwind-tables:${basename(path).replace(/\.so.*$/, '')}`;
  return {
    name,
    description: `${path}: loadFileUnwindTable vs opening the file and reading .eh_frame`,
    async run(): Promise<BenchResult> {
      if (!existsSync(path)) throw new Error(`benchmarking ${path}: file missing (setup.sh --test installs nginx)`);
      const b = benchUnwindTable(path, benchRuns(5));
      return benchResult({
        name,
        unit: 'ms',
        baselineLabel: 'open + read .eh_frame bytes',
        measuredLabel: 'loadFileUnwindTable (parse, build, encode)',
        samples: b.samples,
        metrics: {
          ehFrameBytes: b.ehFrameBytes,
          tableBytes: b.tableBytes,
          tableToEhFrame: Number((b.tableBytes / b.ehFrameBytes).toFixed(2)),
          rows: b.rows,
          parseMs: Number(b.parseMs.toFixed(1)),
          buildEncodeMs: Number(b.buildMs.toFixed(1)),
        },
        notes: ['ratio = full table build / reading the input bytes; the build runs once per file, shared by every process mapping it'],
      });
    },
  };
}

/** One benchmark per file of UNWIND_BENCH_FILES. */
export const unwindTables: readonly Benchmark[] = UNWIND_BENCH_FILES.map(unwindTableBenchmark);

function main(): void {
  for (const path of UNWIND_BENCH_FILES) {
    const b = benchUnwindTable(path);
    console.log(
      `${path}: .eh_frame ${b.ehFrameBytes} B -> table ${b.tableBytes} B (${b.rows} rows, ${(b.tableBytes / b.ehFrameBytes).toFixed(2)}x); ` +
      `read ${b.baselineMs.toFixed(2)} ms, parse ${b.parseMs.toFixed(1)} ms, build+encode ${b.buildMs.toFixed(1)} ms; ` +
      `total ${b.totalRatio.toFixed(0)}x the read baseline`,
    );
  }
}

// Run as a script: `node dist/bench/unwind-tables.js`, or `npx vite-node
// bench/unwind-tables.ts` (vite-node hides the script path from argv, so it
// is recognised by its own name; run.ts sets BENCH_RUNNER first to keep it out).
if (isBenchScript(import.meta.url)) main();
