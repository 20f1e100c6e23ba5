import { createProcessTable, type ProcessTable } from '../process/process-table.js';
import type { ProcessMetadata } from '../profile/model.js';
import { createOffCpuSampler } from '../samplers/offcpu-sampler.js';
import type { OffCpuState } from '../samplers/offcpu-layout.js';
import { createOnCpuSampler } from '../samplers/oncpu-sampler.js';
import type { TargetSelection } from '../stacks/raw-stacks.js';
import type { StackSampler } from '../samplers/stack-sampler.js';
import { createDemangler } from '../symbolize/demangle.js';
import type { SymbolCache } from '../symbolize/symbol-cache.js';
import { createFileSymbolCache } from '../symbolize/symbol-table-jobs.js';
import { createPerfMapResolver } from '../symbolize/perf-map.js';
import { createSymbolizer, type Symbolizer } from '../symbolize/symbolizer.js';
import { createExecWatcherThread } from '../process/exec-watcher-thread.js';
import { createProcessTracking, type ProcessTracking } from '../process/process-tracking.js';
import { createProcessUnwinder, startWalkingOrFramePointers, withProcessUnwinder, type ProcessUnwinder } from '../unwind/process-unwinder.js';
import { ProfileCollector } from '../profile/profile-collector.js';
import { ResourceLimitError } from '../kernel/index.js';

/** The kinds of profile a collector can produce. */
export type CollectorKind = 'oncpu' | 'offcpu';

/** Everything a collector needs to know; unused fields are ignored per kind. */
export interface CollectorOptions {
  readonly targets: TargetSelection;
  readonly frequencyHz?: number;
  readonly includeIdle?: boolean;
  readonly minBlockNs?: bigint;
  readonly maxBlockNs?: bigint | undefined;
  readonly state?: OffCpuState;
  readonly procRoot?: string;
  /** Adds container/pod/service attributes to each process (discovery). */
  readonly describeProcess?: (base: ProcessMetadata) => ProcessMetadata;
  /** Keep C++/Rust names mangled; default false. */
  readonly keepMangled?: boolean;
  /** file:line from DWARF .debug_line where present; default false (it costs, see bench/line-info.ts). */
  readonly lineInfo?: boolean;
  /** Follow exec/exit in the kernel so short-lived processes keep their mappings; default true. */
  readonly trackExecs?: boolean;
  /**
   * Walk user stacks with .eh_frame tables in the kernel; default true. Off,
   * or where the kernel cannot run the walker (before 5.17), user stacks
   * follow frame pointers only.
   */
  readonly dwarfUnwind?: boolean;
  /** Shared with other collectors of the same agent, so each table is built and loaded once. */
  readonly unwinder?: ProcessUnwinder;
  /**
   * Whether start() waits (up to 15 s) for the unwind tables of the processes
   * it knows will be sampled, so a short recording is complete from its first
   * sample; default true. A long-running agent does not wait.
   */
  readonly awaitTables?: boolean;
  readonly log?: (level: 'warn' | 'info' | 'debug', message: string) => void;
}

function createSampler(kind: CollectorKind, opts: CollectorOptions, unwinder?: ProcessUnwinder): StackSampler {
  const log = opts.log ? { log: opts.log } : {};
  const unwind = unwinder ? { unwindMaps: unwinder.maps } : {};
  if (kind === 'oncpu') {
    return createOnCpuSampler({
      targets: opts.targets, frequencyHz: opts.frequencyHz ?? 99, includeIdle: opts.includeIdle ?? false, ...log, ...unwind,
    });
  }
  return createOffCpuSampler({
    targets: opts.targets,
    ...unwind,
    minBlockNs: opts.minBlockNs ?? 1000n,
    ...(opts.maxBlockNs !== undefined ? { maxBlockNs: opts.maxBlockNs } : {}),
    state: opts.state ?? 'all',
    ...log,
  });
}

/**
 * What every collector of one agent can share: the process table (so /proc
 * is read once), the symbolizer with its symbol cache (so each binary's
 * symbols are loaded once), the JIT perf-map reader and the exec tracking
 * (one ring buffer and worker thread).
 */
export interface ProcessServices {
  readonly processes: ProcessTable;
  readonly symbolizer: Symbolizer;
  /** Frees per-process state of exited processes the table forgot. */
  forgotten(pids: readonly number[]): void;
  /** Exec tracking, when on: started before the samplers, stopped after them. */
  readonly tracking: ProcessTracking | undefined;
  /** Ends the symbol table worker of a cache it created; after the samplers and tracking stopped. */
  close(): void;
}

/** The options createProcessServices reads. */
export type ProcessServicesOptions = Pick<CollectorOptions, 'procRoot' | 'describeProcess' | 'keepMangled' | 'lineInfo' | 'trackExecs' | 'log'> & {
  /** Named targets: exec tracking follows only them. Default: every process. */
  readonly targets?: TargetSelection;
  /** The caller's symbol cache (it closes it); default one of the services' own. */
  readonly symbolCache?: SymbolCache;
  /**
   * Which exec'd processes tracking prepares, when the selection changes over
   * time (the agent's discovery rules); default: the named targets, or all.
   */
  readonly wants?: (pid: number) => boolean;
};

/** Creates the services one collector, or all of an agent's, use. */
export function createProcessServices(opts: ProcessServicesOptions): ProcessServices {
  const processes = createProcessTable({ procRoot: opts.procRoot ?? '/proc' });
  const demangler = createDemangler({ keepMangled: opts.keepMangled ?? false, onError: (e) => opts.log?.('warn', e.message) });
  const jit = createPerfMapResolver({ procRoot: processes.procRoot });
  // Symbol tables are read in a worker thread: node's takes about a second.
  const symbolCache = opts.symbolCache ?? createFileSymbolCache(opts.log);
  const symbolizer = createSymbolizer({
    processes,
    demangle: (names) => demangler.demangle(names),
    resolveJit: (pid, address) => jit.resolve(pid, address),
    prepareJit: (pid) => jit.prepare(pid),
    lineInfo: opts.lineInfo ?? false,
    symbolCache,
    ...(opts.describeProcess ? { describeProcess: opts.describeProcess } : {}),
  });
  const named = opts.targets === undefined || typeof opts.targets === 'string' ? undefined : new Set(opts.targets);
  const tracking = (opts.trackExecs ?? true)
    ? createProcessTracking({
      events: createExecWatcherThread({ procRoot: processes.procRoot }),
      processes,
      prepare: (pid) => symbolizer.prepare(pid),
      ...(opts.wants ? { wants: opts.wants } : named ? { wants: (pid: number) => named.has(pid) } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    })
    : undefined;
  return {
    processes,
    symbolizer,
    // Perf maps stay readable for samples drained after exit; drop them with the process.
    forgotten: (pids) => { for (const pid of pids) jit.forget(pid); },
    tracking,
    close: () => { if (opts.symbolCache === undefined) symbolCache.close(); },
  };
}

/**
 * Wires a kernel sampler, the process table and the symbolizer into a
 * collector. With `shared` services (an agent's), the caller starts and
 * stops their tracking and prunes their table once every collector has
 * symbolized (ProfileCollector.forgotten); without, the collector owns its own.
 */
export function createCollector(kind: CollectorKind, opts: CollectorOptions, shared?: ProcessServices): ProfileCollector {
  const services = shared ?? createProcessServices(opts);
  const { processes, symbolizer } = services;
  const explicitTargets = typeof opts.targets === 'string' ? [] : opts.targets;
  const sampler = walkingSampler(kind, opts, processes, explicitTargets);
  return new ProfileCollector({
    sampler, processes, symbolizer, explicitTargets,
    onForgotten: (pids) => services.forgotten(pids),
    ...(shared === undefined && services.tracking ? { tracking: services.tracking } : {}),
    ...(shared === undefined ? { onStop: () => services.close() } : {}),
    forgetsExited: shared === undefined,
  });
}

/** How long start() waits for named targets' tables before sampling anyway (they keep loading). */
const PREPARE_TIMEOUT_MS = 15_000;

/**
 * The collector's sampler, walking with the .eh_frame tables unless they are
 * turned off: with the caller's shared unwinder, or one of its own that
 * stop() closes. prepare() waits for the tables of the named targets, or
 * with 'all' of the processes busy on the CPU right now, so the first
 * samples are complete too. A kernel that cannot load the walker gets
 * a frame-pointer sampler instead, with a warning.
 */
function walkingSampler(kind: CollectorKind, opts: CollectorOptions, processes: ProcessTable, targets: readonly number[]): StackSampler {
  if (opts.dwarfUnwind === false) return createSampler(kind, opts);
  let owned: ProcessUnwinder | undefined;
  let unwinder: ProcessUnwinder | undefined = opts.unwinder;
  let sampler: StackSampler | undefined;
  let targetsNow = opts.targets;
  let fpOnly = false;
  const release = (): void => {
    owned?.close();
    owned = undefined;
  };
  const current = (): StackSampler => {
    if (!sampler) throw new Error(`using ${kind} sampler: not started: call start() first`);
    return sampler;
  };
  const follow = (): ProcessUnwinder => {
    if (unwinder === undefined) unwinder = owned = createProcessUnwinder({ processes, targets, ...(opts.log ? { log: opts.log } : {}) });
    else for (const pid of targets) unwinder.follow(pid);
    return unwinder;
  };
  return {
    async prepare() {
      let u: ProcessUnwinder;
      try {
        u = follow();
      } catch (err) {
        // only the kernel refusing the maps' memory means frame pointers: start() uses them
        if (!(err instanceof ResourceLimitError)) throw err;
        fpOnly = true;
        opts.log?.('warn', `unwind tables unavailable (${err.message}): user stacks follow frame pointers only`);
        return;
      }
      if (opts.targets === 'all') await u.followBusy();
      if (opts.awaitTables === false) return;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), PREPARE_TIMEOUT_MS); });
      const isLate = await Promise.race([u.settled().then(() => false), late]);
      clearTimeout(timer);
      if (isLate) opts.log?.('warn', `unwind tables still building after ${PREPARE_TIMEOUT_MS / 1000} s: sampling meanwhile, with frame pointers where they are missing`);
    },
    start() {
      const options = { ...opts, targets: targetsNow };
      const framePointers = (): StackSampler => createSampler(kind, options);
      if (fpOnly) {
        sampler = framePointers();
        sampler.start();
        return;
      }
      const started = startWalkingOrFramePointers(() => {
        const u = unwinder ?? follow();
        return withProcessUnwinder(createSampler(kind, options, u), processes, u);
      }, framePointers, (m) => opts.log?.('warn', m));
      sampler = started.sampler;
      if (!started.walks) {
        release();
        unwinder = undefined;
      }
    },
    drain: () => current().drain(),
    setTargets: (t) => {
      targetsNow = t;
      sampler?.setTargets(t);
    },
    stop() {
      try {
        sampler?.stop();
      } finally {
        sampler = undefined;
        release();
      }
    },
  };
}
