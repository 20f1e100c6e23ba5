import type { BpfObject } from '../kernel/index.js';
import { decodeOnCpuKey, decodePythonStack, decodeUserStack, u32Bytes } from './oncpu-layout.js';
import type { DropCounts, RawStackSample } from '../stacks/raw-stacks.js';
import { createStackReader } from './sampler-maps.js';

/**
 * Drains counts<gen> and the stacks it references into samples, then
 * empties stacks<gen>. Call only after the generation was flipped away
 * from `gen` and in-flight programs settled.
 */
export function drainOnCpuGeneration(
  o: BpfObject, gen: 0 | 1, period: number, drops: DropCounts, dwarf = false,
  /** False for objects built without the Python walker (page faults): no pystacks maps. */
  hasPythonWalker = true,
): RawStackSample[] {
  const counts = o.map(`counts${gen}`).lookupAndDeleteBatch();
  // with the walker on, user stack ids are keys of ustacks<gen>
  const walked = dwarf ? readUserStacks(o, gen) : undefined;
  const python = dwarf && hasPythonWalker ? readPythonStacks(o, gen) : undefined;
  const stacks = o.map(`stacks${gen}`);
  const reader = createStackReader(stacks, drops);
  const stackOf = (id: number): bigint[] => reader.stackOf(id);
  const samples: RawStackSample[] = [];
  counts.keys.forEach((k, i) => {
    const key = decodeOnCpuKey(k);
    const count = Number(counts.values[i]?.readBigUInt64LE(0) ?? 0n);
    if (count === 0) return;
    samples.push({
      tgid: key.tgid, tid: key.pid, comm: key.comm,
      userStack: walked ? walkedStack(walked, key.userStackId, drops) : stackOf(key.userStackId),
      kernelStack: stackOf(key.kernStackId),
      ...pythonOf(python, key.pyStackId, drops),
      values: [count, count * period],
    });
  });
  for (const id of reader.readIds()) stacks.delete(u32Bytes(id));
  // stacks stored for samples the counts map then refused are unreferenced
  for (let k = stacks.nextKey(undefined); k && stacks.delete(k); k = stacks.nextKey(undefined));
  return samples;
}

/**
 * Reads ustacks<gen> (31-bit id → pcs walked by the .eh_frame unwinder) and
 * deletes every entry but those in `keep` (stacks of threads still asleep).
 */
export function readUserStacks(o: BpfObject, gen: 0 | 1, keep: ReadonlySet<number> = new Set()): Map<number, bigint[]> {
  const map = o.map(`ustacks${gen}`);
  const all = keep.size === 0 ? map.lookupAndDeleteBatch() : map.lookupBatch();
  const out = new Map<number, bigint[]>();
  const stale: Buffer[] = [];
  all.keys.forEach((k, i) => {
    const v = all.values[i];
    const id = k.readUInt32LE(0);
    if (v) out.set(id, decodeUserStack(v));
    if (keep.size > 0 && !keep.has(id)) stale.push(Buffer.from(k));
  });
  map.deleteBatch(stale);
  return out;
}

/** The walked stack `id` (-1: none); a missing one is counted as stack_missing. */
export function walkedStack(walked: ReadonlyMap<number, bigint[]>, id: number, drops: DropCounts): bigint[] {
  if (id < 0) return [];
  const s = walked.get(id);
  if (s === undefined) drops.stack_missing = (drops.stack_missing ?? 0) + 1;
  return s ?? [];
}

/**
 * Reads pystacks<gen> (31-bit id → packed Python frames) and deletes every
 * entry but those in `keep` (stacks of threads still asleep).
 */
export function readPythonStacks(o: BpfObject, gen: 0 | 1, keep: ReadonlySet<number> = new Set()): Map<number, bigint[]> {
  const map = o.map(`pystacks${gen}`);
  const out = new Map<number, bigint[]>();
  const all = keep.size === 0 ? map.lookupAndDeleteBatch() : map.lookupBatch();
  const stale: Buffer[] = [];
  all.keys.forEach((k, i) => {
    const v = all.values[i];
    const id = k.readUInt32LE(0);
    if (v) out.set(id, decodePythonStack(v));
    if (keep.size > 0 && !keep.has(id)) stale.push(Buffer.from(k));
  });
  map.deleteBatch(stale);
  return out;
}

/** The sample's pythonStack field for id (-1: none); a missing one is counted as python_stack_missing. */
export function pythonOf(python: ReadonlyMap<number, bigint[]> | undefined, id: number, drops: DropCounts): { pythonStack?: bigint[] } {
  if (python === undefined || id < 0) return {};
  const s = python.get(id);
  if (s === undefined) {
    drops.python_stack_missing = (drops.python_stack_missing ?? 0) + 1;
    return {};
  }
  return { pythonStack: s };
}
