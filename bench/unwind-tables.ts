/**
 * Benchmark: time to build the unwind tables of libc and nginx, and the
 * table sizes. Times are reported as a ratio to a baseline measured in the
 * same run (reading the file's .eh_frame bytes), so numbers from different
 * machines compare. Run: `npx vite-node bench/unwind-tables.ts`.
 */
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ElfFile } from '../src/elf/elf-file.js';
import { readEhFrame } from '../src/elf/eh-frame-section.js';
import { buildUnwindTable } from '../src/unwind/unwind-table.js';
import { encodeUnwindTable } from '../src/unwind/unwind-table-codec.js';

/** One file's figures; times are medians in milliseconds. */
export interface UnwindTableBench {
  readonly path: string;
  readonly ehFrameBytes: number;
  readonly tableBytes: number;
  readonly rows: number;
  readonly baselineMs: number;
  readonly parseMs: number;
  readonly buildMs: number;
  readonly totalRatio: number;
}

function median(runs: number, fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Measures one file `runs` times (after one warm-up). */
export function benchUnwindTable(path: string, runs = 5): UnwindTableBench {
  const elf = ElfFile.open(path);
  try {
    const sec = elf.section('.eh_frame');
    if (sec === undefined) throw new Error(`benchmarking ${path}: no .eh_frame`);
    let rows = 0;
    let tableBytes = 0;
    const full = (): void => {
      const built = buildUnwindTable(readEhFrame(elf)!);
      rows = built.rows.length;
      tableBytes = encodeUnwindTable(built.rows).length;
    };
    full();
    const baselineMs = median(runs, () => sec.bytes());
    const parseMs = median(runs, () => readEhFrame(elf));
    const eh = readEhFrame(elf)!;
    const buildMs = median(runs, () => encodeUnwindTable(buildUnwindTable(eh).rows));
    const totalMs = median(runs, full);
    return { path, ehFrameBytes: sec.size, tableBytes, rows, baselineMs, parseMs, buildMs, totalRatio: totalMs / baselineMs };
  } finally {
    elf.close();
  }
}

function main(): void {
  for (const path of ['/lib/x86_64-linux-gnu/libc.so.6', '/usr/sbin/nginx']) {
    const b = benchUnwindTable(path);
    console.log(
      `${path}: .eh_frame ${b.ehFrameBytes} B -> table ${b.tableBytes} B (${b.rows} rows, ${(b.tableBytes / b.ehFrameBytes).toFixed(2)}x); ` +
      `read ${b.baselineMs.toFixed(2)} ms, parse ${b.parseMs.toFixed(1)} ms, build+encode ${b.buildMs.toFixed(1)} ms; ` +
      `total ${b.totalRatio.toFixed(0)}x the read baseline`,
    );
  }
}

// Run as a script: `node dist/bench/unwind-tables.js`, or `npx vite-node
// bench/unwind-tables.ts` (vite-node hides the script path from argv).
const entry = process.argv[1];
if (entry !== undefined && (resolve(entry) === fileURLToPath(import.meta.url) || entry.endsWith('vite-node'))) main();
