import type { BpfRingBuffer } from './bpf-object.js';
import { createOwnedMap, type MapHandle, type OwnedBpfMap, type OwnedMapSpec } from './bpf-map.js';
import { toBpfError } from './errors.js';
import { libbpfLogText, parseLibbpfLog } from './libbpf-log.js';
import { loadNativeAddon } from './native-addon.js';
import { ringBufferOver } from './ring-records.js';

/** Creates a map owned by user space with the native addon; see createOwnedMap. */
export function openOwnedMap(spec: OwnedMapSpec): OwnedBpfMap {
  return createOwnedMap(loadNativeAddon(), spec);
}

/** A consumer of a ring buffer map that no object owns (see openOwnedMap), in this thread or another. */
export function openRingBuffer(map: MapHandle): BpfRingBuffer {
  const native = loadNativeAddon();
  const call = <T>(doing: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw toBpfError(`${doing} ring buffer ${map.name}`, err, libbpfLogText(parseLibbpfLog(native.takeLog())));
    }
  };
  const rb = call('opening', () => native.ringbufNew(map.fd));
  return ringBufferOver((timeoutMs) => call('polling', () => native.ringbufPoll(rb, timeoutMs)), native.ringbufEpollFd(rb), () => native.ringbufFree(rb));
}
