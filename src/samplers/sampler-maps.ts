import type { BpfMap, BpfObject } from '../kernel/index.js';
import { decodeStack, sumPerCpuU64, u32Bytes } from './oncpu-layout.js';
import type { DropCounts } from './raw-stacks.js';

/**
 * Makes the kernel `targets` hash (tgid → 1) hold exactly `targets`; with
 * 'all' it is emptied and the control entry's all_targets switch takes over.
 */
export function syncTargetMap(map: BpfMap, targets: readonly number[] | 'all'): void {
  const want = new Set(targets === 'all' ? [] : targets);
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

/** Entries of the .eh_frame unwinder's maps (bpf/unwinder.h); each has a default. */
export interface UnwindMapSizes {
  /** 64-row (1 KiB) chunks of rows shared by all tables; default 16384 (16 MiB, 1 Mi rows). */
  readonly rowChunks?: number;
  /** Distinct files with a table; default 4096. */
  readonly tables?: number;
  /** Processes with mapping entries (2 KiB each); default 1024. */
  readonly procs?: number;
}

/** Default UnwindMapSizes. */
export const DEFAULT_UNWIND_MAP_SIZES: Required<UnwindMapSizes> = { rowChunks: 1 << 14, tables: 4096, procs: 1024 };

/**
 * Sizes the unwinder's maps before load; with the walker off they shrink
 * to one entry each, since the verifier still sees (and loads) them.
 */
export function sizeUnwindMaps(o: BpfObject, dwarf: boolean, ustacks: number, sizes: UnwindMapSizes = {}): void {
  const s = { ...DEFAULT_UNWIND_MAP_SIZES, ...sizes };
  o.resizeMap('unwind_rows', dwarf ? s.rowChunks : 1);
  o.resizeMap('unwind_tables', dwarf ? s.tables : 1);
  o.resizeMap('unwind_procs', dwarf ? s.procs : 1);
  for (const m of ['ustacks0', 'ustacks1']) o.resizeMap(m, dwarf ? ustacks : 1);
}

/** enum unwind_drop_reason of bpf/unwinder.h (map `unwind_drops`), by index, as DropCounts names. */
export const UNWIND_DROP_REASONS = [
  'user_stack_truncated_depth', 'user_stack_truncated_no_unwind_info', 'user_stack_truncated_unreadable',
  'user_stack_no_process_tables', 'user_stack_id_collision', 'user_stack_map_full',
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
