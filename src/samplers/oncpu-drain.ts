import type { BpfObject } from '../kernel/index.js';
import { decodeOnCpuKey, decodeStack, u32Bytes } from './oncpu-layout.js';
import type { DropCounts, RawStackSample } from './raw-stacks.js';

/**
 * Drains counts<gen> and the stacks it references into samples, then
 * empties stacks<gen>. Call only after the generation was flipped away
 * from `gen` and in-flight programs settled.
 */
export function drainOnCpuGeneration(o: BpfObject, gen: 0 | 1, period: number, drops: DropCounts): RawStackSample[] {
  const counts = o.map(`counts${gen}`).lookupAndDeleteBatch();
  const stacks = o.map(`stacks${gen}`);
  const cache = new Map<number, bigint[]>();
  const stackOf = (id: number): bigint[] => {
    if (id < 0) return [];
    let s = cache.get(id);
    if (!s) {
      const v = stacks.lookup(u32Bytes(id));
      if (!v) drops.stack_missing = (drops.stack_missing ?? 0) + 1;
      s = v ? decodeStack(v) : [];
      cache.set(id, s);
    }
    return s;
  };
  const samples: RawStackSample[] = [];
  counts.keys.forEach((k, i) => {
    const key = decodeOnCpuKey(k);
    const count = Number(counts.values[i]?.readBigUInt64LE(0) ?? 0n);
    if (count === 0) return;
    samples.push({
      tgid: key.tgid, tid: key.pid, comm: key.comm,
      userStack: stackOf(key.userStackId),
      kernelStack: stackOf(key.kernStackId),
      values: [count, count * period],
    });
  });
  for (const id of cache.keys()) stacks.delete(u32Bytes(id));
  // stacks stored for samples the counts map then refused are unreferenced
  for (let k = stacks.nextKey(undefined); k && stacks.delete(k); k = stacks.nextKey(undefined));
  return samples;
}
