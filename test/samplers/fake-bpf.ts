import type { BpfLink, BpfMap, BpfObject, MapEntries } from '../../src/kernel/index.js';

/** An in-memory BpfMap: entries keyed by the key's hex. */
export interface FakeMap extends BpfMap {
  readonly entries: Map<string, Buffer>;
  /** Called before each lookupAndDeleteBatch, to observe ordering. */
  onDrain?: () => void;
}

export function fakeMap(name: string, keySize: number, userValueSize: number, maxEntries = 1 << 20): FakeMap {
  const entries = new Map<string, Buffer>();
  const all = (): MapEntries => {
    const keys = [...entries.keys()].map((k) => Buffer.from(k, 'hex'));
    return { keys, values: keys.map((k) => entries.get(k.toString('hex'))!) };
  };
  const map: FakeMap = {
    name, fd: 100, type: 1, keySize, valueSize: userValueSize, userValueSize, maxEntries, entries,
    lookupBatch: all,
    lookupAndDeleteBatch: () => {
      map.onDrain?.();
      const r = all();
      entries.clear();
      return r;
    },
    deleteBatch: (keys) => keys.filter((k) => entries.delete(k.toString('hex'))).length,
    lookup: (k) => entries.get(k.toString('hex')),
    update: (k, v) => void entries.set(k.toString('hex'), Buffer.from(v)),
    updateBatch: (ks, vs) => ks.forEach((k, i) => entries.set(k.toString('hex'), Buffer.from(vs[i]!))),
    delete: (k) => entries.delete(k.toString('hex')),
    nextKey: (k) => {
      const keys = [...entries.keys()];
      const i = k ? keys.indexOf(k.toString('hex')) + 1 : 0;
      return keys[i] === undefined ? undefined : Buffer.from(keys[i]!, 'hex');
    },
  };
  return map;
}

/** A BpfObject over fake maps that records what the sampler did. */
export interface FakeObject extends BpfObject {
  readonly maps: Map<string, FakeMap>;
  readonly globals: Map<string, Buffer>;
  readonly sizes: Map<string, number>;
  readonly attached: { cpu: number; frequencyHz: number; destroyed: boolean }[];
  destroyed: boolean;
  failLoad?: Error;
}

export function fakeOnCpuObject(): FakeObject {
  const maps = new Map<string, FakeMap>([
    ['control', fakeMap('control', 4, 8)],
    ['targets', fakeMap('targets', 4, 1)],
    ['counts0', fakeMap('counts0', 32, 8)],
    ['counts1', fakeMap('counts1', 32, 8)],
    ['ustacks0', fakeMap('ustacks0', 4, 1032)],
    ['ustacks1', fakeMap('ustacks1', 4, 1032)],
    ['stacks0', fakeMap('stacks0', 4, 127 * 8)],
    ['stacks1', fakeMap('stacks1', 4, 127 * 8)],
    ['drops', fakeMap('drops', 4, 16)], // two possible CPUs
  ]);
  const obj: FakeObject = {
    name: 'oncpu', maps, globals: new Map(), sizes: new Map(), attached: [], destroyed: false,
    setGlobal: (n, v) => void obj.globals.set(n, v),
    resizeMap: (n, s) => void obj.sizes.set(n, s),
    setAutoload: () => undefined,
    reuseMap: (n, m) => void maps.set(n, m as FakeMap),
    load: () => {
      if (obj.failLoad) throw obj.failLoad;
    },
    map: (n) => {
      const m = maps.get(n);
      if (!m) throw new Error(`no map ${n}`);
      return m;
    },
    attachPerfEvent: (_p, o): BpfLink => {
      const rec = { ...o, destroyed: false };
      obj.attached.push(rec);
      return { destroy: () => void (rec.destroyed = true) };
    },
    attach: () => ({ destroy: () => undefined }),
    attachUprobe: () => ({ destroy: () => undefined }),
    ringBuffer: () => ({ poll: () => [], fd: -1, close: () => undefined }),
    destroy: () => void (obj.destroyed = true),
  };
  return obj;
}
