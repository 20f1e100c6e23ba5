/**
 * Keeps the kernel walker's maps in step with the processes being profiled:
 * one table per mapped file (keyed by device and inode), built off the main
 * thread, loaded once and shared by every process that maps it, refcounted,
 * its rows freed when the last such process exits or unmaps it
 * (file-table-store.ts). A process's mapping entries are written as soon as
 * it is seen, with the tables ready so far, and again as each of its other
 * tables arrives; until then those pcs are walked by frame pointers. Running
 * out of room is counted, and the process or file concerned falls back to
 * frame pointers in the kernel.
 */
import { fileOffsetToVaddr } from '../elf/elf-file.js';
import { fileKey } from '../elf/file-identity.js';
import { createFileTableStore, DEFAULT_TABLE_CACHE_BYTES, type FileTableStore } from './file-table-store.js';
import { createWorkerTableBuilder, type UnwindTableBuilder } from './table-builder.js';
import { encodeUnwindProc, u32Key, UNWIND_MAX_MAPPINGS, type KernelUnwindMapping, type UnwindMaps } from './unwind-maps.js';
import { type Logger } from '../log/logger.js';

/** The fields of a /proc/PID/maps line the manager needs (src/process's ProcMapping fits). */
export interface UnwindSourceMapping {
  readonly start: bigint;
  readonly end: bigint;
  readonly offset: bigint;
  readonly executable: boolean;
  readonly devMajor: number;
  readonly devMinor: number;
  readonly inode: bigint;
  readonly path: string;
  readonly kind: string;
}

/** A process as the manager sees it (src/process's ProcessInfo fits). */
export interface UnwindSourceProcess<M extends UnwindSourceMapping = UnwindSourceMapping> {
  readonly pid: number;
  readonly mappings: readonly M[];
}

/** Running totals; the collector reports their growth as drops. */
export interface UnwindManagerStats {
  filesLoaded: number;
  /** Files that could not be read or parsed: their pcs use frame pointers. */
  filesUnreadable: number;
  /** Tables that did not fit in unwind_rows or unwind_tables. */
  tablesOutOfRoom: number;
  /** Processes that did not fit in unwind_procs: walked by frame pointers only. */
  procsOutOfRoom: number;
  /** Executable mappings past UNWIND_MAX_MAPPINGS in one process. */
  mappingsTruncated: number;
  /** Gauges: 64-row chunks held, tables in use now, tables kept idle (no process maps their file), tables being built, processes installed. */
  chunksUsed: number;
  tablesLive: number;
  tablesIdle: number;
  tablesBuilding: number;
  procsLive: number;
}

/** Options for createUnwindTableManager. */
export interface UnwindTableManagerOptions<M extends UnwindSourceMapping = UnwindSourceMapping> {
  /** The walker's maps, empty (an UnwindMapSet, or a sampler object's own). */
  readonly maps: UnwindMaps;
  /** Path through which the agent reads `pid`'s mapped file; throws when there is none. */
  readonly filePath: (pid: number, m: M) => string;
  /** Default: a worker thread (createWorkerTableBuilder). */
  readonly builder?: UnwindTableBuilder;
  readonly log?: Logger;
}

/** See the module comment. */
export interface UnwindTableManager<M extends UnwindSourceMapping = UnwindSourceMapping> {
  /** Installs or replaces a process's mapping entries (new process, exec, dlopen); its missing tables are built. */
  setProcess(p: UnwindSourceProcess<M>): void;
  /** Removes a process and releases its tables. */
  removeProcess(pid: number): void;
  /** Whether the process has been given to setProcess and not removed. */
  has(pid: number): boolean;
  /** Resolves once every table asked for so far is in the maps (or given up). */
  settled(): Promise<void>;
  stats(): Readonly<UnwindManagerStats>;
  /** Stops the builder; the maps belong to the caller. */
  close(): void;
}

/** One executable file mapping of a process, with its file's key. */
interface FileMapping<M extends UnwindSourceMapping = UnwindSourceMapping> {
  readonly key: string;
  readonly m: M;
}

/** Creates a manager over empty maps. */
export function createUnwindTableManager<M extends UnwindSourceMapping = UnwindSourceMapping>(opts: UnwindTableManagerOptions<M>): UnwindTableManager<M> {
  const { maps } = opts;
  const builder = opts.builder ?? createWorkerTableBuilder(opts.log);
  const stats: UnwindManagerStats = {
    filesLoaded: 0, filesUnreadable: 0, tablesOutOfRoom: 0, procsOutOfRoom: 0, mappingsTruncated: 0,
    chunksUsed: 0, tablesLive: 0, tablesIdle: 0, tablesBuilding: 0, procsLive: 0,
  };
  // pid → its executable file mappings; each holds one reference on its file
  const procs = new Map<number, FileMapping<M>[]>();
  // pids whose kernel entry is written (or deleted) with fewer tables than they map
  const waiting = new Map<string, Set<number>>();
  // pids with an entry in unwind_procs
  const inKernel = new Set<number>();
  // key → the processes that map the file now, and how: where its table can be read from
  const holders = new Map<string, Map<number, M>>();
  // pids whose mappings past UNWIND_MAX_MAPPINGS, or whose failed install, were counted already
  const truncated = new Map<number, number>();
  const outOfRoom = new Set<number>();
  let closed = false;

  /** A readable path to file `key` through the process that mapped it last, or any other. */
  const pathOf = (key: string): string => {
    const h = [...(holders.get(key) ?? new Map<number, M>())].reverse();
    let last: unknown;
    for (const [pid, m] of h) {
      try {
        return opts.filePath(pid, m);
      } catch (err) {
        last = err;
      }
    }
    throw last instanceof Error ? last : new Error(`no process maps ${key} any more`);
  };

  const refresh = (): void => {
    stats.chunksUsed = store.chunksUsed;
    stats.tablesLive = store.live;
    stats.tablesIdle = store.idle;
    stats.tablesBuilding = store.building;
    stats.procsLive = inKernel.size;
  };

  /** Writes pid's kernel entry from the tables ready now; remembers what it waits for. */
  const install = (pid: number, files: readonly FileMapping<M>[]): void => {
    const entries: KernelUnwindMapping[] = [];
    for (const { key, m } of files) {
      const s = store.state(key);
      if (s.state === 'building') {
        let w = waiting.get(key);
        if (!w) waiting.set(key, (w = new Set()));
        w.add(pid);
      }
      if (s.state !== 'ready') continue;
      const vaddr = fileOffsetToVaddr(s.table.loadSegments, m.offset);
      if (vaddr !== undefined) entries.push({ start: m.start, end: m.end, bias: m.start - vaddr, tableId: s.table.id });
    }
    entries.sort((a, b) => (a.start < b.start ? -1 : 1));
    if (entries.length > UNWIND_MAX_MAPPINGS) {
      // counted once per process: installs repeat as its tables arrive
      const over = entries.length - UNWIND_MAX_MAPPINGS;
      stats.mappingsTruncated += Math.max(0, over - (truncated.get(pid) ?? 0));
      truncated.set(pid, Math.max(over, truncated.get(pid) ?? 0));
      entries.length = UNWIND_MAX_MAPPINGS;
    }
    if (entries.length === 0) {
      // kernel threads, static FP-built programs, or tables still building
      if (inKernel.delete(pid)) maps.procs.delete(u32Key(pid));
      return;
    }
    try {
      maps.procs.update(u32Key(pid), encodeUnwindProc(entries));
      inKernel.add(pid);
      outOfRoom.delete(pid);
    } catch (err) {
      if (!outOfRoom.has(pid)) {
        outOfRoom.add(pid);
        stats.procsOutOfRoom++;
        opts.log?.warn(`installing unwind mappings of pid ${pid}: ${(err as Error).message}: frame pointers instead`);
      }
      if (inKernel.delete(pid)) maps.procs.delete(u32Key(pid));
    }
  };

  const store: FileTableStore = createFileTableStore(maps, builder, stats, (key) => {
    const pids = waiting.get(key);
    waiting.delete(key);
    if (!closed) {
      for (const pid of pids ?? []) {
        const files = procs.get(pid);
        if (files) install(pid, files);
      }
    }
    refresh();
  }, pathOf, opts.log, builder.keepsTables === true ? 0 : DEFAULT_TABLE_CACHE_BYTES);

  /** Releases pid's references, except to the files in `keep` (its new mappings). */
  const drop = (pid: number, keep?: ReadonlySet<string>): void => {
    const old = procs.get(pid);
    if (!old) return;
    procs.delete(pid);
    for (const { key } of old) {
      if (!keep?.has(key)) {
        holders.get(key)?.delete(pid);
        if (holders.get(key)?.size === 0) holders.delete(key);
      }
      const w = waiting.get(key);
      w?.delete(pid);
      if (w?.size === 0) waiting.delete(key);
      store.release(key);
    }
  };

  return {
    setProcess(p) {
      if (closed) return;
      const files: FileMapping<M>[] = [];
      const keys = new Set<string>();
      for (const m of p.mappings) {
        if (!m.executable || m.kind !== 'file' || m.inode === 0n) continue;
        const key = fileKey(m.devMajor, m.devMinor, m.inode);
        let h = holders.get(key);
        if (!h) holders.set(key, (h = new Map()));
        h.set(p.pid, m);
        // a file without a table (none: unreadable, no .eh_frame, no room) holds no reference
        if (store.acquire(key, `${m.path} of pid ${p.pid}`).state !== 'none') {
          files.push({ key, m });
          keys.add(key);
        } else {
          h.delete(p.pid);
          if (h.size === 0) holders.delete(key);
        }
      }
      // new references first, so a file mapped before and after keeps its table
      drop(p.pid, keys);
      procs.set(p.pid, files);
      install(p.pid, files);
      refresh();
    },
    removeProcess(pid) {
      if (closed || !procs.has(pid)) return;
      truncated.delete(pid);
      outOfRoom.delete(pid);
      drop(pid);
      if (inKernel.delete(pid)) maps.procs.delete(u32Key(pid));
      refresh();
    },
    has: (pid) => procs.has(pid),
    settled: () => store.settled(),
    stats: () => ({ ...stats }),
    close() {
      closed = true;
      store.close();
      builder.close();
    },
  };
}
