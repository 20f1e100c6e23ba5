import { openBpfObject } from '../kernel/index.js';
import type { BpfLink, BpfObject, BpfObjectFactory } from '../kernel/index.js';
import { encodeOnCpuControl, u32Bytes } from './oncpu-layout.js';
import { drainOffCpuGeneration } from './offcpu-drain.js';
import { OFFCPU_DROP_REASONS, OffCpuStateFilter, u64Bytes, type OffCpuState } from './offcpu-layout.js';
import { createGenerationDrain } from './generation-drain.js';
import { normalizeTargets, type NormalizedTargets, type RawStackBatch, type TargetSelection } from '../stacks/raw-stacks.js';
import { type StackSampler } from './stack-sampler.js';
import { prepareWalkerMaps, applyTargets, syncTargetMap, type SharedWalkerMaps } from './sampler-maps.js';
import { startWithTracepointFallback, type TracepointAttachMode } from './tracepoint-attach.js';
import { createHookFrameTrimmer, type KernelSymbolName } from './hook-frames.js';
import { type Logger } from '../log/logger.js';

/** Settings of the off-CPU sampler; every field has a default. */
export interface OffCpuSamplerOptions {
  /** Processes to profile; default 'all'. 'none' or an empty list: no process, until setTargets(). */
  readonly targets?: TargetSelection;
  /** Blocks shorter than this are ignored; default 1 µs, as bcc's offcputime. */
  readonly minBlockNs?: bigint;
  /** Blocks longer than this are ignored; default no bound. */
  readonly maxBlockNs?: bigint;
  /** Keep only voluntary sleeps or only preemptions; default all. */
  readonly state?: OffCpuState;
  /** A tgid never profiled, normally the agent's own; default process.pid. */
  readonly selfTgid?: number;
  /** Which scheduler hook: tp_btf (5.5+), raw_tp (4.17+), or the first that attaches. */
  readonly attachMode?: TracepointAttachMode;
  readonly countsMaxEntries?: number;
  readonly stacksMaxEntries?: number;
  /** Threads that can be off-CPU at once; default 32768 (LRU beyond). */
  readonly startMaxEntries?: number;
  readonly settleMs?: number;
  readonly log?: Logger;
  /**
   * Walk user stacks with the .eh_frame tables in these maps (bpf/unwinder.h,
   * Linux 5.17+); default none: frame pointers only.
   */
  readonly unwindMaps?: SharedWalkerMaps;
  /** With unwindMaps: also walk the Python frames of the processes in its python_procs; default true. */
  readonly pythonFrames?: boolean;
  /**
   * Names kernel addresses, so that each stack's leading frames of the
   * sampler's own hook (bpf_prog_*, bpf_trace_run*) are cut in the drain;
   * default none: stacks keep them.
   */
  readonly kernelSymbolName?: KernelSymbolName;
}

/** The off-CPU sampler: a StackSampler over bpf/offcpu.bpf.c. */
export interface OffCpuSampler extends StackSampler {
  /** The hook in use once started: 'tp_btf' or 'raw_tp'. */
  readonly attachedWith: 'tp_btf' | 'raw_tp' | undefined;
}

const valueTypes = [{ type: 'switches', unit: 'count' }, { type: 'off_cpu', unit: 'nanoseconds' }] as const;
const periodType = { type: 'off_cpu', unit: 'nanoseconds' } as const;
const programs = { tp_btf: 'sched_switch_btf', raw_tp: 'sched_switch_raw' } as const;

/**
 * Creates an off-CPU sampler (Linux 5.8+ with BTF; tp_btf since 5.5, raw_tp
 * as the fallback). Each block is charged, at wake-up, to the stack the
 * thread had when it left the CPU: one switch and the time it was away.
 */
export function createOffCpuSampler(
  opts: OffCpuSamplerOptions = {},
  open: BpfObjectFactory = (name) => openBpfObject(name, opts.log ? { log: opts.log } : {}),
): OffCpuSampler {
  const dwarf = opts.unwindMaps !== undefined;
  const window = createGenerationDrain({ valueTypes, periodType, period: 1 }, OFFCPU_DROP_REASONS, dwarf, opts.settleMs);
  let obj: BpfObject | undefined;
  let link: BpfLink | undefined;
  let attachedWith: 'tp_btf' | 'raw_tp' | undefined;
  let targets: NormalizedTargets = normalizeTargets(opts.targets ?? 'all');
  const trimHook = opts.kernelSymbolName ? createHookFrameTrimmer(opts.kernelSymbolName) : undefined;

  const writeControl = (o: BpfObject): void =>
    o.map('control').update(u32Bytes(0), encodeOnCpuControl(window.generation, targets === 'all'));

  const stop = (): void => {
    link?.destroy();
    link = undefined;
    obj?.destroy();
    obj = undefined;
  };

  const tryStart = (mode: 'tp_btf' | 'raw_tp'): void => {
    const o = open('offcpu');
    obj = o;
    o.setAutoload(programs.tp_btf, mode === 'tp_btf');
    o.setAutoload(programs.raw_tp, mode === 'raw_tp');
    o.setGlobal('filter_tgid', Buffer.from([1]));
    o.setGlobal('self_tgid', u32Bytes(opts.selfTgid ?? process.pid));
    o.setGlobal('min_block_ns', u64Bytes(opts.minBlockNs ?? 1000n));
    o.setGlobal('max_block_ns', u64Bytes(opts.maxBlockNs ?? 0xffffffffffffffffn));
    o.setGlobal('state_filter', u32Bytes(OffCpuStateFilter[opts.state ?? 'all']));
    for (const m of ['counts0', 'counts1']) o.resizeMap(m, opts.countsMaxEntries ?? 10240);
    for (const m of ['stacks0', 'stacks1']) o.resizeMap(m, opts.stacksMaxEntries ?? 16384);
    o.resizeMap('start', opts.startMaxEntries ?? 32768);
    prepareWalkerMaps(o, opts.unwindMaps, opts.stacksMaxEntries ?? 16384, opts.pythonFrames ?? true);
    o.load();
    syncTargetMap(o.map('targets'), targets);
    writeControl(o);
    window.begin(o);
    link = o.attach(programs[mode]);
    attachedWith = mode;
  };

  return {
    get attachedWith() { return attachedWith; },
    start() {
      if (obj) throw new Error('starting off-cpu sampler: already started');
      startWithTracepointFallback(opts.attachMode ?? 'auto', 'sched_switch', tryStart, stop, opts.log);
    },
    drain(): RawStackBatch {
      if (!obj) throw new Error('draining off-cpu sampler: not started: call start() first');
      const o = obj;
      return window.drain(o, () => writeControl(o), (old, drops) => {
        const samples = drainOffCpuGeneration(o, old, drops, dwarf);
        if (!trimHook) return samples;
        // Most stacks keep their sample object: only a trimmed one is copied.
        return samples.map((s) => {
          const kernelStack = trimHook(s.kernelStack);
          return kernelStack === s.kernelStack ? s : { ...s, kernelStack };
        });
      });
    },
    setTargets(next) {
      targets = normalizeTargets(next);
      if (!obj) return;
      applyTargets(obj, targets, writeControl);
    },
    stop,
  };
}
