import type { BpfMap, BpfObject } from '../kernel/index.js';
import { sumPerCpuU64, u32Bytes } from './oncpu-layout.js';
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

/** Reads the per-CPU `drops` array: one running total per reason. */
export function readDropTotals(o: BpfObject, reasons: readonly string[]): number[] {
  const map = o.map('drops');
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
