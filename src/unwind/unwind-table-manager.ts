/**
 * Keeps the kernel walker's maps in step with the processes being profiled:
 * one table per mapped file (keyed by device and inode), loaded once and
 * shared by every process that maps it, refcounted, its rows freed when the
 * last such process exits or unmaps it (file-table-store.ts). Running out
 * of room is counted, and the process or file concerned falls back to
 * frame pointers in the kernel.
 */
import { fileOffsetToVaddr } from '../elf/elf-file.js';
import type { FileUnwindTable } from './file-unwind-table.js';
import { loadFileUnwindTable } from './file-unwind-table.js';
import { createFileTableStore, type FileTableStore } from './file-table-store.js';
import { encodeUnwindProc, u32Key, UNWIND_MAX_MAPPINGS, type KernelUnwindMapping, type UnwindMaps } from './unwind-maps.js';

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
export interface UnwindSourceProcess {
  readonly pid: number;
  readonly mappings: readonly UnwindSourceMapping[];
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
  /** Gauges: 64-row chunks and tables in use now. */
  chunksUsed: number;
  tablesLive: number;
  procsLive: number;
}

/** Options for createUnwindTableManager. */
export interface UnwindTableManagerOptions {
  /** Path through which the agent reads `pid`'s mapped file. */
  readonly filePath: (pid: number, m: UnwindSourceMapping) => string;
  /** Replaceable for tests; default loadFileUnwindTable. */
  readonly loadTable?: (path: string) => FileUnwindTable;
  readonly log?: (level: 'warn' | 'debug', message: string) => void;
}

/** See the module comment. */
export interface UnwindTableManager {
  /** Attaches to a loaded sampler's maps and installs every process given. */
  bind(maps: UnwindMaps, processes: Iterable<UnwindSourceProcess>): void;
  /** Installs or replaces a process's mapping entries (new process, exec, dlopen). */
  setProcess(p: UnwindSourceProcess): void;
  /** Removes a process and releases its tables. */
  removeProcess(pid: number): void;
  stats(): Readonly<UnwindManagerStats>;
}

/** Creates a manager; nothing is written until bind(). */
export function createUnwindTableManager(opts: UnwindTableManagerOptions): UnwindTableManager {
  const load = opts.loadTable ?? loadFileUnwindTable;
  const stats: UnwindManagerStats = {
    filesLoaded: 0, filesUnreadable: 0, tablesOutOfRoom: 0, procsOutOfRoom: 0, mappingsTruncated: 0, chunksUsed: 0, tablesLive: 0, procsLive: 0,
  };
  const procFiles = new Map<number, string[]>();
  let maps: UnwindMaps | undefined;
  let store: FileTableStore | undefined;
  const release = (key: string): void => store?.release(key);

  const refresh = (): void => {
    stats.chunksUsed = store?.chunksUsed ?? 0;
    stats.tablesLive = store?.live ?? 0;
    stats.procsLive = procFiles.size;
  };

  const manager: UnwindTableManager = {
    bind(m, processes) {
      maps = m;
      store = createFileTableStore(m, load, stats, opts.log);
      for (const p of processes) manager.setProcess(p);
    },
    setProcess(p) {
      if (!maps || !store) return;
      const keys: string[] = [];
      const entries: KernelUnwindMapping[] = [];
      for (const m of p.mappings) {
        if (!m.executable || m.kind !== 'file' || m.inode === 0n) continue;
        const key = `${m.devMajor}:${m.devMinor}:${m.inode}`;
        const e = store.acquire(key, () => opts.filePath(p.pid, m), `${m.path} of pid ${p.pid}`);
        if (!e) continue;
        keys.push(key);
        const vaddr = fileOffsetToVaddr(e.file.loadSegments, m.offset);
        if (vaddr !== undefined) entries.push({ start: m.start, end: m.end, bias: m.start - vaddr, tableId: e.id });
      }
      entries.sort((a, b) => (a.start < b.start ? -1 : 1));
      if (entries.length > UNWIND_MAX_MAPPINGS) {
        stats.mappingsTruncated += entries.length - UNWIND_MAX_MAPPINGS;
        entries.length = UNWIND_MAX_MAPPINGS;
      }
      const old = procFiles.get(p.pid);
      if (entries.length === 0) {
        // kernel threads, static FP-built programs: nothing to walk with, keep the slot free
        if (old) maps.procs.delete(u32Key(p.pid));
        procFiles.delete(p.pid);
        keys.forEach(release);
        old?.forEach(release);
        refresh();
        return;
      }
      try {
        maps.procs.update(u32Key(p.pid), encodeUnwindProc(entries));
        procFiles.set(p.pid, keys);
      } catch (err) {
        stats.procsOutOfRoom++;
        opts.log?.('warn', `installing unwind mappings of pid ${p.pid}: ${(err as Error).message}: frame pointers instead`);
        maps.procs.delete(u32Key(p.pid));
        procFiles.delete(p.pid);
        keys.forEach(release);
      }
      old?.forEach(release);
      refresh();
    },
    removeProcess(pid) {
      const keys = procFiles.get(pid);
      if (!keys) return;
      procFiles.delete(pid);
      maps?.procs.delete(u32Key(pid));
      keys.forEach(release);
      refresh();
    },
    stats: () => ({ ...stats }),
  };
  return manager;
}
