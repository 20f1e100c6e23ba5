import { createProcessTable, type ProcessInfo, type ProcessTable } from '../process/process-table.js';
import type { ProcessMetadata } from '../profile/model.js';
import { createOffCpuSampler } from '../samplers/offcpu-sampler.js';
import type { OffCpuState } from '../samplers/offcpu-layout.js';
import { createOnCpuSampler } from '../samplers/oncpu-sampler.js';
import type { RawStackBatch, StackSampler } from '../samplers/raw-stacks.js';
import type { BpfObject } from '../kernel/index.js';
import { createUnwindTableManager, type UnwindManagerStats, type UnwindTableManager } from '../unwind/unwind-table-manager.js';
import { unwindMapsOf } from '../unwind/unwind-maps.js';
import { createDemangler } from '../symbolize/demangle.js';
import { createFileSymbolLookup } from '../symbolize/file-lookup.js';
import { createPerfMapResolver } from '../symbolize/perf-map.js';
import { createSymbolCache } from '../symbolize/symbol-cache.js';
import { createSymbolizer } from '../symbolize/symbolizer.js';
import { createExecWatcherThread } from './exec-watcher-thread.js';
import { createProcessTracking } from './process-tracking.js';
import { ProfileCollector } from './profile-collector.js';

/** The kinds of profile a collector can produce. */
export type CollectorKind = 'oncpu' | 'offcpu';

/** Everything a collector needs to know; unused fields are ignored per kind. */
export interface CollectorOptions {
  readonly targets: readonly number[] | 'all';
  readonly frequencyHz?: number;
  readonly includeIdle?: boolean;
  readonly minBlockNs?: bigint;
  readonly maxBlockNs?: bigint | undefined;
  readonly state?: OffCpuState;
  readonly procRoot?: string;
  /** Shared with other collectors of the same agent, so /proc is read once. */
  readonly processes?: ProcessTable;
  /** Adds container/pod/service attributes to each process (discovery). */
  readonly describeProcess?: (base: ProcessMetadata) => ProcessMetadata;
  /** Keep C++/Rust names mangled; default false. */
  readonly keepMangled?: boolean;
  /** file:line from DWARF .debug_line where present; default false (it costs, see bench/line-info.ts). */
  readonly lineInfo?: boolean;
  /** Follow exec/exit in the kernel so short-lived processes keep their mappings; default true. */
  readonly trackExecs?: boolean;
  /**
   * Walk user stacks with .eh_frame tables in the kernel. Default: on for
   * named targets, off with 'all', where building a large binary's table
   * (node: 372k rows, about 5 s) in the poll loop would stall the agent.
   */
  readonly dwarfUnwind?: boolean;
  readonly log?: (level: 'warn' | 'info' | 'debug', message: string) => void;
}

function createSampler(kind: CollectorKind, opts: CollectorOptions, onLoaded?: (o: BpfObject) => void): StackSampler {
  const log = opts.log ? { log: opts.log } : {};
  const unwind = onLoaded ? { dwarfUnwind: true, onLoaded } : {};
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

/** Wires a kernel sampler, the process table and the symbolizer into a collector. */
export function createCollector(kind: CollectorKind, opts: CollectorOptions): ProfileCollector {
  const processes = opts.processes ?? createProcessTable({ procRoot: opts.procRoot ?? '/proc' });
  const demangler = createDemangler({ keepMangled: opts.keepMangled ?? false, onError: (e) => opts.log?.('warn', e.message) });
  const jit = createPerfMapResolver({ procRoot: processes.procRoot });
  const symbolizer = createSymbolizer({
    processes,
    demangle: (names) => demangler.demangle(names),
    resolveJit: (pid, address) => jit.resolve(pid, address),
    prepareJit: (pid) => jit.prepare(pid),
    lineInfo: opts.lineInfo ?? false,
    symbolCache: createSymbolCache({ createLookup: createFileSymbolLookup }),
    ...(opts.describeProcess ? { describeProcess: opts.describeProcess } : {}),
  });
  const explicitTargets = opts.targets === 'all' ? [] : opts.targets;
  const dwarf = opts.dwarfUnwind ?? explicitTargets.length > 0;
  const unwinder = dwarf ? followProcesses(processes, explicitTargets, opts) : undefined;
  let sampler = createSampler(kind, opts, unwinder?.onLoaded);
  if (unwinder) sampler = reportUnwinder(sampler, processes, unwinder);
  const tracking = (opts.trackExecs ?? true)
    ? createProcessTracking({
      events: createExecWatcherThread({ procRoot: processes.procRoot }),
      processes,
      prepare: (pid) => symbolizer.prepare(pid),
      ...(opts.log ? { log: opts.log } : {}),
    })
    : undefined;
  return new ProfileCollector(sampler, processes, symbolizer, explicitTargets, (pids) => {
    // Perf maps stay readable for samples drained after exit; drop them with the process.
    for (const pid of pids) jit.forget(pid);
  }, tracking);
}

/** The unwinder as the collector drives it. */
interface ProcessUnwinder {
  readonly tables: UnwindTableManager;
  readonly onLoaded: (o: BpfObject) => void;
  /** A process was seen in a sample: install its tables if that has not happened yet. */
  sampled(pid: number): void;
}

/**
 * An unwind table manager driven by the process table's events. Named
 * targets get their tables as soon as they are seen; with 'all', a process
 * gets them once it shows up in a sample (so a host's idle daemons cost
 * nothing), walked by frame pointers until then and counted as
 * user_stack_no_process_tables. Exits release them.
 */
function followProcesses(processes: ProcessTable, targets: readonly number[], opts: CollectorOptions): ProcessUnwinder {
  const tables = createUnwindTableManager({
    filePath: (pid, m) => processes.hostPath(pid, m.path),
    ...(opts.log ? { log: opts.log } : {}),
  });
  const installed = new Set<number>();
  let bound = false;
  const install = (p: ProcessInfo): void => {
    if (!bound || p.exited || p.pid === process.pid) return;
    try {
      tables.setProcess(p);
      installed.add(p.pid);
    } catch (err) {
      opts.log?.('warn', `loading unwind tables of pid ${p.pid}: ${(err as Error).message}`);
    }
  };
  processes.onProcessAdded((p) => targets.includes(p.pid) && install(p));
  processes.onMappingsChanged((p) => installed.has(p.pid) && install(p));
  processes.onProcessExited((p) => {
    installed.delete(p.pid);
    tables.removeProcess(p.pid);
  });
  return {
    tables,
    onLoaded(o) {
      tables.bind(unwindMapsOf(o), []);
      bound = true;
      for (const pid of targets) {
        const p = processes.get(pid);
        if (p) install(p);
      }
    },
    sampled(pid) {
      if (installed.has(pid)) return;
      const p = processes.get(pid);
      if (p) install(p);
    },
  };
}

const UNWIND_DROPS: readonly [keyof UnwindManagerStats, string][] = [
  ['filesUnreadable', 'unwind_files_unreadable'],
  ['tablesOutOfRoom', 'unwind_tables_out_of_room'],
  ['procsOutOfRoom', 'unwind_procs_out_of_room'],
  ['mappingsTruncated', 'unwind_mappings_truncated'],
];

/**
 * Adds the table manager's losses to each batch's drops, installs tables
 * for newly sampled processes, and re-reads the mappings of a process whose
 * leaf pc lies outside them (dlopen, exec), so its tables follow.
 */
function reportUnwinder(sampler: StackSampler, processes: ProcessTable, unwinder: ProcessUnwinder): StackSampler {
  let before = unwinder.tables.stats();
  return {
    start: () => sampler.start(),
    stop: () => sampler.stop(),
    setTargets: (t) => sampler.setTargets(t),
    drain(): RawStackBatch {
      const batch = sampler.drain();
      const checked = new Set<number>();
      for (const s of batch.samples) {
        if (checked.has(s.tgid) || s.tgid === 0) continue;
        checked.add(s.tgid);
        // observe() is what the collector does next anyway; it only reads /proc once per process
        processes.tryObserve(s.tgid);
        const leaf = s.userStack[0];
        if (leaf !== undefined) processes.findMapping(s.tgid, leaf, true);
        unwinder.sampled(s.tgid);
      }
      const after = unwinder.tables.stats();
      const drops = { ...batch.drops };
      for (const [stat, reason] of UNWIND_DROPS) {
        const delta = after[stat] - before[stat];
        if (delta > 0) drops[reason] = (drops[reason] ?? 0) + delta;
      }
      before = after;
      return { ...batch, drops };
    },
  };
}
