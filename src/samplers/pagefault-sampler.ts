import { openBpfObject } from '../kernel/index.js';
import type { BpfLink, BpfObject, BpfObjectFactory } from '../kernel/index.js';
import { drainOnCpuGeneration } from './oncpu-drain.js';
import { encodeOnCpuControl, SAMPLER_DROP_REASONS, u32Bytes } from './oncpu-layout.js';
import { createGenerationDrain } from './generation-drain.js';
import { normalizeTargets, type NormalizedTargets, type RawStackBatch, type TargetSelection } from '../stacks/raw-stacks.js';
import { type StackSampler } from './stack-sampler.js';
import { prepareWalkerMaps, applyTargets, syncTargetMap, type SharedWalkerMaps } from './sampler-maps.js';
import { startWithTracepointFallback, type TracepointAttachMode } from './tracepoint-attach.js';
import { type Logger } from '../log/logger.js';

/** Settings of the page-fault sampler; every field has a default. */
export interface PageFaultSamplerOptions {
  /** Processes to profile; default 'all'. */
  readonly targets?: TargetSelection;
  /** A tgid never profiled, normally the agent's own; default process.pid. */
  readonly selfTgid?: number;
  /** Which hook: tp_btf (5.5+), raw_tp (4.17+), or the first that attaches. */
  readonly attachMode?: TracepointAttachMode;
  readonly countsMaxEntries?: number;
  readonly stacksMaxEntries?: number;
  readonly settleMs?: number;
  readonly log?: Logger;
  /** Walk user stacks with the .eh_frame tables in these maps; default none: frame pointers only. */
  readonly unwindMaps?: SharedWalkerMaps;
}

const valueTypes = [{ type: 'page_faults', unit: 'count' }] as const;
const programs = { tp_btf: 'page_fault_btf', raw_tp: 'page_fault_raw' } as const;

/**
 * Creates a page-fault sampler over bpf/pagefault.bpf.c: every user page
 * fault of the targets (exceptions:page_fault_user, x86), counted per
 * thread and user stack; for memory that grows without malloc.
 */
export function createPageFaultSampler(
  opts: PageFaultSamplerOptions = {},
  open: BpfObjectFactory = (name) => openBpfObject(name, opts.log ? { log: opts.log } : {}),
): StackSampler {
  const dwarf = opts.unwindMaps !== undefined;
  const window = createGenerationDrain({ valueTypes, periodType: valueTypes[0], period: 1 }, SAMPLER_DROP_REASONS, dwarf, opts.settleMs);
  let obj: BpfObject | undefined;
  let link: BpfLink | undefined;
  let targets: NormalizedTargets = normalizeTargets(opts.targets ?? 'all');

  const writeControl = (o: BpfObject): void =>
    o.map('control').update(u32Bytes(0), encodeOnCpuControl(window.generation, targets === 'all'));

  const stop = (): void => {
    link?.destroy();
    link = undefined;
    obj?.destroy();
    obj = undefined;
  };

  const tryStart = (mode: 'tp_btf' | 'raw_tp'): void => {
    const o = open('pagefault');
    obj = o;
    o.setAutoload(programs.tp_btf, mode === 'tp_btf');
    o.setAutoload(programs.raw_tp, mode === 'raw_tp');
    o.setGlobal('filter_tgid', Buffer.from([1]));
    o.setGlobal('self_tgid', u32Bytes(opts.selfTgid ?? process.pid));
    for (const m of ['counts0', 'counts1']) o.resizeMap(m, opts.countsMaxEntries ?? 10240);
    for (const m of ['stacks0', 'stacks1']) o.resizeMap(m, dwarf ? 1 : opts.stacksMaxEntries ?? 16384);
    prepareWalkerMaps(o, opts.unwindMaps, opts.stacksMaxEntries ?? 16384, false, false);
    o.load();
    syncTargetMap(o.map('targets'), targets);
    writeControl(o);
    window.begin(o);
    link = o.attach(programs[mode]);
  };

  return {
    start() {
      if (obj) throw new Error('starting page-fault sampler: already started');
      startWithTracepointFallback(opts.attachMode ?? 'auto', 'page_fault_user', tryStart, stop, opts.log);
    },
    drain(): RawStackBatch {
      if (!obj) throw new Error('draining page-fault sampler: not started: call start() first');
      const o = obj;
      return window.drain(o, () => writeControl(o), (old, drops) =>
        drainOnCpuGeneration(o, old, 1, drops, dwarf, false).map((s) => ({ ...s, values: [s.values[0] ?? 0] })));
    },
    setTargets(next) {
      targets = normalizeTargets(next);
      if (!obj) return;
      applyTargets(obj, targets, writeControl);
    },
    stop,
  };
}
