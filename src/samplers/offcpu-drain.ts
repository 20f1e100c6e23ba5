import type { BpfObject } from '../kernel/index.js';
import { pythonOf, readPythonStacks, readUserStacks, walkedStack } from './oncpu-drain.js';
import { decodeOnCpuKey } from './oncpu-layout.js';
import { decodeOffCpuStartStacks, decodeOffCpuValue } from './offcpu-layout.js';
import type { DropCounts, RawStackSample } from '../stacks/raw-stacks.js';
import { createStackReader, mapKeys } from './sampler-maps.js';

/**
 * Drains counts<gen>. Threads still off-CPU since before the flip will add
 * to counts<gen> when they wake, so the stacks they refer to stay; every
 * other stack of that generation is read (if counted) and deleted; the
 * same holds for the walked stacks in ustacks<gen>.
 */
export function drainOffCpuGeneration(o: BpfObject, gen: 0 | 1, drops: DropCounts, dwarf = false): RawStackSample[] {
  const start = o.map('start');
  const pending = new Set<number>();
  const pendingWalks = new Set<number>();
  const pendingPython = new Set<number>();
  const sleeping = start.lookupBatch();
  for (const v of sleeping.values) {
    const s = decodeOffCpuStartStacks(v);
    if (s.generation !== gen) continue;
    // with the walker on, user stack ids are keys of ustacks<gen>
    if (s.userStackId >= 0) (dwarf ? pendingWalks : pending).add(s.userStackId);
    if (s.kernStackId >= 0) pending.add(s.kernStackId);
    if (s.pyStackId >= 0) pendingPython.add(s.pyStackId);
  }
  if (sleeping.keys.length >= start.maxEntries) {
    // LRU eviction from here on forgets the oldest sleepers' blocks.
    drops.start_map_full = (drops.start_map_full ?? 0) + 1;
  }
  const counts = o.map(`counts${gen}`).lookupAndDeleteBatch();
  const stacks = o.map(`stacks${gen}`);
  const walked = dwarf ? readUserStacks(o, gen, pendingWalks) : undefined;
  const python = dwarf ? readPythonStacks(o, gen, pendingPython) : undefined;
  const reader = createStackReader(stacks, drops);
  const stackOf = (id: number): bigint[] => reader.stackOf(id);
  const samples: RawStackSample[] = [];
  counts.keys.forEach((k, i) => {
    const key = decodeOnCpuKey(k);
    const v = counts.values[i];
    if (!v) return;
    const { switches, totalNs } = decodeOffCpuValue(v);
    if (switches === 0) return;
    samples.push({
      tgid: key.tgid, tid: key.pid, comm: key.comm,
      userStack: walked ? walkedStack(walked, key.userStackId, drops) : stackOf(key.userStackId),
      kernelStack: stackOf(key.kernStackId),
      ...pythonOf(python, key.pyStackId, drops),
      values: [switches, totalNs],
    });
  });
  for (const k of mapKeys(stacks)) {
    if (!pending.has(k.readUInt32LE(0))) stacks.delete(k);
  }
  return samples;
}
