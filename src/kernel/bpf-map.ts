import { toBpfError } from './errors.js';
import { libbpfLogText, parseLibbpfLog } from './libbpf-log.js';
import type { NativeAddon, NativeMapInfo } from './native-addon.js';

/** Map types from include/uapi/linux/bpf.h that matter to user space here. */
export const MapType = {
  hash: 1,
  array: 2,
  perCpuHash: 5,
  perCpuArray: 6,
  stackTrace: 7,
  lruHash: 9,
  lruPerCpuHash: 10,
  ringbuf: 27,
} as const;

/** bpf_map_update_elem flags. */
export const UpdateFlags = { any: 0, noExist: 1, exist: 2 } as const;

/** Entries read from a map; keys[i] belongs to values[i]. Views into one buffer each. */
export interface MapEntries {
  readonly keys: readonly Buffer[];
  readonly values: readonly Buffer[];
}

/**
 * A map as another thread sees it: its fd (fds are the process's, not the
 * thread's) and its name, enough to share it (BpfObject.reuseMap) or read a
 * ring buffer (openRingBuffer) there.
 */
export type MapHandle = Pick<BpfMap, 'name' | 'fd'>;

/**
 * A loaded BPF map. Values of per-CPU maps are `valueSize` rounded up to 8
 * bytes, times the possible CPUs (see `userValueSize`). Valid until its
 * object is destroyed.
 */
export interface BpfMap {
  readonly name: string;
  readonly fd: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  /** Bytes of one value as user space reads or writes it. */
  readonly userValueSize: number;
  readonly maxEntries: number;
  lookupBatch(): MapEntries;
  /** Reads and deletes every entry (Linux 5.6+). */
  lookupAndDeleteBatch(): MapEntries;
  deleteBatch(keys: readonly Buffer[]): number;
  lookup(key: Buffer): Buffer | undefined;
  update(key: Buffer, value: Buffer, flags?: number): void;
  /**
   * Writes whole values packed in `values` at consecutive u32 keys from
   * `firstKey` in one syscall (Linux 5.6+; an array map's run of slots): no per-entry
   * buffers and no copy of the values on the way to the kernel.
   */
  updateRun(firstKey: number, values: Buffer): void;
  /** False when the key was absent. */
  delete(key: Buffer): boolean;
  /** The key after `key`, or the first with undefined; undefined at the end. */
  nextKey(key: Buffer | undefined): Buffer | undefined;
}

function isPerCpu(type: number): boolean {
  return type === MapType.perCpuHash || type === MapType.perCpuArray || type === MapType.lruPerCpuHash || type === 21;
}

/** Wraps a loaded map's fd; `objectName` only labels errors. */
export function createBpfMap(native: NativeAddon, objectName: string, name: string, info: NativeMapInfo): BpfMap {
  const { fd, type, keySize, valueSize, maxEntries } = info;
  // libbpf's count, which is what the kernel sizes per-CPU copies by
  const userValueSize = isPerCpu(type) ? Math.ceil(valueSize / 8) * 8 * native.numPossibleCpus() : valueSize;
  const label = `map ${objectName}/${name}`;
  const call = <T>(doing: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw toBpfError(`${doing} ${label}`, err, libbpfLogText(parseLibbpfLog(native.takeLog())));
    }
  };
  const split = (batch: { keys: Buffer; values: Buffer; count: number }): MapEntries => {
    const keys: Buffer[] = [];
    const values: Buffer[] = [];
    for (let i = 0; i < batch.count; i++) {
      keys.push(batch.keys.subarray(i * keySize, (i + 1) * keySize));
      values.push(batch.values.subarray(i * userValueSize, (i + 1) * userValueSize));
    }
    return { keys, values };
  };
  const checkKey = (key: Buffer): void => {
    if (key.length !== keySize) throw new Error(`using ${label}: key is ${key.length} bytes, map wants ${keySize}`);
  };
  return {
    name, fd, type, keySize, valueSize, userValueSize, maxEntries,
    lookupBatch: () => split(call('reading', () => native.lookupBatch(fd, keySize, userValueSize, maxEntries))),
    lookupAndDeleteBatch: () =>
      split(call('draining', () => native.lookupAndDeleteBatch(fd, keySize, userValueSize, maxEntries))),
    deleteBatch: (keys) => {
      if (keys.length === 0) return 0;
      keys.forEach(checkKey);
      return call('deleting from', () => native.deleteBatch(fd, Buffer.concat(keys), keys.length));
    },
    lookup: (key) => {
      checkKey(key);
      return call('looking up', () => native.lookup(fd, key, userValueSize)) ?? undefined;
    },
    update: (key, value, flags = UpdateFlags.any) => {
      checkKey(key);
      if (value.length !== userValueSize) {
        throw new Error(`updating ${label}: value is ${value.length} bytes, map wants ${userValueSize}`);
      }
      call('updating', () => native.update(fd, key, value, flags));
    },
    updateRun: (firstKey, values) => {
      if (keySize !== 4) throw new Error(`updating ${label}: a run of slots needs u32 keys, map has ${keySize}-byte keys`);
      if (values.length % userValueSize !== 0) {
        throw new Error(`updating ${label}: ${values.length} bytes of values is not a whole number of ${userValueSize}-byte values`);
      }
      const count = values.length / userValueSize;
      if (count === 0) return;
      const keys = Buffer.allocUnsafe(count * 4);
      for (let i = 0; i < count; i++) keys.writeUInt32LE(firstKey + i, i * 4);
      call('updating', () => native.updateBatch(fd, keys, values, count));
    },
    delete: (key) => {
      checkKey(key);
      return call('deleting from', () => native.delete(fd, key));
    },
    nextKey: (key) => {
      if (key) checkKey(key);
      return call('iterating', () => native.getNextKey(fd, key ?? null, keySize)) ?? undefined;
    },
  };
}

/** A map user space created itself (createOwnedMap); close() releases this process's reference. */
export interface OwnedBpfMap extends BpfMap {
  close(): void;
}

/** What createOwnedMap makes. */
export interface OwnedMapSpec {
  readonly type: number;
  /** At most 15 characters (BPF_OBJ_NAME_LEN). */
  readonly name: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
}

/**
 * Creates a map that belongs to no object, so that several objects can
 * share it (BpfObject.reuseMap) and it outlives any one of them.
 */
export function createOwnedMap(native: NativeAddon, spec: OwnedMapSpec): OwnedBpfMap {
  let fd: number;
  try {
    fd = native.createMap(spec.type, spec.name, spec.keySize, spec.valueSize, spec.maxEntries);
  } catch (err) {
    throw toBpfError(`creating map ${spec.name} (${spec.maxEntries} entries of ${spec.valueSize} bytes)`, err, libbpfLogText(parseLibbpfLog(native.takeLog())));
  }
  let map: BpfMap;
  try {
    map = createBpfMap(native, 'meshprof', spec.name, { fd, ...spec });
  } catch (err) {
    native.closeFd(fd);
    throw err;
  }
  let closed = false;
  return {
    ...map,
    close: () => {
      if (!closed) native.closeFd(fd);
      closed = true;
    },
  };
}
