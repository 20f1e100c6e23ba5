/**
 * The one place samplers, the symbolizer and the unwinder are made, for
 * `record`, the agent and SkyWalking tasks alike, so each honours every
 * setting (mangling, line info, unwinding) the same way. Sampler kinds come
 * from the registry in profile/sampler-kinds.ts.
 */
import { existsSync } from 'node:fs';
import { fileKey } from '../elf/file-identity.js';
import { formatDurationMs } from '../config/duration.js';
import { resolveMappingFile } from '../process/mapping-file.js';
import type { ProcMapping } from '../process/proc-maps.js';
import type { MappedFile, MemoryProcessView } from '../samplers/memory-sampler.js';
import { requireStackWalker, ResourceLimitError, UnsupportedFeatureError } from '../kernel/index.js';
import { createProcessTable, type ProcessTable } from '../process/process-table.js';
import { createExecWatcherThread } from '../process/exec-watcher-thread.js';
import { createProcessTracking, type ProcessTracking } from '../process/process-tracking.js';
import { createProcessDescriber, type ProcessDescriber } from '../profile/profile-builder.js';
import { ProfileCollector } from '../profile/profile-collector.js';
import type { ProcessMetadata } from '../profile/model.js';
import { makeNetworkSampler, samplerKinds, type ProfileKind, type SamplerSettings } from '../profile/sampler-kinds.js';
import { createNetworkCollector, type NetworkCollector } from '../profile/network-collector.js';
import { createSharedNetworkSampler, type SharedNetworkSampler } from '../profile/shared-network-sampler.js';
import type { NetworkAggregatorOptions } from '../profile/network-aggregator.js';
import type { SharedWalkerMaps } from '../samplers/sampler-maps.js';
import type { StackSampler } from '../samplers/stack-sampler.js';
import type { RawStackBatch, TargetSelection } from '../stacks/raw-stacks.js';
import type { RawNetworkBatch, RequestKeeping, RequestStackSample } from '../stacks/network-records.js';
import type { RequestStack } from '../profile/network-report.js';
import { createDemangler } from '../symbolize/demangle.js';
import { createKallsymsSource, type KallsymsSource } from '../symbolize/kallsyms.js';
import { createPerfMapResolver } from '../symbolize/perf-map.js';
import { withDrain } from '../samplers/stack-sampler.js';
import { createPythonFrameNamer, withPythonFrameNames, type PythonFrameNamer } from '../symbolize/python-frames.js';
import type { SymbolCache } from '../symbolize/symbol-cache.js';
import { createFileSymbolCache } from '../symbolize/symbol-table-jobs.js';
import { createSymbolizer, type Symbolizer } from '../symbolize/symbolizer.js';
import { createProcessUnwinder, startWalkingOrFramePointers, withProcessUnwinder, type ProcessUnwinder } from '../unwind/process-unwinder.js';
import type { UnwindMapSizes } from '../unwind/unwind-maps.js';
import { type Logger } from '../log/logger.js';
import { createWorkerTableBuilder } from '../unwind/table-builder.js';
import type { TableCacheSettings } from '../unwind/table-disk-cache.js';

/** The kinds of profile a collector can produce. */
export type CollectorKind = ProfileKind;

/** Settings that decide how frames are named and stacks walked: one set per agent or recording. */
export interface PipelineSettings {
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
  /**
   * Whether stack collectors will walk with these services (default true).
   * With the walker they announce each process they sample, and exec
   * tracking reads programs then rather than at every exec; an agent with
   * none (network only) would hear of no program, so it reads every exec.
   */
  readonly stackCollectors?: boolean;
  /** Sizes of the walker's maps (MESHPROF_UNWIND_TABLE_BYTES). */
  readonly unwindMapSizes?: UnwindMapSizes;
  /** The disk cache of built tables (MESHPROF_CACHE_DIR, MESHPROF_CACHE_MAX_BYTES); default none. */
  readonly tableCache?: TableCacheSettings;
  /** Named targets: exec tracking follows only them, and their tables are built first. Default: every process. */
  readonly targets?: TargetSelection;
  /**
   * Which exec'd processes tracking prepares, when the selection changes over
   * time (the agent's discovery rules); default: the named targets, or all.
   */
  readonly wants?: (pid: number) => boolean;
  /** The caller's symbol cache (it closes it); default one of the services' own. */
  readonly symbolCache?: SymbolCache;
  /**
   * On-CPU samples per second of threads serving requests (slow requests'
   * stacks) in the services' shared network sampler; default 0, none.
   */
  readonly networkRequestStacksHz?: number;
  readonly log?: Logger;
}

/** Everything a collector needs to know; unused fields are ignored per kind. */
export interface CollectorOptions extends PipelineSettings, SamplerSettings {
  readonly targets: TargetSelection;
  /**
   * Whether start() waits (up to 15 s) for the unwind tables of the processes
   * it knows will be sampled, so a short recording is complete from its first
   * sample; default true. A long-running agent does not wait.
   */
  readonly awaitTables?: boolean;
  /**
   * Whether the table drops go into this collector's profiles; default true.
   * False for SkyWalking tasks: the agent's own collectors report them, once.
   */
  readonly reportsTableDrops?: boolean;
}

/**
 * What every collector of one agent shares: the process table (so /proc is
 * read once), the symbolizer with its symbol cache (each binary's symbols
 * loaded once), kernel symbols, the JIT perf-map reader, exec tracking (one
 * ring buffer and worker thread) and the .eh_frame unwinder (each table
 * built and loaded once).
 */
export interface ProcessServices {
  readonly settings: PipelineSettings;
  readonly processes: ProcessTable;
  readonly symbolizer: Symbolizer;
  readonly describe: ProcessDescriber;
  readonly kallsyms: KallsymsSource;
  /** Reads the code objects of walked Python frames at each drain and names them. */
  readonly python: PythonFrameNamer;
  /** Exec tracking, when on: started before the samplers, stopped after them. */
  readonly tracking: ProcessTracking | undefined;
  /**
   * The unwinder, made on first use; undefined with dwarfUnwind off or
   * where its maps cannot be made (said once, in the log).
   */
  unwinder(): ProcessUnwinder | undefined;
  /**
   * The network sampler every network collector over these services
   * subscribes to, so the kernel follows each process once; loaded at the
   * first subscription's start, unloaded after the last one stops.
   */
  readonly network: SharedNetworkSampler;
  /** Frees per-process state of exited processes the table forgot. */
  forgotten(pids: readonly number[]): void;
  /** Ends the unwinder, the symbol table worker of a cache it created and the demangler's c++filt; after the samplers and tracking stopped. */
  close(): void;
}

/** Creates the services one collector, or all of an agent's, use. */
export function createProcessServices(opts: PipelineSettings): ProcessServices {
  const processes = createProcessTable({ procRoot: opts.procRoot ?? '/proc' });
  const demangler = createDemangler({ keepMangled: opts.keepMangled ?? false, onError: (e) => opts.log?.warn(e.message) });
  const jit = createPerfMapResolver({ procRoot: processes.procRoot });
  // kernel symbols from the disk cache too: reading kallsyms is a quarter second of each start
  const kallsyms = createKallsymsSource(processes.procRoot, undefined, opts.tableCache === undefined ? undefined : { settings: opts.tableCache, log: opts.log });
  let unwinder: ProcessUnwinder | null | undefined = opts.dwarfUnwind === false ? null : undefined;
  // the unwinder finds the Python processes (with their tables); only its walked frames reach the namer
  const python = createPythonFrameNamer({
    procRoot: processes.procRoot, interpreterOf: (pid) => unwinder?.python.interpreter(pid),
    formerImage: (pid, stack) => isFormerImage(processes, pid, stack),
  });
  // Symbol tables are read in a worker thread: node's takes about a second.
  const symbolCache = opts.symbolCache ?? createFileSymbolCache(opts.log, opts.tableCache);
  const symbolizer = createSymbolizer({
    processes,
    kallsyms,
    demangle: (names) => demangler.demangle(names),
    resolveJit: (pid, address) => jit.resolve(pid, address),
    prepareJit: (pid) => jit.prepare(pid),
    lineInfo: opts.lineInfo ?? false,
    symbolCache,
    python,
    ...(opts.log ? { log: opts.log } : {}),
  });
  const getUnwinder = (): ProcessUnwinder | undefined => {
    if (unwinder === undefined) {
      try {
        unwinder = createProcessUnwinder({
          processes, targets: [], ...(opts.unwindMapSizes ? { mapSizes: opts.unwindMapSizes } : {}), ...(opts.log ? { log: opts.log } : {}),
          builder: createWorkerTableBuilder(opts.log, opts.tableCache),
        });
      } catch (err) {
        // only the kernel refusing the maps' memory means frame pointers; other errors are bugs to report
        if (!(err instanceof ResourceLimitError)) throw err;
        unwinder = null;
        opts.log?.warn(`unwind tables unavailable (${(err as Error).message}): user stacks follow frame pointers only`);
      }
    }
    return unwinder ?? undefined;
  };
  const named = opts.targets === undefined || typeof opts.targets === 'string' ? undefined : new Set(opts.targets);
  const tracking = (opts.trackExecs ?? true)
    ? createProcessTracking({
      // With the walker, programs are read at their first sample: most exec'ed on a host are never sampled.
      events: createExecWatcherThread({ procRoot: processes.procRoot, sampled: () => (opts.dwarfUnwind === true && opts.stackCollectors !== false && walkerRuns() ? getUnwinder()?.maps : undefined) }),
      processes,
      // Its perf map is read at its first sample (ProfileCollector's capture): at exec there is none.
      prepare: (pid) => symbolizer.prepare(pid, { jit: false }),
      // the unwinder asks for every process sampled without tables: the others need not be read further
      adoptWhenAsked: () => unwinder != null,
      ...(opts.wants ? { wants: opts.wants } : named ? { wants: (pid: number) => named.has(pid) } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    })
    : undefined;
  const network = createSharedNetworkSampler((targets) => makeNetworkSampler({
    targets, requestStacksHz: opts.networkRequestStacksHz ?? 0, ...(opts.log ? { log: opts.log } : {}),
  }));
  return {
    settings: opts,
    processes,
    symbolizer,
    network,
    describe: createProcessDescriber(processes, opts.describeProcess),
    kallsyms,
    python,
    tracking,
    unwinder: getUnwinder,
    // Perf maps stay readable for samples drained after exit; drop them with the process.
    forgotten: (pids) => {
      python.forget(pids);
      // By what the table still holds, not by `pids`: a process gone before it was read
      // never had an entry to forget, but its samples looked for a perf map.
      const known = new Set<number>();
      for (const p of processes.all()) known.add(p.pid);
      jit.retainOnly((pid) => known.has(pid));
    },
    close: () => {
      unwinder?.close();
      unwinder = null;
      if (opts.symbolCache === undefined) symbolCache.close();
      // its c++filt; names after this stay as the symbol tables give them
      demangler.close();
    },
  };
}

/** Whether this kernel runs the .eh_frame walker, whose asks announce each newly sampled program. */
function walkerRuns(): boolean {
  try {
    requireStackWalker();
    return true;
  } catch (err) {
    if (err instanceof UnsupportedFeatureError) return false;
    throw err;
  }
}

/**
 * Wires a kernel sampler, the process table and the symbolizer into a
 * collector. With `shared` services (an agent's), the caller starts and
 * stops their tracking and prunes their table once every collector has
 * symbolized (ProfileCollector.forgotten); without, the collector owns its own.
 */
export function createCollector(kind: CollectorKind, opts: CollectorOptions, shared?: ProcessServices): ProfileCollector {
  const services = shared ?? createProcessServices(opts);
  const { processes, symbolizer, describe } = services;
  const explicitTargets = typeof opts.targets === 'string' ? [] : opts.targets;
  const sampler = walkingSampler(kind, opts, services, explicitTargets);
  return new ProfileCollector({
    sampler, processes, symbolizer, describe, explicitTargets,
    onForgotten: (pids) => services.forgotten(pids),
    ...(shared === undefined && services.tracking ? { tracking: services.tracking } : {}),
    ...(shared === undefined ? { onStop: () => services.close() } : {}),
    forgetsExited: shared === undefined,
  });
}

/**
 * The process table as the memory sampler sees it: each process's
 * executable file mappings, by a path readable from here (its root, or
 * map_files for deleted files) and by identity (device and inode).
 */
function memoryProcessView(processes: ProcessTable): MemoryProcessView {
  // By mappings array: the table replaces it when the maps change, and the sampler asks every drain.
  const resolved = new WeakMap<readonly ProcMapping[], MappedFile[]>();
  return {
    mappedFiles(pid, fresh = false) {
      const p = fresh ? processes.reloadMappings(pid) ?? processes.tryObserve(pid) : processes.tryObserve(pid);
      if (p === undefined || p.exited) return [];
      const known = resolved.get(p.mappings);
      if (known !== undefined) return known;
      const files = new Map<string, MappedFile>();
      for (const m of p.mappings) {
        if (!m.executable || m.kind !== 'file') continue;
        const key = fileKey(m.devMajor, m.devMinor, m.inode);
        if (files.has(key)) continue;
        const path = resolveMappingFile(processes.procRoot, pid, m);
        if (path !== undefined) files.set(key, { path, key });
      }
      const out = [...files.values()];
      resolved.set(p.mappings, out);
      return out;
    },
    *pids() {
      for (const p of processes.all()) if (!p.exited) yield p.pid;
    },
    alive: (pid) => existsSync(`${processes.procRoot}/${pid}`),
    formerImage: (pid, stack) => isFormerImage(processes, pid, stack),
  };
}

/** True when `stack` of `pid` was walked in an image the process has exec'ed away from. */
function isFormerImage(processes: ProcessTable, pid: number, stack: readonly bigint[]): boolean {
  const p = processes.get(pid);
  return p !== undefined && stack.length > 0 && processes.imageFor(pid, stack) !== p.mappings;
}

/** How long start() waits for named targets' tables before sampling anyway (they keep loading). */
const PREPARE_TIMEOUT_MS = 15_000;

/**
 * The collector's sampler, walking with the services' .eh_frame unwinder
 * unless unwinding is off. prepare() waits for the tables of the named
 * targets, or with 'all' of the processes busy on the CPU right now, so the
 * first samples are complete too. A kernel that cannot run the walker gets
 * a frame-pointer sampler instead, with a warning.
 */
function walkingSampler(kind: CollectorKind, opts: CollectorOptions, services: ProcessServices, targets: readonly number[]): StackSampler {
  const log = opts.log ?? services.settings.log;
  const make = (t: TargetSelection, unwindMaps?: SharedWalkerMaps): StackSampler =>
    samplerKinds[kind](opts, { targets: t, kallsyms: services.kallsyms, processView: memoryProcessView(services.processes), ...(log ? { log } : {}), ...(unwindMaps ? { unwindMaps } : {}) });
  const walks = opts.dwarfUnwind ?? services.settings.dwarfUnwind ?? true;
  // Without the walker nothing reads a forked child at its first sample: the drain's /proc scan does, every second.
  if (!walks) return { ...withDrain(make(opts.targets), (inner) => inner.drain()), drainEveryMs: undefined };
  let sampler: StackSampler | undefined;
  // Whether the sampler that runs walks with the .eh_frame tables (the kernel may refuse the walker).
  let walking = false;
  // Loaded (verified) during prepare(), attached by start().
  let loaded: StackSampler | undefined;
  let targetsNow = opts.targets;
  const current = (): StackSampler => {
    if (!sampler) throw new Error(`using ${kind} sampler: not started: call start() first`);
    return sampler;
  };
  const follow = (): ProcessUnwinder | undefined => {
    const u = services.unwinder();
    for (const pid of targets) {
      services.processes.tryObserve(pid);
      u?.follow(pid);
    }
    return u;
  };
  const walkingOrFramePointers = (u: ProcessUnwinder, begin?: (s: StackSampler) => void): StackSampler => {
    const started = startWalkingOrFramePointers(
      () => withPythonFrameNames(withProcessUnwinder(make(targetsNow, u.maps), services.processes, u, opts.reportsTableDrops ?? true), services.python),
      () => make(targetsNow),
      (m) => log?.warn(m),
      undefined,
      begin,
    );
    walking = started.walks;
    return started.sampler;
  };
  return {
    async prepare() {
      const u = follow();
      if (u === undefined) return;
      const busy = opts.targets === 'all' ? u.followBusy() : undefined;
      // The verifier's hundreds of milliseconds run while the busy window elapses
      // and the tables load; a kind that cannot load apart is made in start().
      if (make(targetsNow).load !== undefined) loaded = walkingOrFramePointers(u, (s) => s.load?.());
      await busy;
      if (opts.awaitTables === false) return;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), PREPARE_TIMEOUT_MS); });
      const isLate = await Promise.race([u.settled().then(() => false), late]);
      clearTimeout(timer);
      if (isLate) log?.warn(`unwind tables still building after ${formatDurationMs(PREPARE_TIMEOUT_MS)}: sampling meanwhile, with frame pointers where they are missing`);
    },
    start() {
      const u = follow();
      if (loaded !== undefined) {
        sampler = loaded;
        loaded = undefined;
        sampler.start();
        return;
      }
      if (u === undefined) {
        walking = false;
        sampler = make(targetsNow);
        sampler.start();
        return;
      }
      sampler = walkingOrFramePointers(u);
    },
    drain: () => current().drain(),
    get drainEveryMs() {
      // Frame pointers only: a forked child is read by the drain's /proc scan, every second.
      if (sampler === undefined || !walking) return undefined;
      // A Python process's code objects are read from its memory at each drain: while one is walked, every second.
      if ((services.unwinder()?.python.count ?? 0) > 0) return undefined;
      return sampler.drainEveryMs;
    },
    setTargets: (t) => {
      targetsNow = t;
      sampler?.setTargets(t);
      loaded?.setTargets(t);
    },
    stop() {
      try {
        sampler?.stop();
        loaded?.stop();
      } finally {
        sampler = undefined;
        loaded = undefined;
      }
    },
  };
}

/** Settings of a network collector: which processes, and how requests are aggregated. */
export interface NetworkCollectorSettings extends NetworkAggregatorOptions {
  readonly targets: TargetSelection;
  /** Follow TLS through uprobes (libssl, OpenSSL linked in, Go crypto/tls); default true. */
  readonly tls?: boolean;
  /** Sees every drained batch (SkyWalking NETWORK tasks). */
  readonly observe?: (batch: RawNetworkBatch) => void;
  /** With `observe`: which exchanges it may keep (sampled requests); default none. */
  readonly keeps?: Omit<RequestKeeping, 'headBytes'>;
  /** Bytes of the HTTP/1.x request heads of exchanges that may be kept, for their trace headers (MESHPROF_NETWORK_HEAD_BYTES); default 1024, 0 none. */
  readonly requestHeadBytes?: number;
}

/**
 * Names a slow request's on-CPU samples through the symbolizer (the stacks
 * the kernel walked by frame pointers), one entry per distinct stack.
 */
export function requestStackNamer(symbolizer: Pick<Symbolizer, 'name'>): (pid: number, samples: readonly RequestStackSample[]) => RequestStack[] {
  return (pid, samples) => {
    const batch: RawStackBatch = {
      valueTypes: [{ type: 'samples', unit: 'count' }], periodType: { type: 'cpu', unit: 'nanoseconds' }, period: 1,
      startTimeNs: 0n, durationNs: 0n, drops: {},
      samples: samples.map((s) => ({ tgid: pid, tid: pid, comm: '', userStack: s.userStack, kernelStack: s.kernelStack, values: [1] })),
    };
    const byStack = new Map<string, { frames: string[]; samples: number }>();
    for (const frames of symbolizer.name(batch).stacks) {
      const names = frames.map((f) => f.functionName);
      const key = names.join('\n');
      const seen = byStack.get(key);
      if (seen) seen.samples++;
      else byStack.set(key, { frames: names, samples: 1 });
    }
    return [...byStack.values()].sort((a, b) => b.samples - a.samples);
  };
}

/**
 * A network collector over the services' process table, describer and
 * symbolizer (its own without `shared`; the symbolizer names only the stacks
 * of slow requests): the network sampler needs no unwinding or exec tracking.
 * With `shared` services it subscribes to their one network sampler.
 */
export function createNetworkCollectorFor(opts: NetworkCollectorSettings & PipelineSettings, shared?: ProcessServices): NetworkCollector {
  const processes = shared?.processes ?? createProcessTable({ procRoot: opts.procRoot ?? '/proc' });
  const describe = shared?.describe ?? createProcessDescriber(processes, opts.describeProcess);
  const log = opts.log ?? shared?.settings.log;
  const symbolizer = shared?.symbolizer ?? createSymbolizer({ processes, ...(log ? { log } : {}) });
  const headBytes = opts.requestHeadBytes ?? 1024;
  // the aggregator keeps slow (its threshold), failed (5xx) and unanswered requests
  const keeps = opts.observe !== undefined ? opts.keeps : { minDurationNs: opts.slowThresholdNs ?? 100_000_000, minStatus: 500 };
  return createNetworkCollector({
    nameStacks: requestStackNamer(symbolizer),
    ...opts,
    sampler: shared
      ? shared.network.subscribe(opts.targets)
      // batches that go to `observe` keep no notable requests: no stacks to sample
      : makeNetworkSampler({ targets: opts.targets, ...(log ? { log } : {}), ...(opts.observe ? { requestStacksHz: 0 } : {}) }),
    ...(keeps !== undefined && headBytes > 0 ? { keeping: { ...keeps, headBytes } } : {}),
    processes,
    describe,
    ...(log ? { log } : {}),
  });
}
