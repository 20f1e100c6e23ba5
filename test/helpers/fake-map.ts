import type { BpfMap, MapEntries } from '../../src/kernel/index.js';

/** An in-memory BpfMap: entries keyed by the key's hex. */
export interface FakeMap extends BpfMap {
  readonly entries: Map<string, Buffer>;
  /** Called before each lookupAndDeleteBatch, to observe ordering. */
  onDrain?: () => void;
}

/**
 * A BpfMap in memory, with the kernel's capacity: adding a key to a full map
 * fails with E2BIG, as bpf_map_update_elem does.
 */
export function fakeMap(name: string, keySize: number, valueSize: number, maxEntries = 1 << 20): FakeMap {
  const entries = new Map<string, Buffer>();
  const all = (): MapEntries => {
    const keys = [...entries.keys()].map((k) => Buffer.from(k, 'hex'));
    return { keys, values: keys.map((k) => entries.get(k.toString('hex'))!) };
  };
  const update = (k: Buffer, v: Buffer): void => {
    const key = k.toString('hex');
    if (!entries.has(key) && entries.size >= maxEntries) throw new Error('updating map: E2BIG');
    entries.set(key, Buffer.from(v));
  };
  const map: FakeMap = {
    name, fd: 100, type: 1, keySize, valueSize, userValueSize: valueSize, maxEntries, entries,
    lookupBatch: all,
    lookupAndDeleteBatch: () => {
      map.onDrain?.();
      const r = all();
      entries.clear();
      return r;
    },
    deleteBatch: (keys) => keys.filter((k) => entries.delete(k.toString('hex'))).length,
    lookup: (k) => entries.get(k.toString('hex')),
    update,
    updateRun: (first, vs) => {
      // what the real map refuses (bpf-map.ts)
      if (keySize !== 4) throw new Error(`updating ${name}: a run of slots needs u32 keys, map has ${keySize}-byte keys`);
      if (vs.length % valueSize !== 0) throw new Error(`updating ${name}: ${vs.length} bytes of values is not a whole number of ${valueSize}-byte values`);
      for (let i = 0; i * valueSize < vs.length; i++) {
        const k = Buffer.alloc(4);
        k.writeUInt32LE(first + i);
        update(k, vs.subarray(i * valueSize, (i + 1) * valueSize));
      }
    },
    delete: (k) => entries.delete(k.toString('hex')),
    nextKey: (k) => {
      const keys = [...entries.keys()];
      const i = k ? keys.indexOf(k.toString('hex')) + 1 : 0;
      return keys[i] === undefined ? undefined : Buffer.from(keys[i]!, 'hex');
    },
  };
  return map;
}
