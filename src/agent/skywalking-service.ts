/**
 * SkyWalking in Rover's place: when MESHPROF_SKYWALKING_ADDR (or Rover's
 * ROVER_BACKEND_ADDR) is set, reports this host's processes to OAP and runs
 * the tasks OAP hands out, each with its own kernel sampler limited to the
 * task's pids, symbolized by a process table and symbolizer of its own
 * over the agent's symbol cache (each file's symbols are read once).
 */
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/agent-config.js';
import type { SkyWalkingEnvConfig } from '../config/skywalking-env.js';
import {
  createProcfsProcessSource,
  createSkyWalkingExporter,
  type SamplerFactory,
  type SkyWalkingExporter,
  type Symbolizer,
} from '../export/skywalking/index.js';
import type { LibbpfLevel } from '../kernel/libbpf-log.js';
import { createProcessTable, type ProcessTable } from '../process/process-table.js';
import { createOffCpuSampler } from '../samplers/offcpu-sampler.js';
import { createOnCpuSampler } from '../samplers/oncpu-sampler.js';
import { createDemangler } from '../symbolize/demangle.js';
import { createPerfMapResolver } from '../symbolize/perf-map.js';
import type { SymbolCache } from '../symbolize/symbol-cache.js';
import { createSymbolizer } from '../symbolize/symbolizer.js';
import type { SkyWalkingProfilingKind } from '../encode/skywalking.js';
import type { StackSampler } from '../samplers/stack-sampler.js';
import type { SharedWalkerMaps } from '../samplers/sampler-maps.js';
import { startWalkingOrFramePointers, withProcessUnwinder, type ProcessUnwinder } from '../unwind/process-unwinder.js';

/** The agent's process table and unwind tables, once its samplers run; tasks walk with them too. */
export interface TaskUnwinding {
  readonly processes: ProcessTable;
  readonly unwinder: ProcessUnwinder;
}

/**
 * Builds the per-task samplers: on-CPU at the agent's frequency, off-CPU
 * for every block over 1 µs; with the agent's unwinder when it has one, so
 * the task's processes get complete stacks through FP-less code.
 */
export function taskSamplerFactory(config: AgentConfig, log: Logger, unwinding: () => TaskUnwinding | undefined = () => undefined): SamplerFactory {
  const bpfLog = { log: (level: LibbpfLevel, message: string): void => log[level](message) };
  const create = (kind: SkyWalkingProfilingKind, pids: number[], walker: { unwindMaps?: SharedWalkerMaps }): StackSampler =>
    kind === 'oncpu'
      ? createOnCpuSampler({ targets: pids, frequencyHz: config.frequencyHz, includeIdle: false, ...bpfLog, ...walker })
      : createOffCpuSampler({ targets: pids, minBlockNs: 1000n, state: 'all', ...bpfLog, ...walker });
  return (kind, pids) => {
    const u = unwinding();
    if (!u) return create(kind, pids, {});
    for (const pid of pids) {
      u.processes.tryObserve(pid);
      u.unwinder.follow(pid);
    }
    // A kernel that cannot load the walker still runs the task, with frame pointers.
    let active: StackSampler | undefined;
    const running = (): StackSampler => {
      if (!active) throw new Error('using a task sampler: not started');
      return active;
    };
    return {
      start() {
        active = startWalkingOrFramePointers(
          () => withProcessUnwinder(create(kind, pids, { unwindMaps: u.unwinder.maps }), u.processes, u.unwinder, false),
          () => create(kind, pids, {}),
          (m) => log.warn(`skywalking: ${m}`),
        ).sampler;
      },
      drain: () => running().drain(),
      setTargets: (t) => running().setTargets(t),
      stop: () => active?.stop(),
    };
  };
}

/**
 * A symbolizer for task batches, with its own process table: tasks run on
 * their own clock, and the agent prunes its table on its intervals.
 */
export function taskSymbolizer(procRoot: string, log: Logger, symbolCache: SymbolCache): Symbolizer {
  const processes = createProcessTable({ procRoot });
  const demangler = createDemangler({ keepMangled: false, onError: (e) => log.warn(e.message) });
  const jit = createPerfMapResolver({ procRoot });
  const symbolizer = createSymbolizer({
    processes,
    demangle: (names) => demangler.demangle(names),
    resolveJit: (pid, address) => jit.resolve(pid, address),
    symbolCache,
  });
  return async (batch) => {
    // Gone before this batch was read: later batches hold none of their samples.
    const exited = processes.exitedPids();
    processes.refresh();
    await symbolizer.load(batch);
    const profile = symbolizer.symbolize(batch);
    for (const pid of processes.forgetExited(exited)) jit.forget(pid);
    return profile;
  };
}

/** Creates (not starts) the SkyWalking exporter over the real samplers. */
export function createSkyWalkingService(
  sw: SkyWalkingEnvConfig, config: AgentConfig, log: Logger, symbolCache: SymbolCache, unwinding?: () => TaskUnwinding | undefined,
): SkyWalkingExporter {
  const procRoot = sw.hostProcPath ?? config.procRoot;
  const swLog = log.child({ component: 'skywalking' });
  return createSkyWalkingExporter({
    config: sw,
    source: createProcfsProcessSource({ procRoot }),
    samplerFactory: taskSamplerFactory(config, swLog, unwinding),
    symbolize: taskSymbolizer(procRoot, swLog, symbolCache),
    logger: { debug: (m) => swLog.debug(m), info: (m) => swLog.info(m), warn: (m) => swLog.warn(m) },
  });
}
