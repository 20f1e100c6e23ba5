import type { BpfLink, BpfObject } from '../../src/kernel/index.js';
import { fakeMap, type FakeMap } from './fake-map.js';
import { fakeRingBuffer } from './fake-ring-buffer.js';

/** A BpfObject over fake maps that records what the sampler did. */
export interface FakeObject extends BpfObject {
  readonly maps: Map<string, FakeMap>;
  readonly globals: Map<string, Buffer>;
  readonly sizes: Map<string, number>;
  readonly attached: { cpu: number; frequencyHz: number; destroyed: boolean }[];
  destroyed: boolean;
  failLoad?: Error;
}

/** The on-CPU program's maps, empty, with the sizes the sampler expects. */
export function fakeOnCpuObject(): FakeObject {
  const maps = new Map<string, FakeMap>([
    ['control', fakeMap('control', 4, 8)],
    ['targets', fakeMap('targets', 4, 1)],
    ['counts0', fakeMap('counts0', 40, 8)],
    ['counts1', fakeMap('counts1', 40, 8)],
    ['ustacks0', fakeMap('ustacks0', 4, 1032)],
    ['ustacks1', fakeMap('ustacks1', 4, 1032)],
    ['pystacks0', fakeMap('pystacks0', 4, 528)],
    ['pystacks1', fakeMap('pystacks1', 4, 528)],
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
    ringBuffer: () => fakeRingBuffer(),
    destroy: () => void (obj.destroyed = true),
  };
  return obj;
}
