import { createProcessTable, type ProcessTable } from '../process/process-table.js';
import type { ProcessMetadata } from '../profile/model.js';
import { createOffCpuSampler } from '../samplers/offcpu-sampler.js';
import type { OffCpuState } from '../samplers/offcpu-layout.js';
import { createOnCpuSampler } from '../samplers/oncpu-sampler.js';
import type { StackSampler } from '../samplers/raw-stacks.js';
import { createDemangler } from '../symbolize/demangle.js';
import { createFileSymbolLookup } from '../symbolize/file-lookup.js';
import { createPerfMapResolver } from '../symbolize/perf-map.js';
import { createSymbolCache } from '../symbolize/symbol-cache.js';
import { createSymbolizer } from '../symbolize/symbolizer.js';
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
  readonly log?: (level: 'warn' | 'info' | 'debug', message: string) => void;
}

function createSampler(kind: CollectorKind, opts: CollectorOptions): StackSampler {
  const log = opts.log ? { log: opts.log } : {};
  if (kind === 'oncpu') {
    return createOnCpuSampler({ targets: opts.targets, frequencyHz: opts.frequencyHz ?? 99, includeIdle: opts.includeIdle ?? false, ...log });
  }
  return createOffCpuSampler({
    targets: opts.targets,
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
    symbolCache: createSymbolCache({ createLookup: createFileSymbolLookup }),
    ...(opts.describeProcess ? { describeProcess: opts.describeProcess } : {}),
  });
  const explicitTargets = opts.targets === 'all' ? [] : opts.targets;
  return new ProfileCollector(createSampler(kind, opts), processes, symbolizer, explicitTargets, (pids) => {
    // Perf maps stay readable for samples drained after exit; drop them with the process.
    for (const pid of pids) jit.forget(pid);
  });
}
