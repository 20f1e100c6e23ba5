import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { buildPath } from './package-root.js';

/** Opaque handles owned by the addon; freed by destroy()/destroyLink()/ringbufFree(). */
export type NativeObjectHandle = { readonly __brand: 'bpf_object' };
export type NativeLinkHandle = { readonly __brand: 'bpf_link' };
export type NativeRingBufferHandle = { readonly __brand: 'ring_buffer' };
export type NativeFdWatchHandle = { readonly __brand: 'fd_watch' };

/** What mapInfo() reports; fd is -1 before load. */
export interface NativeMapInfo {
  fd: number;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

/** Program types native/probe.c can probe (its prog_types table). */
export type NativeProgType = 'perf_event' | 'tracing' | 'raw_tracepoint' | 'kprobe' | 'tracepoint' | 'socket_filter';

/** Raw batch result: `count` keys and values packed back to back. */
export interface NativeBatch {
  keys: Buffer;
  values: Buffer;
  count: number;
}

/**
 * The functions build/meshprof.node exports (native/*.c). Failures throw an
 * Error carrying a positive `errno`; libbpf's output is in takeLog().
 */
export interface NativeAddon {
  takeLog(): string;
  open(path: string): NativeObjectHandle;
  setGlobal(obj: NativeObjectHandle, name: string, value: Buffer): void;
  mapSetMaxEntries(obj: NativeObjectHandle, map: string, n: number): void;
  progSetAutoload(obj: NativeObjectHandle, prog: string, on: boolean): void;
  mapReuseFd(obj: NativeObjectHandle, map: string, fd: number): void;
  load(obj: NativeObjectHandle): void;
  mapInfo(obj: NativeObjectHandle, map: string): NativeMapInfo;
  destroy(obj: NativeObjectHandle): void;
  attachPerfEvent(obj: NativeObjectHandle, prog: string, cpu: number, hz: number): NativeLinkHandle;
  attach(obj: NativeObjectHandle, prog: string): NativeLinkHandle;
  attachUprobe(
    obj: NativeObjectHandle, prog: string, pid: number, binaryPath: string,
    functionName: string, offset: number, retprobe: boolean,
  ): NativeLinkHandle;
  destroyLink(link: NativeLinkHandle): void;
  lookupBatch(fd: number, keySize: number, valueSize: number, maxEntries: number): NativeBatch;
  lookupAndDeleteBatch(fd: number, keySize: number, valueSize: number, maxEntries: number): NativeBatch;
  deleteBatch(fd: number, keys: Buffer, count: number): number;
  lookup(fd: number, key: Buffer, valueSize: number): Buffer | null;
  update(fd: number, key: Buffer, value: Buffer, flags: number): void;
  delete(fd: number, key: Buffer): boolean;
  getNextKey(fd: number, key: Buffer | null, keySize: number): Buffer | null;
  updateBatch(fd: number, keys: Buffer, values: Buffer, count: number): void;
  createMap(type: number, name: string, keySize: number, valueSize: number, maxEntries: number): number;
  closeFd(fd: number): void;
  probeProgType(type: NativeProgType): number;
  /** 1 when `type` programs may call the helper (bpf.h's name without BPF_FUNC_), 0 when not, else -errno. */
  probeHelper(type: NativeProgType, helper: 'loop'): number;
  probeCpuClock(cpu: number): number;
  numPossibleCpus(): number;
  ringbufNew(mapFd: number): NativeRingBufferHandle;
  /** Every available record in one buffer (layout: ring-records.ts). */
  /** undefined when nothing was read */
  ringbufPoll(rb: NativeRingBufferHandle, timeoutMs: number): Buffer | undefined;
  ringbufEpollFd(rb: NativeRingBufferHandle): number;
  ringbufFree(rb: NativeRingBufferHandle): void;
  eventfdNew(): number;
  eventfdSignal(fd: number): void;
  /** Calls onReadable on this thread's event loop whenever fd is readable; the watch does not keep the loop alive. */
  fdWatchStart(fd: number, onReadable: () => void): NativeFdWatchHandle;
  fdWatchStop(watch: NativeFdWatchHandle): void;
  /** Bit i set when fds[i] is readable; blocks the calling thread up to timeoutMs (-1: no limit). */
  pollReadable(fds: number[], timeoutMs: number): number;
  /** malloc_trim(0): true when freed native memory went back to the kernel. */
  trimHeap(): boolean;
}

/**
 * Loads build/meshprof.node. Node caches the module, so every caller shares
 * one instance (libbpf's print callback is per process anyway).
 */
export function loadNativeAddon(): NativeAddon {
  // Node caches the module too, but resolving it again (stat, require cache) cost
  // every ring buffer poll and wait of the exec watcher thread.
  addon ??= requireNativeAddon();
  return addon;
}

let addon: NativeAddon | undefined;

function requireNativeAddon(): NativeAddon {
  const path = buildPath('meshprof.node');
  if (!existsSync(path)) {
    throw new Error('loading native addon: build/meshprof.node not found: run `npm run build`');
  }
  try {
    return createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    throw new Error(`loading native addon: ${(err as Error).message}: rebuild it with \`npm run build\``);
  }
}
