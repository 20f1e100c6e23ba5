import { openBpfObject } from '../kernel/index.js';
import type { BpfLink, BpfObject, BpfObjectFactory } from '../kernel/index.js';
import { decodeOnCpuKey, encodeOnCpuControl, u32Bytes } from './oncpu-layout.js';
import { pythonOf, readPythonStacks, readUserStacks } from './oncpu-drain.js';
import { u64Bytes } from './offcpu-layout.js';
import { decodeMemoryValue, expQuantileTable, fromFx, liveKeyTgid, MEMORY_DROP_REASONS, weightTable } from './memory-layout.js';
import { findAllocatorProbes, type AllocatorProbe } from './allocator-probes.js';
import { createGenerationDrain } from './generation-drain.js';
import { normalizeTargets, type DropCounts, type NormalizedTargets, type RawStackBatch, type RawStackSample, type TargetSelection } from '../stacks/raw-stacks.js';
import { type StackSampler } from './stack-sampler.js';
import { applyTargets, syncTargetMap, type SharedWalkerMaps } from './sampler-maps.js';
import { type Logger } from '../log/logger.js';

/** An executable file a process maps: a path this process can read it by, and its identity in every process. */
export interface MappedFile {
  readonly path: string;
  /** Device and inode: one uprobe per file serves every process mapping it. */
  readonly key: string;
}

/** What the memory sampler needs to know about processes (the process table, in the agent). */
export interface MemoryProcessView {
  /**
   * The ELF files `pid` maps executable (its libc, its executable, ...);
   * empty when it is gone. With `fresh`, its maps are read again first, so a
   * library loaded with dlopen() since is among them.
   */
  mappedFiles(pid: number, fresh?: boolean): readonly MappedFile[];
  /** Processes known now, for targets 'all'. */
  pids(): Iterable<number>;
  alive(pid: number): boolean;
  /** True when `stack` was walked in an image `pid` has exec'ed away from (whose memory went with it). */
  formerImage?(pid: number, stack: readonly bigint[]): boolean;
}

/** Settings of the memory sampler. */
export interface MemorySamplerOptions {
  readonly processes: MemoryProcessView;
  /** Processes to profile; default 'all' (every process's allocator, probed for everyone: costly). */
  readonly targets?: TargetSelection;
  /** Mean bytes between sampled allocations; default 512 KiB, 1 records every allocation. */
  readonly rateBytes?: number;
  /** A tgid never profiled, normally the agent's own; default process.pid. */
  readonly selfTgid?: number;
  /** Distinct (thread, stack) keys per drain; default 10240. */
  readonly countsMaxEntries?: number;
  /** Distinct walked stacks per drain; default 16384. */
  readonly stacksMaxEntries?: number;
  /** Sampled blocks remembered until freed; default 65536 (32 GiB of live heap at the default rate). */
  readonly liveMaxEntries?: number;
  readonly settleMs?: number;
  readonly log?: Logger;
  /** The .eh_frame walker's maps; default none: frame pointers only. */
  readonly unwindMaps?: SharedWalkerMaps;
  /** With unwindMaps: also walk the Python frames of the processes in its python_procs; default true. */
  readonly pythonFrames?: boolean;
}

/** The largest rate: its product with the 16.16 weights must stay within 64 bits. */
export const MAX_MEMORY_RATE = 2 ** 32;

const valueTypes = [
  { type: 'alloc_objects', unit: 'count' }, { type: 'alloc_space', unit: 'bytes' },
  { type: 'inuse_objects', unit: 'count' }, { type: 'inuse_space', unit: 'bytes' },
] as const;
const periodType = { type: 'space', unit: 'bytes' } as const;
/** inuse_objects and inuse_space are levels at the end of the window. */
const levels = [2, 3] as const;

/** What one (thread, stack) holds: its walked stack, its sampled blocks still live, its rounding carry. */
interface KeyState {
  readonly tgid: number;
  readonly tid: number;
  readonly comm: string;
  stack: readonly bigint[];
  /** Packed Python frames (pywalker.h), when the allocation ran Python code. */
  pythonStack?: bigint[] | undefined;
  liveFx: number;
  liveBytes: number;
  carry: number;
}

/**
 * Creates the memory sampler (uprobes, Linux 5.17+ for the walker): probes
 * the allocator of every targeted process, per process and file, and
 * returns per drain the allocations of the window (alloc_objects,
 * alloc_space) and what sampled allocations still hold at its end
 * (inuse_objects, inuse_space), as Go heap profiles do.
 */
export function createMemorySampler(
  opts: MemorySamplerOptions,
  open: BpfObjectFactory = (name) => openBpfObject(name, opts.log ? { log: opts.log } : {}),
): StackSampler {
  const rate = opts.rateBytes ?? 512 * 1024;
  if (!Number.isInteger(rate) || rate < 1 || rate > MAX_MEMORY_RATE) {
    throw new Error(`creating memory sampler: rate ${rate} bytes out of range: use 1..${MAX_MEMORY_RATE}`);
  }
  const window = createGenerationDrain({ valueTypes, periodType, period: rate, levels }, MEMORY_DROP_REASONS, true, opts.settleMs);
  let obj: BpfObject | undefined;
  let targets: NormalizedTargets = normalizeTargets(opts.targets ?? 'all');
  /** `${pid}|${file key}` (pid -1: every process) → its probes' links. */
  const links = new Map<string, BpfLink[]>();
  const probesOf = new Map<string, AllocatorProbe[]>();
  const states = new Map<string, KeyState>();
  const unprobeable = new Set<string>();

  const writeControl = (o: BpfObject): void =>
    o.map('control').update(u32Bytes(0), encodeOnCpuControl(window.generation, targets === 'all'));

  const probes = (file: MappedFile): AllocatorProbe[] => {
    let p = probesOf.get(file.key);
    if (p === undefined) {
      try {
        p = findAllocatorProbes(file.path);
      } catch (err) {
        opts.log?.debug(`memory: not probing ${file.path}: ${(err as Error).message}`);
        p = [];
      }
      probesOf.set(file.key, p);
    }
    return p;
  };

  const attachFile = (o: BpfObject, pid: number, file: MappedFile): void => {
    const id = `${pid}|${file.key}`;
    if (links.has(id) || unprobeable.has(id)) return;
    const found = probes(file);
    if (found.length === 0) return;
    const made: BpfLink[] = [];
    try {
      for (const p of found) {
        made.push(o.attachUprobe(p.program, { pid, binaryPath: file.path, offset: p.offset, retprobe: p.retprobe }));
      }
      links.set(id, made);
    } catch (err) {
      for (const l of made) l.destroy();
      // a process that exited between reading its maps and the attach is not a failure
      if (pid !== -1 && !opts.processes.alive(pid)) return;
      unprobeable.add(id);
      opts.log?.warn(`memory: cannot probe the allocator in ${file.path}${pid === -1 ? '' : ` of pid ${pid}`}: ${(err as Error).message}`);
    }
  };

  /** Probes every allocator file the selection maps; called at start and each drain (dlopen, new processes). */
  const attachAll = (o: BpfObject): void => {
    if (targets === 'none') return;
    if (targets === 'all') {
      for (const pid of opts.processes.pids()) for (const f of opts.processes.mappedFiles(pid)) attachFile(o, -1, f);
      return;
    }
    // named targets are few: their maps are read each drain, so an allocator dlopen()ed later is probed within a second
    for (const pid of targets) for (const f of opts.processes.mappedFiles(pid, true)) attachFile(o, pid, f);
  };

  const detachWhere = (keep: (pid: number) => boolean): void => {
    for (const [id, made] of links) {
      const pid = Number(id.slice(0, id.indexOf('|')));
      if (keep(pid)) continue;
      for (const l of made) l.destroy();
      links.delete(id);
    }
  };

  /** Forgets what exited processes held: their links, their in-use and their kernel `live` entries. */
  const forgetExited = (o: BpfObject): ReadonlySet<number> => {
    // Each pid asked once per drain: there are many stack states per process.
    const checked = new Map<number, boolean>();
    const alive = (pid: number): boolean => {
      let a = checked.get(pid);
      if (a === undefined) checked.set(pid, (a = opts.processes.alive(pid)));
      return a;
    };
    const gone = new Set<number>();
    for (const s of states.values()) if (!alive(s.tgid)) gone.add(s.tgid);
    for (const id of links.keys()) {
      const pid = Number(id.slice(0, id.indexOf('|')));
      if (pid !== -1 && !alive(pid)) gone.add(pid);
    }
    if (gone.size === 0) return gone;
    detachWhere((pid) => !gone.has(pid));
    for (const [k, s] of states) if (gone.has(s.tgid)) states.delete(k);
    const live = o.map('live');
    const all = live.lookupBatch();
    live.deleteBatch(all.keys.filter((k) => gone.has(liveKeyTgid(k))).map((k) => Buffer.from(k)));
    return gone;
  };

  /**
   * Forgets what stacks of an image their process exec'ed away from hold:
   * the exec freed that memory without a free() call. Returns their states.
   */
  const forgetFormerImages = (o: BpfObject): ReadonlySet<KeyState> => {
    const former = new Set<KeyState>();
    const ids = new Set<string>();
    const isFormer = opts.processes.formerImage;
    if (isFormer === undefined) return former;
    for (const [id, s] of states) {
      if (s.stack.length === 0 || !isFormer(s.tgid, s.stack)) continue;
      former.add(s);
      ids.add(id);
      states.delete(id);
    }
    if (former.size === 0) return former;
    const live = o.map('live');
    const all = live.lookupBatch();
    const stale = all.keys.filter((_, i) => {
      const k = decodeOnCpuKey(Buffer.from(all.values[i]!));
      return ids.has(`${k.tgid}/${k.pid}/${k.comm}/${k.userStackId}/${k.pyStackId}`);
    });
    if (stale.length > 0) live.deleteBatch(stale.map((k) => Buffer.from(k)));
    return former;
  };

  const read = (o: BpfObject, gen: 0 | 1, drops: DropCounts): RawStackSample[] => {
    const counts = o.map(`counts${gen}`).lookupAndDeleteBatch();
    const walked = readUserStacks(o, gen);
    const python = readPythonStacks(o, gen);
    const samples: RawStackSample[] = [];
    const touched = new Set<string>();
    counts.keys.forEach((k, i) => {
      const v = counts.values[i];
      if (!v) return;
      const key = decodeOnCpuKey(k);
      const value = decodeMemoryValue(v);
      const id = `${key.tgid}/${key.pid}/${key.comm}/${key.userStackId}/${key.pyStackId}`;
      let s = states.get(id);
      if (s === undefined) {
        s = { tgid: key.tgid, tid: key.pid, comm: key.comm, stack: [], liveFx: 0, liveBytes: 0, carry: 0 };
        states.set(id, s);
      }
      if (s.stack.length === 0 && key.userStackId >= 0) {
        const stack = walked.get(key.userStackId);
        if (stack !== undefined) s.stack = stack;
        else drops.stack_missing = (drops.stack_missing ?? 0) + 1;
      }
      // ids are hashes of the frames: the same id in a later drain is the same Python stack
      if (s.pythonStack === undefined && key.pyStackId >= 0) s.pythonStack = pythonOf(python, key.pyStackId, drops).pythonStack;
      s.liveFx = Math.max(0, s.liveFx + value.allocObjectsFx - value.freeObjectsFx);
      s.liveBytes = Math.max(0, s.liveBytes + value.allocBytes - value.freeBytes);
      // object estimates are fractional: carry the rounding so sums over drains stay exact
      const objects = fromFx(value.allocObjectsFx) + s.carry;
      const whole = Math.round(objects);
      s.carry = objects - whole;
      touched.add(id);
      samples.push({
        tgid: s.tgid, tid: s.tid, comm: s.comm, userStack: s.stack, kernelStack: [], ...(s.pythonStack ? { pythonStack: s.pythonStack } : {}),
        values: [whole, value.allocBytes, Math.round(fromFx(s.liveFx)), s.liveBytes],
      });
    });
    for (const [id, s] of states) {
      if (touched.has(id)) continue;
      if (s.liveBytes === 0) {
        // nothing held and nothing new: forget it (its rounding carry is under half an object)
        states.delete(id);
        continue;
      }
      samples.push({
        tgid: s.tgid, tid: s.tid, comm: s.comm, userStack: s.stack, kernelStack: [], ...(s.pythonStack ? { pythonStack: s.pythonStack } : {}),
        values: [0, 0, Math.round(fromFx(s.liveFx)), s.liveBytes],
      });
    }
    return samples.filter((s) => s.values.some((x) => x !== 0));
  };

  const stop = (): void => {
    detachWhere(() => false);
    obj?.destroy();
    obj = undefined;
  };

  return {
    start() {
      if (obj) throw new Error('starting memory sampler: already started');
      const o = open('memory');
      obj = o;
      try {
        o.setGlobal('filter_tgid', Buffer.from([1]));
        o.setGlobal('self_tgid', u32Bytes(opts.selfTgid ?? process.pid));
        o.setGlobal('rate', u64Bytes(BigInt(rate)));
        o.setGlobal('exp_quantiles', expQuantileTable());
        o.setGlobal('weights', weightTable());
        for (const m of ['counts0', 'counts1']) o.resizeMap(m, opts.countsMaxEntries ?? 10240);
        // the walker's stacks are content-addressed, so every uprobe walks with it (frame pointers without tables)
        for (const m of ['ustacks0', 'ustacks1']) o.resizeMap(m, opts.stacksMaxEntries ?? 16384);
        for (const m of ['stacks0', 'stacks1']) o.resizeMap(m, 1);
        o.resizeMap('live', opts.liveMaxEntries ?? 65536);
        o.resizeMap('drops', MEMORY_DROP_REASONS.length);
        // Python frames with the walker's python_procs, as the CPU samplers walk them
        const python = opts.unwindMaps !== undefined && (opts.pythonFrames ?? true);
        o.setGlobal('python_frames', Buffer.from([python ? 1 : 0]));
        for (const m of ['pystacks0', 'pystacks1']) o.resizeMap(m, python ? 1024 : 1);
        if (opts.unwindMaps) opts.unwindMaps.shareWith(o, true);
        else {
          for (const m of ['unwind_rows', 'unwind_tables', 'unwind_procs', 'unwind_asked', 'python_procs']) o.resizeMap(m, 1);
          for (const m of ['unwind_asks', 'unwind_notices']) o.resizeMap(m, 4096);
        }
        o.load();
        syncTargetMap(o.map('targets'), targets);
        writeControl(o);
        window.begin(o);
        attachAll(o);
      } catch (err) {
        stop();
        throw err;
      }
    },
    drain(): RawStackBatch {
      if (!obj) throw new Error('draining memory sampler: not started: call start() first');
      const o = obj;
      const batch = window.drain(o, () => writeControl(o), (old, drops) => read(o, old, drops));
      const gone = forgetExited(o);
      const former = new Set([...forgetFormerImages(o)].map((s) => s.stack));
      attachAll(o);
      if (gone.size === 0 && former.size === 0) return batch;
      // a process that exited (or an image exec'ed away from) holds nothing: its allocations of the window stay, its in-use goes
      const samples = batch.samples
        .map((s) => (gone.has(s.tgid) || former.has(s.userStack) ? { ...s, values: [s.values[0] ?? 0, s.values[1] ?? 0, 0, 0] } : s))
        .filter((s) => s.values.some((x) => x !== 0));
      return { ...batch, samples };
    },
    setTargets(next) {
      targets = normalizeTargets(next);
      if (!obj) return;
      const t = targets;
      detachWhere((pid) => (t === 'all' ? pid === -1 : t !== 'none' && t.includes(pid)));
      // in the shared order: a free of a block allocated under the old selection is not missed in between
      applyTargets(obj, targets, writeControl);
      attachAll(obj);
    },
    stop,
  };
}
