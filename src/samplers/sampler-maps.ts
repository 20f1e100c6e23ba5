import type { BpfMap, BpfObject } from '../kernel/index.js';
import { decodeStack, sumPerCpuU64, u32Bytes } from './oncpu-layout.js';
import type { DropCounts, TargetSelection } from '../stacks/raw-stacks.js';

/**
 * Makes the kernel `targets` hash (tgid → 1) hold exactly the listed tgids.
 * With 'all' or 'none' it is emptied: the control entry's all_targets switch
 * then says which (1: every process, 0: an empty hash matches none).
 */
export function syncTargetMap(map: BpfMap, targets: TargetSelection): void {
  const want = new Set(typeof targets === 'string' ? [] : targets);
  const stale: Buffer[] = [];
  for (let k = map.nextKey(undefined); k; k = map.nextKey(k)) {
    const tgid = k.readUInt32LE(0);
    if (!want.delete(tgid)) stale.push(k);
  }
  for (const k of stale) map.delete(k);
  for (const tgid of want) map.update(u32Bytes(tgid), Buffer.from([1]));
}

/** Reads a per-CPU drops array (default `drops`): one running total per reason. */
export function readDropTotals(o: BpfObject, reasons: readonly string[], mapName = 'drops'): number[] {
  const map = o.map(mapName);
  return reasons.map((_, i) => {
    const v = map.lookup(u32Bytes(i));
    return v ? sumPerCpuU64(v) : 0;
  });
}

/** Adds the growth of each running total since `before` into `drops`. */
export function addDropDeltas(drops: DropCounts, reasons: readonly string[], before: readonly number[], after: readonly number[]): void {
  reasons.forEach((reason, i) => {
    const delta = (after[i] ?? 0) - (before[i] ?? 0);
    if (delta > 0) drops[reason] = (drops[reason] ?? 0) + delta;
  });
}

/** All keys of a map (stack trace maps have no batch ops). */
export function mapKeys(map: BpfMap): Buffer[] {
  const keys: Buffer[] = [];
  for (let k = map.nextKey(undefined); k; k = map.nextKey(k)) keys.push(k);
  return keys;
}

/**
 * Switches a loaded sampler's selection to `targets`: the `targets` hash and
 * the control entry (through `writeControl`), ordered so that no moment
 * samples more than the old or the new selection (never everything on the
 * way to 'none') and no tgid in both is missed: enter 'all' before emptying
 * the list; fill the list, or empty it for 'none', before leaving 'all'.
 */
export function applyTargets(o: BpfObject, targets: TargetSelection, writeControl: (o: BpfObject) => void): void {
  if (targets === 'all') {
    writeControl(o);
    syncTargetMap(o.map('targets'), targets);
  } else {
    syncTargetMap(o.map('targets'), targets);
    writeControl(o);
  }
}

/**
 * The .eh_frame walker's maps (unwind_rows, unwind_tables, unwind_procs),
 * owned outside the sampler (src/unwind's UnwindMapSet) so every sampler
 * walks with the same tables.
 */
export interface SharedWalkerMaps {
  /** Before load: makes `o` use these maps instead of its own (python_procs too unless `python` is false). */
  shareWith(o: BpfObject, python?: boolean): void;
}

/**
 * Turns the walker on with `walker`'s maps, or off: then its maps shrink to
 * one entry each, since the verifier still sees (and loads) them. With the
 * walker on, `python` (default true) also walks the Python frames of the
 * processes in its python_procs (bpf/pywalker.h).
 */
export function prepareWalkerMaps(o: BpfObject, walker: SharedWalkerMaps | undefined, ustacks: number, python = true, hasPythonWalker = true): void {
  o.setGlobal('dwarf_unwind', Buffer.from([walker ? 1 : 0]));
  // Objects built without bpf/pywalker.h (memory, page faults) have neither the setting nor its maps.
  if (hasPythonWalker) o.setGlobal('python_frames', Buffer.from([walker && python ? 1 : 0]));
  if (walker) walker.shareWith(o, hasPythonWalker);
  else {
    for (const m of ['unwind_rows', 'unwind_tables', 'unwind_procs', 'unwind_asked', ...(hasPythonWalker ? ['python_procs'] : [])]) o.resizeMap(m, 1);
    for (const m of ['unwind_asks', 'unwind_notices']) o.resizeMap(m, 4096); // a ring buffer is at least a page
  }
  for (const m of ['ustacks0', 'ustacks1']) o.resizeMap(m, walker ? ustacks : 1);
  if (!hasPythonWalker) return;
  // Python stacks are 528 bytes; a quarter of the native ones' room holds the Python processes' share
  for (const m of ['pystacks0', 'pystacks1']) o.resizeMap(m, walker && python ? Math.max(1024, Math.floor(ustacks / 4)) : 1);
}

/** enum unwind_drop_reason of bpf/unwinder.h (map `unwind_drops`), by index, as DropCounts names. */
export const UNWIND_DROP_REASONS = [
  'user_stack_truncated_depth', 'user_stack_truncated_no_unwind_info', 'user_stack_truncated_unreadable',
  'user_stack_no_process_tables', 'user_stack_id_collision', 'user_stack_map_full',
  'python_stack_unreadable', 'python_stack_truncated_depth', 'python_stack_id_collision', 'python_stack_map_full',
] as const;

/** The drop reasons a sampler reports: its own `drops`, then the walker's `unwind_drops` when it is on. */
export function dropReasons(own: readonly string[], dwarf: boolean): string[] {
  return dwarf ? [...own, ...UNWIND_DROP_REASONS] : [...own];
}

/** Running totals in dropReasons(own, dwarf) order. */
export function readAllDropTotals(o: BpfObject, own: readonly string[], dwarf: boolean): number[] {
  const walker = dwarf ? readDropTotals(o, UNWIND_DROP_REASONS, 'unwind_drops') : [];
  return [...readDropTotals(o, own), ...walker];
}

/** Reads a generation's stack-trace map, each id once. */
export interface StackReader {
  /** The addresses of stack `id`, leaf first; empty for -1 or an id that vanished (counted as stack_missing). */
  stackOf(id: number): bigint[];
  /** Every id read so far. */
  readIds(): IterableIterator<number>;
}

/** A reader over `stacks` that counts ids the counts referenced but the map no longer holds. */
export function createStackReader(stacks: BpfMap, drops: DropCounts): StackReader {
  const cache = new Map<number, bigint[]>();
  return {
    stackOf(id) {
      if (id < 0) return [];
      let s = cache.get(id);
      if (!s) {
        const v = stacks.lookup(u32Bytes(id));
        if (!v) drops.stack_missing = (drops.stack_missing ?? 0) + 1;
        s = v ? decodeStack(v) : [];
        cache.set(id, s);
      }
      return s;
    },
    readIds: () => cache.keys(),
  };
}
