/**
 * Benchmark (issue 15): what the memory sampler costs a malloc-heavy
 * program. The workload mallocs and frees blocks of 16 B to 4 KiB in a
 * tight loop (a small live set, so glibc serves them from its caches in
 * tens of nanoseconds: the worst case for probes that trap on every call),
 * timed by the child around its loop. Baseline: no profiler; measured: the
 * memory sampler probing the workload's libc, at the default rate (512 KiB)
 * and at rate 1 (every allocation walked and counted). The figure is the
 * loop's CPU time: uprobe traps run on the task's clock.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemorySampler, type MemoryProcessView } from '../src/samplers/memory-sampler.js';
import { readProcMappings } from '../src/process/proc-reader.js';
import { resolveMappingFile } from '../src/process/mapping-file.js';
import { compileC, type CProgram } from './c-program.js';
import { benchResult, benchRuns, measureInterleaved, median, type Benchmark, type BenchResult } from './harness.js';
import { addDrops, formatDropsPerRun } from './with-sampler.js';
import { newProgStats, progIds, runStatsMetrics, withBpfStats, type BpfRunStats } from './bpf-run-stats.js';

const PROGRAMS = ['malloc_enter', 'alloc_return', 'free_enter'] as const;

const ITERATIONS = 200_000;

/* Waits for a byte on stdin (so probes can be attached first), then
 * argv[1] malloc/free pairs over a live set of 64 slots; prints
 * "WALL_MS CPU_MS" of the loop alone. */
const SOURCE = `#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void *slots[64];
static volatile unsigned long sink;

static double ms(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

__attribute__((noinline)) static void churn(unsigned long n) {
  unsigned long x = 1;
  for (unsigned long i = 0; i < n; i++) {
    x = x * 6364136223846793005UL + 1442695040888963407UL;
    unsigned slot = (x >> 33) & 63;
    free(slots[slot]);
    slots[slot] = malloc(16 + ((x >> 40) & 4095));
    sink += (unsigned long)slots[slot];
  }
}

int main(int argc, char **argv) {
  unsigned long n = argc > 1 ? strtoul(argv[1], 0, 10) : 1000000UL;
  char c;
  if (read(0, &c, 1) != 1) return 1;
  double wall = ms(CLOCK_MONOTONIC), cpu = ms(CLOCK_PROCESS_CPUTIME_ID);
  churn(n);
  printf("%.3f %.3f\\n", ms(CLOCK_MONOTONIC) - wall, ms(CLOCK_PROCESS_CPUTIME_ID) - cpu);
  return 0;
}
`;

/* Waits for a byte on stdin, then argv[1] rounds of json.dumps + json.loads
 * of a 200-item document; prints "WALL_MS CPU_MS" of the loop alone. */
const PYTHON_SOURCE = `import json, sys, time
doc = {"items": [{"id": i, "name": "item-%d" % i, "tags": ["a", "b", "c"], "price": i * 1.5, "text": "x" * (i % 300)} for i in range(200)]}
n = int(sys.argv[1])
sys.stdin.read(1)
wall, cpu = time.monotonic(), time.process_time()
for _ in range(n):
    json.loads(json.dumps(doc))
print("%.3f %.3f" % ((time.monotonic() - wall) * 1e3, (time.process_time() - cpu) * 1e3))
`;

/** A program run once per measurement: it waits for a byte on stdin, runs its loop and prints "WALL_MS CPU_MS". */
interface Workload {
  readonly command: string;
  readonly args: readonly string[];
  /** What the baseline side is, for the report. */
  readonly label: string;
  /** Bytes it allocates per run by its own count, when it knows (the check on the sampler's estimate). */
  readonly expectedAllocatedMiB?: number;
  dispose(): void;
}

interface LoopTime {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** The executable file mappings of a process, read straight from /proc (no process table here). */
const procView: MemoryProcessView = {
  mappedFiles(pid) {
    const files = new Map<string, { path: string; key: string }>();
    for (const m of readProcMappings('/proc', pid) ?? []) {
      const key = `${m.devMajor}:${m.devMinor}:${m.inode}`;
      const path = m.executable && m.kind === 'file' ? resolveMappingFile('/proc', pid, m) : undefined;
      if (path !== undefined && !files.has(key)) files.set(key, { path, key });
    }
    return [...files.values()];
  },
  pids: () => [],
  alive: (pid) => readProcMappings('/proc', pid) !== undefined,
};

/** The C malloc/free loop. */
function cLoop(): Workload {
  const program: CProgram = compileC('memory-work', SOURCE, ['-O2', '-fno-omit-frame-pointer']);
  return {
    command: program.path, args: [String(ITERATIONS)], label: `${ITERATIONS} malloc/free pairs of 16 B-4 KiB`,
    expectedAllocatedMiB: Number(((ITERATIONS * (16 + 2047.5)) / 2 ** 20).toFixed(1)),
    dispose: () => program.dispose(),
  };
}

const PYTHON_ROUNDS = 400;

/** python3.11's JSON loop. */
function pythonLoop(): Workload {
  const dir = mkdtempSync(join(tmpdir(), 'meshprof-bench-python-'));
  const script = join(dir, 'json_loop.py');
  writeFileSync(script, PYTHON_SOURCE);
  return {
    command: 'python3.11', args: [script, String(PYTHON_ROUNDS)], label: `python3.11: ${PYTHON_ROUNDS} rounds of json.dumps + json.loads (200 items)`,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs the workload once; `attach(pid)` runs after it started and before it is told to go, `detach` after it ended. */
async function loop(work: Workload, attach?: (pid: number) => void, detach?: () => void): Promise<LoopTime> {
  const child = spawn(work.command, [...work.args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  await new Promise<void>((resolve, reject) => { child.once('spawn', resolve); child.once('error', reject); });
  try {
    // the loader has mapped libc by the time the child blocks on stdin
    for (let i = 0; i < 100 && !procView.mappedFiles(child.pid!).some((f) => f.path.includes('libc')); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    attach?.(child.pid!);
    child.stdin.end('g');
    const code = await exited;
    if (code !== 0) throw new Error(`running the malloc workload: exit ${code}`);
  } finally {
    detach?.();
  }
  const [wall, cpu] = out.trim().split(/\s+/).map(Number);
  if (wall === undefined || cpu === undefined || !Number.isFinite(wall) || !Number.isFinite(cpu)) {
    throw new Error(`reading workload output: ${JSON.stringify(out)}`);
  }
  return { wallMs: wall, cpuMs: cpu };
}

function memoryOverheadBench(name: string, rateBytes: number, label: string, workload: () => Workload = cLoop): Benchmark {
  const run = async (): Promise<BenchResult> => {
    const program = workload();
    try {
      const wall = { baseline: [] as number[], measured: [] as number[] };
      let allocations = 0;
      let allocBytes = 0;
      const drops: Record<string, number> = {};
      const runStats: (BpfRunStats | undefined)[] = [];
      const plain = async (): Promise<number> => {
        const t = await loop(program);
        wall.baseline.push(t.wallMs);
        return t.cpuMs;
      };
      const profiled = async (): Promise<number> => {
        let sampler: ReturnType<typeof createMemorySampler> | undefined;
        const before = progIds(...PROGRAMS);
        const t = await loop(program, (pid) => {
          sampler = createMemorySampler({ processes: procView, targets: [pid], rateBytes });
          sampler.start();
        }, () => {
          if (sampler === undefined) return;
          const batch = sampler.drain();
          for (const s of batch.samples) {
            allocations += s.values[0] ?? 0;
            allocBytes += s.values[1] ?? 0;
          }
          addDrops(drops, batch.drops);
          // the three programs' runs and time together: every probe hit of the loop
          const each = PROGRAMS.map((p) => newProgStats(p, before));
          runStats.push(each.every((x) => x !== undefined)
            ? { runs: each.reduce((a, x) => a + x!.runs, 0), runTimeNs: each.reduce((a, x) => a + x!.runTimeNs, 0) }
            : undefined);
          sampler.stop();
        });
        wall.measured.push(t.wallMs);
        return t.cpuMs;
      };
      const runs = benchRuns(5);
      const samples = await withBpfStats(() => measureInterleaved(runs, plain, profiled));
      return benchResult({
        name,
        unit: 'ms',
        baselineLabel: `${program.label}, no profiler`,
        measuredLabel: `same, memory sampler ${label}`,
        samples,
        metrics: {
          rateBytes,
          ...(program.expectedAllocatedMiB === undefined ? {} : {
            iterations: ITERATIONS,
            nsPerPairBaseline: Number(((median(samples.baseline) * 1e6) / ITERATIONS).toFixed(1)),
            nsPerPairMeasured: Number(((median(samples.measured) * 1e6) / ITERATIONS).toFixed(1)),
          }),
          wallRatio: Number((median(wall.measured) / median(wall.baseline)).toFixed(3)),
          // a check the sampler watched the loop: the estimate of what it allocated
          allocationsPerRun: Math.round(allocations / runs),
          allocatedMiBPerRun: Number((allocBytes / runs / 2 ** 20).toFixed(1)),
          ...(program.expectedAllocatedMiB === undefined ? {} : { expectedAllocatedMiB: program.expectedAllocatedMiB }),
          dropsPerRun: formatDropsPerRun(drops, runs),
          ...runStatsMetrics(runStats, runs),
        },
        notes: [
          'times are the loop\'s CPU time (CLOCK_PROCESS_CPUTIME_ID): uprobe traps run on the task\'s clock; wallRatio also counts waiting behind other jobs',
          'every malloc and free traps into the kernel whatever the rate (entry probe, and a return probe for malloc); the rate only decides how many walk their stack',
          'free\'s probe sits past its NULL test, on a push the kernel emulates: at its entry (test %rdi) every free was also single-stepped, a second trap',
          'bpfMsPerWorkloadRun is the programs\' own time (kernel.bpf_stats_enabled); the rest of the slowdown is the uprobe traps themselves',
        ],
      });
    } finally {
      program.dispose();
    }
  };
  return { name, description: `${workload === cLoop ? `${ITERATIONS} malloc/free pairs` : 'python3.11 JSON loop'}: CPU ms with vs without the memory sampler ${label}`, run };
}

/** The memory overhead benchmarks: default rate, and every allocation. */
export const memoryOverhead: readonly Benchmark[] = [
  memoryOverheadBench('memory-overhead:default', 512 * 1024, 'at 512 KiB'),
  memoryOverheadBench('memory-overhead:every', 1, 'at rate 1 (every allocation)'),
  memoryOverheadBench('memory-overhead:python', 512 * 1024, 'at 512 KiB', pythonLoop),
];
