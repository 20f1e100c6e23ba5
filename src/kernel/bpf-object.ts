import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { createBpfMap, type BpfMap, type MapHandle } from './bpf-map.js';
import { errnoName, toBpfError, UnsupportedFeatureError } from './errors.js';
import { libbpfLogText, parseLibbpfLog } from './libbpf-log.js';
import { loadNativeAddon, type NativeLinkHandle } from './native-addon.js';
import { buildPath } from './package-root.js';
import { ringBufferOver, type RingRecords } from './ring-records.js';
import { type Logger } from '../log/logger.js';

/** Where libbpf's output goes: one call per line. */

/** An attachment; destroy() detaches (and closes its perf event). Idempotent. */
export interface BpfLink {
  destroy(): void;
}

/** A BPF_MAP_TYPE_RINGBUF consumer (Linux 5.8+). */
export interface BpfRingBuffer {
  /** Waits up to timeoutMs (0 = do not wait) and returns every record available, copied into one buffer. */
  pollBatch(timeoutMs: number): RingRecords;
  /** pollBatch's records as views of its buffer, one each: for rings with few records. */
  poll(timeoutMs: number): Buffer[];
  /** Records consumed but lost so far (no memory to copy them into): to count as a drop. */
  readonly lost: number;
  /** Readable while records wait: for a worker thread that blocks in waitReadable with other fds. */
  readonly fd: number;
  /** Frees the consumer; idempotent. */
  close(): void;
}

/** Uprobe target: a function by name, or a raw file offset in binaryPath. */
export interface UprobeTarget {
  /** -1 for every process. */
  readonly pid: number;
  readonly binaryPath: string;
  readonly functionName?: string;
  readonly offset?: number;
  readonly retprobe?: boolean;
}

/**
 * One BPF object file through its lifecycle: open → setGlobal/resizeMap/
 * setAutoload → load → map()/attach*() → destroy(). Destroying the object
 * does not detach live links; destroy them first.
 */
export interface BpfObject {
  readonly name: string;
  /** Writes a `const volatile` global; before load only. */
  setGlobal(name: string, value: Buffer): void;
  resizeMap(name: string, maxEntries: number): void;
  setAutoload(program: string, on: boolean): void;
  /** Before load: uses `map` (same type and sizes) instead of creating this object's own. */
  reuseMap(name: string, map: MapHandle): void;
  load(): void;
  /** A loaded map; throws before load. */
  map(name: string): BpfMap;
  /** A cpu-clock perf event on one CPU sampling every task at frequencyHz. */
  attachPerfEvent(program: string, opts: { cpu: number; frequencyHz: number }): BpfLink;
  /** Attaches by section name (tp_btf/..., raw_tp/..., kprobe/...). */
  attach(program: string): BpfLink;
  attachUprobe(program: string, target: UprobeTarget): BpfLink;
  /** A consumer of ring buffer map `map`; after load. */
  ringBuffer(map: string): BpfRingBuffer;
  destroy(): void;
}

/** Opens a BpfObject by name; the sampler takes one so tests can fake it. */
export type BpfObjectFactory = (name: string) => BpfObject;

/** Options for openBpfObject. */
export interface OpenBpfObjectOptions {
  /** Defaults to build/<name>.bpf.o under the package root. */
  readonly path?: string;
  readonly log?: Logger;
}

/** Opens build/<name>.bpf.o (or opts.path) with the native addon. */
export function openBpfObject(name: string, opts: OpenBpfObjectOptions = {}): BpfObject {
  const path = opts.path ?? buildPath(`${name}.bpf.o`);
  if (!existsSync(path)) {
    throw new Error(`opening bpf object ${name}: ${path} not found: run \`npm run build\``);
  }
  const native = loadNativeAddon();
  // libbpf's messages go to the sink line by line, keeping each message's level
  const forward = (raw: string): string => {
    const messages = parseLibbpfLog(raw);
    if (opts.log) {
      for (const m of messages) for (const line of m.text.split('\n')) if (line) opts.log[m.level](line);
    }
    return libbpfLogText(messages);
  };
  const call = <T>(doing: string, fn: () => T): T => {
    try {
      const r = fn();
      forward(native.takeLog());
      return r;
    } catch (err) {
      throw toBpfError(doing, err, forward(native.takeLog()));
    }
  };
  const handle = call(`opening bpf object ${basename(path)}`, () => native.open(path));
  const wrapLink = (link: NativeLinkHandle): BpfLink => ({ destroy: () => native.destroyLink(link) });
  let loaded = false;
  let destroyed = false;
  const maps = new Map<string, BpfMap>();
  const obj: BpfObject = {
    name,
    setGlobal: (g, value) => call(`setting global ${g} of bpf object ${name}`, () => native.setGlobal(handle, g, value)),
    resizeMap: (m, n) => call(`resizing map ${name}/${m} to ${n}`, () => native.mapSetMaxEntries(handle, m, n)),
    setAutoload: (p, on) => call(`choosing program ${name}/${p}`, () => native.progSetAutoload(handle, p, on)),
    reuseMap: (m, map) => call(`sharing map ${map.name} as ${name}/${m}`, () => native.mapReuseFd(handle, m, map.fd)),
    load: () => {
      call(`loading bpf program ${name}`, () => native.load(handle));
      loaded = true;
    },
    map: (m) => {
      if (!loaded) throw new Error(`using map ${name}/${m}: the object is not loaded yet: call load() first`);
      let map = maps.get(m);
      if (!map) {
        map = createBpfMap(native, name, m, call(`finding map ${name}/${m}`, () => native.mapInfo(handle, m)));
        maps.set(m, map);
      }
      return map;
    },
    attachPerfEvent: (p, { cpu, frequencyHz }) => {
      try {
        return wrapLink(call(`attaching ${name}/${p} to cpu-clock on cpu ${cpu}`,
          () => native.attachPerfEvent(handle, p, cpu, frequencyHz)));
      } catch (err) {
        throw unsupported(err, 'perf_event cpu-clock sampling', '4.9');
      }
    },
    attach: (p) => wrapLink(call(`attaching program ${name}/${p}`, () => native.attach(handle, p))),
    attachUprobe: (p, t) =>
      wrapLink(call(`attaching uprobe ${name}/${p} to ${t.binaryPath}:${t.functionName ?? t.offset ?? 0}`, () =>
        native.attachUprobe(handle, p, t.pid, t.binaryPath, t.functionName ?? '', t.offset ?? 0, t.retprobe ?? false))),
    ringBuffer: (m) => {
      const fd = obj.map(m).fd;
      const rb = call(`opening ring buffer ${name}/${m}`, () => native.ringbufNew(fd));
      return ringBufferOver((timeoutMs) => call(`polling ring buffer ${name}/${m}`, () => native.ringbufPoll(rb, timeoutMs)),
        native.ringbufEpollFd(rb), () => native.ringbufFree(rb));
    },
    destroy: () => {
      if (destroyed) return;
      destroyed = true;
      native.destroy(handle);
    },
  };
  return obj;
}

function unsupported(err: unknown, feature: string, minimumKernel: string): unknown {
  const errno = (err as { errno?: unknown }).errno;
  if (typeof errno === 'number' && ['ENOENT', 'EOPNOTSUPP', 'ENOTSUPP', 'ENODEV'].includes(errnoName(errno))) {
    return new UnsupportedFeatureError(feature, minimumKernel, (err as Error).message.split('\n')[0]);
  }
  return err;
}
