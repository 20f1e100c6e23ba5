/**
 * The .eh_frame unwinder as an agent runs it: one set of walker maps and
 * one table manager shared by every sampler (on- and off-CPU), fed by the
 * process table's events. Named targets get their tables as soon as they
 * are seen; with 'all', a process gets them once it shows up in a sample,
 * so a host's idle daemons cost nothing: the BPF programs put the tgid of
 * a sampled process without tables in the unwind_asks ring buffer, read
 * here as soon as it has records (a watch on the event loop, no timer), so a forked worker or a new program is walked with
 * tables within a fraction of a second. Until then it is walked by frame
 * pointers (user_stack_no_process_tables). Exits release them.
 */
import { existsSync } from 'node:fs';
import { busyProcesses } from '../process/busy-processes.js';
import { resolveMappingFile } from '../process/mapping-file.js';
import type { ProcMapping } from '../process/proc-maps.js';
import type { ProcessInfo, ProcessTable } from '../process/process-table.js';

/**
 * What the unwinder needs of the process table: its events (a process
 * added, its mappings changed, it exited) and lookups. The table publishes;
 * the unwinder subscribes, and the table never knows about unwinding.
 */
export type UnwinderProcesses = Pick<ProcessTable,
  'procRoot' | 'get' | 'tryObserve' | 'findMapping' | 'onProcessAdded' | 'onMappingsChanged' | 'onProcessExited'>;
import type { DropCounts, RawStackBatch } from '../stacks/raw-stacks.js';
import { withDrain, type StackSampler } from '../samplers/stack-sampler.js';
import { openRingBuffer, requireStackWalker, UnsupportedFeatureError, watchReadable, type FdWatch } from '../kernel/index.js';
import { createUnwindMapSet, type UnwindMapSet, type UnwindMapSizes } from './unwind-maps.js';
import { createUnwindTableManager, type UnwindManagerStats, type UnwindTableManager } from './unwind-table-manager.js';
import type { UnwindTableBuilder } from './table-builder.js';
import { createPythonProcesses, type PythonProcesses } from './python-processes.js';
import { type Logger } from '../log/logger.js';

/** Options for createProcessUnwinder. */
export interface ProcessUnwinderOptions {
  readonly processes: UnwinderProcesses;
  /** Processes named by the user: their tables are built before any sample asks. */
  readonly targets: readonly number[];
  readonly mapSizes?: UnwindMapSizes;
  /** Default: a worker thread. */
  readonly builder?: UnwindTableBuilder;
  /** The agent's own pid, never walked; default process.pid. */
  readonly selfPid?: number;
  readonly log?: Logger;
}

/** See the module comment. */
export interface ProcessUnwinder {
  /** The maps every sampler shares (OnCpuSamplerOptions.unwindMaps). */
  readonly maps: UnwindMapSet;
  readonly tables: UnwindTableManager<ProcMapping>;
  /** The processes whose Python frames the kernel walks (python_procs), found with their tables. */
  readonly python: PythonProcesses;
  /** Adds a named target (a process the user asked for by pid). */
  follow(pid: number): void;
  /** A process showed up in a sample: build its tables if that has not happened yet. */
  sampled(pid: number): void;
  /**
   * With every process sampled: asks for the tables of the processes busy on
   * the CPU now, which the first samples will come from. Runs once per
   * unwinder, however many samplers share it.
   */
  followBusy(): Promise<void>;
  /** The table manager's losses since the last call, as drop reasons (counted once, whichever sampler asks). */
  takeDrops(): DropCounts;
  /** Resolves once the tables asked for so far are loaded. */
  settled(): Promise<void>;
  close(): void;
}

/**
 * How long followBusy() watches CPU use to find the busy processes. With the
 * programs verified in ~50 ms this window is `record`'s start-up; 100 ms is
 * 10 clock ticks of a busy process, enough to tell it from an idle one, and
 * one busy less than 10% of a CPU gets its tables at its first sample.
 */
const BUSY_WINDOW_MS = 100;

/**
 * How long an ask for a process the table does not know waits. Such a pid is
 * most often a program the watcher thread is about to report: read at its
 * exec, or, where the thread reads what this walker samples (unwind_notices),
 * on this very ask. Or it is the fork before that exec: read here at once, it
 * cost a /proc read and tables for the forking program, then tables again
 * for the exec'ed one (4 of 10 short-lived programs a second were asked for).
 * The report installs its tables as it arrives (an exec of a pid asked for is
 * reported too); after this long, a pid still unknown is read here.
 */
const UNKNOWN_ASK_DELAY_MS = 50;

/** How often the programs' asks for tables are read where the event loop cannot watch their ring buffer. */
const ASK_POLL_MS = 20;

const UNWIND_DROPS: readonly [keyof UnwindManagerStats, string][] = [
  ['filesUnreadable', 'unwind_files_unreadable'],
  ['tablesOutOfRoom', 'unwind_tables_out_of_room'],
  ['procsOutOfRoom', 'unwind_procs_out_of_room'],
  ['mappingsTruncated', 'unwind_mappings_truncated'],
];

/** Creates the walker maps (kernel memory: about 18 MiB by default) and the manager over them. */
export function createProcessUnwinder(opts: ProcessUnwinderOptions): ProcessUnwinder {
  const { processes } = opts;
  const selfPid = opts.selfPid ?? process.pid;
  const maps = createUnwindMapSet(opts.mapSizes);
  const log = opts.log;
  const tables = createUnwindTableManager<ProcMapping>({
    maps,
    // through the process's root (containers) or its map_files entry (deleted, replaced files)
    filePath: (pid, m) => {
      const path = resolveMappingFile(processes.procRoot, pid, m);
      if (path === undefined) throw new Error(`${m.path} of pid ${pid}: no readable path to the file`);
      return path;
    },
    ...(opts.builder ? { builder: opts.builder } : {}),
    ...(log ? { log } : {}),
  });
  const python = createPythonProcesses(maps.pythonProcs, processes.procRoot, log);
  const named = new Set(opts.targets);
  let before = tables.stats();
  let busy: Promise<void> | undefined;

  // Asks for pids the table did not know, answered UNKNOWN_ASK_DELAY_MS later (or as the pid arrives).
  let later: Set<number> | undefined;
  let laterTimer: NodeJS.Timeout | undefined;
  const install = (p: ProcessInfo): void => {
    if (p.exited || p.pid === selfPid) return;
    try {
      tables.setProcess(p);
    } catch (err) {
      log?.warn(`loading unwind tables of pid ${p.pid}: ${(err as Error).message}`);
    }
    python.setProcess(p);
  };
  const unsubscribe = [
    // A process asked for before the table knew it (its exec reported after the ask) gets its tables as it arrives.
    processes.onProcessAdded((p) => (named.has(p.pid) || later?.delete(p.pid) === true) && install(p)),
    processes.onMappingsChanged((p) => tables.has(p.pid) && install(p)),
    processes.onProcessExited((p) => {
      tables.removeProcess(p.pid);
      python.removeProcess(p.pid);
    }),
  ];

  // The programs' asks: processes sampled without tables since the last read. A lost ask is asked again about
  // a second later (bpf/unwinder.h), so the ring's lost records need no count here.
  let asks: ReturnType<typeof openRingBuffer>;
  try {
    asks = openRingBuffer(maps.asks);
  } catch (err) {
    for (const u of unsubscribe) u();
    tables.close();
    maps.close();
    throw err;
  }
  const answer = (): void => {
    let records: Buffer[];
    try {
      records = asks.poll(0);
    } catch (err) {
      log?.warn(`reading unwind table asks: ${(err as Error).message}`);
      return;
    }
    for (const r of records) {
      const pid = r.readUInt32LE(0);
      if (tables.has(pid)) continue;
      const p = processes.get(pid);
      if (p) install(p);
      else askLater(pid);
    }
  };
  const answerLater = (): void => {
    const pids = later;
    later = undefined;
    laterTimer = undefined;
    for (const pid of pids ?? []) {
      if (tables.has(pid)) continue;
      const known = processes.get(pid);
      // The table learns of exits from its scan: a known pid may be gone already.
      if (known !== undefined) {
        if (existsSync(`${processes.procRoot}/${pid}`)) install(known);
        continue;
      }
      const p = processes.tryObserve(pid);
      if (p) install(p);
    }
  };
  const askLater = (pid: number): void => {
    later ??= new Set();
    later.add(pid);
    if (laterTimer !== undefined) return;
    laterTimer = setTimeout(answerLater, UNKNOWN_ASK_DELAY_MS);
    laterTimer.unref();
  };
  // Read when the programs ask, not on a timer: an idle agent then never wakes for them.
  let asking: FdWatch;
  try {
    asking = watchReadable(asks.fd, answer);
  } catch (err) {
    log?.debug(`watching unwind table asks (${(err as Error).message}): reading them every ${ASK_POLL_MS} ms`);
    const timer = setInterval(answer, ASK_POLL_MS);
    timer.unref();
    asking = { close: () => clearInterval(timer) };
  }

  const unwinder: ProcessUnwinder = {
    maps,
    tables,
    python,
    follow(pid) {
      named.add(pid);
      const p = processes.get(pid);
      if (p) install(p);
    },
    sampled(pid) {
      if (tables.has(pid)) return;
      const p = processes.get(pid);
      if (p) install(p);
    },
    followBusy() {
      busy ??= busyProcesses(processes.procRoot, BUSY_WINDOW_MS).then((pids) => {
        for (const pid of pids) if (processes.tryObserve(pid)) unwinder.sampled(pid);
      });
      return busy;
    },
    takeDrops() {
      const after = tables.stats();
      const drops: DropCounts = {};
      for (const [stat, reason] of UNWIND_DROPS) {
        const delta = after[stat] - before[stat];
        if (delta > 0) drops[reason] = delta;
      }
      before = after;
      return drops;
    },
    settled: () => tables.settled(),
    close() {
      // the table outlives the unwinder (a collector falling back to frame pointers keeps it)
      for (const u of unsubscribe) u();
      asking.close();
      if (laterTimer !== undefined) clearTimeout(laterTimer);
      later = undefined;
      asks.close();
      tables.close();
      maps.close();
    },
  };
  for (const pid of opts.targets) unwinder.follow(pid);
  return unwinder;
}

/**
 * Starts the sampler `walking()` makes; where the kernel cannot run the
 * walker (UnsupportedFeatureError: no bpf_loop before linux 5.17), says so
 * and starts the frame-pointer sampler `framePointers()` makes instead. Any
 * other failure is thrown: it would not go away with frame pointers, or it
 * is a bug to see. Returns the one that runs, and whether it walks.
 * `requireWalker` (default requireStackWalker) is asked first.
 */
export function startWalkingOrFramePointers(
  walking: () => StackSampler,
  framePointers: () => StackSampler,
  warn?: (message: string) => void,
  requireWalker: () => void = requireStackWalker,
  /** What starting means: start() by default; load() to verify now and attach later. */
  begin: (s: StackSampler) => void = (s) => s.start(),
): { readonly sampler: StackSampler; readonly walks: boolean } {
  try {
    requireWalker();
    const s = walking();
    begin(s);
    return { sampler: s, walks: true };
  } catch (err) {
    if (!(err instanceof UnsupportedFeatureError)) throw err;
    warn?.(`the .eh_frame stack walker did not load (${err.message}): user stacks follow frame pointers only`);
  }
  const s = framePointers();
  begin(s);
  return { sampler: s, walks: false };
}

/**
 * Wraps a sampler that walks with `unwinder`'s maps: each drain adds the
 * table manager's losses to the batch's drops (unless told not to), asks for the tables of newly
 * sampled processes, and re-reads the mappings of a process whose leaf pc
 * lies outside them (dlopen, exec), so its tables follow.
 */
export function withProcessUnwinder(
  sampler: StackSampler, processes: Pick<ProcessTable, 'tryObserve' | 'findMapping'>, unwinder: ProcessUnwinder,
  /** False for samplers whose drops go nowhere (SkyWalking tasks): the agent's own collectors report them. */
  reportsTableDrops = true,
): StackSampler {
  return withDrain(sampler, (inner): RawStackBatch => {
    const batch = inner.drain();
    const seen = new Set<number>();
    const reread = new Set<number>();
    for (const s of batch.samples) {
      if (s.tgid === 0) continue;
      if (!seen.has(s.tgid)) {
        seen.add(s.tgid);
        // observe() is what the collector does next anyway; it only reads /proc once per process
        processes.tryObserve(s.tgid);
        unwinder.sampled(s.tgid);
      }
      // Every sample's leaf, not just the first one's: a library loaded by dlopen may
      // hold a small share of the process's samples. The maps are re-read at most once
      // per process and drain; changed mappings re-install its tables.
      const leaf = s.userStack[0];
      if (leaf === undefined || reread.has(s.tgid) || processes.findMapping(s.tgid, leaf, false) !== undefined) continue;
      reread.add(s.tgid);
      processes.findMapping(s.tgid, leaf, true);
    }
    if (!reportsTableDrops) return batch;
    const drops = { ...batch.drops };
    for (const [reason, n] of Object.entries(unwinder.takeDrops())) drops[reason] = (drops[reason] ?? 0) + n;
    return { ...batch, drops };
  });
}
