/**
 * The per-file half of the unwind maps: each file's table built once (by an
 * UnwindTableBuilder, off the main thread), written into unwind_rows (a run
 * of 64-row chunks, placed first-fit by row-allocator.ts) and unwind_tables
 * (its id), refcounted by the processes that map it. When the count drops
 * to zero the table stays in the maps, idle, until its room is needed for
 * another (least recently released first): a command run again, a probe
 * exec'ed every few seconds, a prefork server's next worker find their
 * files' tables there without a build, a copy or a map write. Built tables are also kept in user memory
 * (least recently used first out, bounded in bytes), so a file whose last
 * process left and that comes back (a prefork server's next worker, a
 * command run again) is written into the maps at once, not built again.
 */
import { LRUCache } from 'lru-cache';
import { statFileIdentity } from '../elf/file-identity.js';
import type { ElfProgramHeader } from '../elf/elf-types.js';
import type { FileUnwindTable } from './file-unwind-table.js';
import { createRowAllocator, type RowRun } from './row-allocator.js';
import type { UnwindTableBuilder } from './table-builder.js';
import { UNWIND_ROW_SIZE, unwindRowCount } from './unwind-table-codec.js';
import { encodeUnwindRange, u32Key, UNWIND_MAX_TABLE_ROWS, UNWIND_ROWS_PER_CHUNK, type UnwindMaps } from './unwind-maps.js';
import { type Logger } from '../log/logger.js';

/** A file's table as loaded into the maps; the rows themselves live only in the kernel. */
export interface StoredTable {
  readonly id: number;
  /** PT_LOAD segments, to turn a mapping's file offset into a file vaddr. */
  readonly loadSegments: readonly ElfProgramHeader[];
}

/** The counters the store adds to. */
export interface FileTableStoreStats {
  filesLoaded: number;
  filesUnreadable: number;
  tablesOutOfRoom: number;
}

/** Where a file's table is. */
export type TableState = { readonly state: 'ready'; readonly table: StoredTable } | { readonly state: 'building' } | { readonly state: 'none' };

/** See the module comment. */
export interface FileTableStore {
  /**
   * Takes a reference to file `key` (fileKey: dev:inode); the first starts its build
   * (or writes it from the cache of built tables). Every acquire needs a release.
   */
  acquire(key: string, label: string): TableState;
  /** The file's state now, without taking a reference. */
  state(key: string): TableState;
  release(key: string): void;
  /** Resolves once no build is in flight (the tables asked for so far are in the maps or given up). */
  settled(): Promise<void>;
  /** Stops writing to the maps: builds that finish later are dropped. */
  close(): void;
  /** 64-row chunks held, by live and idle tables. */
  readonly chunksUsed: number;
  readonly live: number;
  /** Tables kept in the maps with no process mapping their file. */
  readonly idle: number;
  readonly building: number;
}

type BuildingEntry = { state: 'building'; refs: number; readonly abort: AbortController };
type ReadyEntry = { state: 'ready'; refs: number; table: StoredTable; run: RowRun; readonly stamp: string | undefined };
type Entry = BuildingEntry | ReadyEntry;

/** Paths tried per build: the first holder's, then another's if that one left. */
const MAX_BUILD_ATTEMPTS = 3;

const NONE: TableState = { state: 'none' };
const BUILDING: TableState = { state: 'building' };

/**
 * Default bound of the built-table cache in user memory: libc's table is
 * 0.5 MB, node's 6 MB. Tables released by their last process stay in the
 * kernel's maps until their room is needed, and beyond that come back from
 * the disk cache in milliseconds: this cache is part of the agent's RSS,
 * so it holds only small, recently used tables, and none at all when the
 * builder keeps them on disk (UnwindTableBuilder.keepsTables).
 */
export const DEFAULT_TABLE_CACHE_BYTES = 8 * 1024 * 1024;

/** Creates a store over empty maps; `onReady` hears of each file whose table has just been written. */
export function createFileTableStore(
  maps: UnwindMaps,
  builder: UnwindTableBuilder,
  stats: FileTableStoreStats,
  onReady: (key: string) => void,
  /** A readable path to the file `key` through a process that maps it now; throws when none does. */
  pathOf: (key: string) => string,
  log?: Logger,
  cacheLimitBytes = DEFAULT_TABLE_CACHE_BYTES,
): FileTableStore {
  const rows = createRowAllocator(maps.rows.maxEntries);
  const freeIds: number[] = [];
  for (let id = maps.tables.maxEntries - 1; id >= 0; id--) freeIds.push(id);
  const files = new Map<string, Entry>();
  // files that failed once are not retried for every process that maps them
  const failed = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let closed = false;
  // files without room in the maps, with the chunks each needs (Infinity: more rows than a
  // table may have): counted once each until they fit, and not built again while the
  // chunks that live tables hold leave too few. A compiler's libLLVM (a million rows)
  // would otherwise be read back from the disk cache for every clang a build starts.
  const noRoom = new Map<string, number>();
  /** Chunks held by tables some process maps now: all the rest is free or idle, and can be had. */
  const liveChunks = (): number => {
    let n = 0;
    for (const e of files.values()) if (e.state === 'ready') n += e.run.count;
    return n;
  };
  // tables in the maps that no process maps now, least recently released first
  const idle = new Map<string, ReadyEntry>();
  const unload = (e: ReadyEntry): void => {
    maps.tables.update(u32Key(e.table.id), encodeUnwindRange(0, 0));
    rows.free(e.run);
    freeIds.push(e.table.id);
  };
  /** Frees the least recently released idle table; false when there is none. */
  const evictIdle = (): boolean => {
    const oldest = idle.entries().next();
    if (oldest.done === true) return false;
    idle.delete(oldest.value[0]);
    unload(oldest.value[1]);
    return true;
  };
  // built tables by key, with the file's identity when built, bounded in bytes
  const built = new LRUCache<string, { readonly file: FileUnwindTable; readonly stamp: string }>({
    // lru-cache refuses 0; remember() then keeps nothing anyway
    maxSize: Math.max(1, cacheLimitBytes),
    sizeCalculation: (b) => b.file.table.length,
  });
  const remember = (key: string, file: FileUnwindTable, stamp: string | undefined): void => {
    // checked here, not left to lru-cache: an oversized table must not drop the one cached before
    if (file.table.length > cacheLimitBytes || stamp === undefined) return;
    built.set(key, { file, stamp });
  };
  /** A cached table, if the file is still the one it was built from (dev:inode can be reused or rewritten in place). */
  const cached = (key: string, stamp: string | undefined): FileUnwindTable | undefined => {
    const b = built.get(key);
    if (b === undefined) return undefined;
    if (stamp === b.stamp) return b.file;
    built.delete(key);
    return undefined;
  };
  /** The stamp of the file `key` as a process that maps it now sees it. */
  function stampOf(key: string): string | undefined {
    try {
      return statFileIdentity(pathOf(key)).stamp;
    } catch {
      return undefined;
    }
  }

  const write = (file: FileUnwindTable, id: number, run: RowRun, count: number): void => {
    const chunkBytes = UNWIND_ROWS_PER_CHUNK * UNWIND_ROW_SIZE;
    // the whole chunks straight from the table (node's 6 MB took 18 ms as
    // 6k key and value buffers, concatenated), then a short last one padded
    // run.count is ceil(rows / 64): at most one chunk past the whole ones, and
    // the range written last keeps the walker within `count` rows of the run.
    const whole = Math.min(run.count, Math.floor(file.table.length / chunkBytes));
    if (whole > 0) maps.rows.updateRun(run.first, file.table.subarray(0, whole * chunkBytes));
    if (whole < run.count) {
      const padded = Buffer.alloc(chunkBytes);
      file.table.copy(padded, 0, whole * chunkBytes);
      maps.rows.updateRun(run.first + whole, padded);
    }
    // the range goes in last, so the walker never sees a half-written run
    maps.tables.update(u32Key(id), encodeUnwindRange(run.first * UNWIND_ROWS_PER_CHUNK, count));
  };

  /**
   * Puts a built table into the maps: the entry, 'empty' (no .eh_frame:
   * frame pointers are all there is) or 'no-room' (tried again, from the
   * cache, when the file is next asked for and the live tables leave it
   * room; counted once until it fits).
   */
  const store = (key: string, file: FileUnwindTable, label: string, stamp: string | undefined): ReadyEntry | 'empty' | 'no-room' => {
    const count = unwindRowCount(file.table);
    if (count === 0) return 'empty';
    // idle tables give way, oldest first, until the new one fits
    while (freeIds.length === 0 && evictIdle());
    const id = freeIds.pop();
    let run: RowRun | undefined;
    if (count <= UNWIND_MAX_TABLE_ROWS) {
      const chunks = Math.ceil(count / UNWIND_ROWS_PER_CHUNK);
      while ((run = rows.allocate(chunks)) === undefined && evictIdle());
    }
    const outOfRoom = (why: string, chunks: number): 'no-room' => {
      if (!noRoom.has(key)) {
        stats.tablesOutOfRoom++;
        log?.warn(`loading unwind table of ${label}: ${why}: frame pointers instead`);
      }
      noRoom.set(key, chunks);
      return 'no-room';
    };
    if (id === undefined || run === undefined) {
      if (id !== undefined) freeIds.push(id);
      if (run !== undefined) rows.free(run);
      const chunks = count <= UNWIND_MAX_TABLE_ROWS && id !== undefined ? Math.ceil(count / UNWIND_ROWS_PER_CHUNK) : 0;
      return outOfRoom(`no room for ${count} rows (${rows.used}/${rows.capacity} chunks used)`, count > UNWIND_MAX_TABLE_ROWS ? Infinity : chunks);
    }
    try {
      write(file, id, run, count);
    } catch (err) {
      rows.free(run);
      freeIds.push(id);
      return outOfRoom(`writing it: ${(err as Error).message}`, 0);
    }
    noRoom.delete(key);
    stats.filesLoaded++;
    return { state: 'ready', refs: 0, table: { id, loadSegments: file.loadSegments }, run, stamp };
  };

  const finish = (key: string, label: string, file: FileUnwindTable | undefined): void => {
    if (closed) return;
    const e = files.get(key);
    // released while it was being built: nobody wants it any more
    if (e === undefined || e.state !== 'building') return;
    // a later build of the same file (released and asked for again meanwhile) is not needed now
    e.abort.abort();
    // the file's identity, once: for the memory cache and for the entry kept idle later
    const stamp = file !== undefined && unwindRowCount(file.table) > 0 ? stampOf(key) : undefined;
    if (file !== undefined && stamp !== undefined) remember(key, file, stamp);
    const stored = file === undefined ? 'empty' : store(key, file, label, stamp);
    if (typeof stored === 'string') {
      if (stored === 'empty') failed.add(key);
      files.delete(key);
    } else {
      files.set(key, { ...stored, refs: e.refs });
    }
    onReady(key);
  };

  const stateOf = (e: Entry | undefined): TableState => {
    if (e?.state === 'ready') return { state: 'ready', table: e.table };
    return e?.state === 'building' ? BUILDING : NONE;
  };

  /**
   * Builds `key`'s table. The path is worked out when the build starts, from
   * a process that still maps the file; when that fails and another process
   * gives another path (the first one exited meanwhile), it is tried too.
   */
  const build = (key: string, label: string, entry: BuildingEntry, attempt: number): void => {
    let tried: string | undefined;
    const done = builder.build(() => (tried = pathOf(key)), entry.abort.signal).then(
      (file) => finish(key, label, file),
      (err: unknown) => {
        // Not wanted any more (its processes left, the builder closed): not a loss.
        if (files.get(key) !== entry || (err instanceof Error && err.name === 'AbortError')) return;
        let next: string | undefined;
        try {
          next = pathOf(key);
        } catch {
          next = undefined;
        }
        // only a path that could not be opened is worth another process's path
        const unopened = err instanceof Error && /ENOENT|ESRCH|ENOTDIR|no readable path/.test(err.message);
        if (unopened && next !== undefined && next !== tried && attempt < MAX_BUILD_ATTEMPTS) {
          build(key, label, entry, attempt + 1);
          return;
        }
        stats.filesUnreadable++;
        log?.debug(`loading unwind table of ${label}: ${err instanceof Error ? err.message : String(err)}`);
        finish(key, label, undefined);
      },
    ).finally(() => inFlight.delete(done));
    inFlight.add(done);
  };

  return {
    acquire(key, label) {
      const known = files.get(key);
      if (known) {
        known.refs++;
        return stateOf(known);
      }
      if (failed.has(key)) return NONE;
      const need = noRoom.get(key);
      if (need !== undefined && need > rows.capacity - liveChunks()) return NONE;
      const resting = idle.get(key);
      // the file's identity now, once, when a table of it is kept
      const stamp = resting !== undefined || built.has(key) ? stampOf(key) : undefined;
      if (resting !== undefined) {
        idle.delete(key);
        // the same file still (dev:inode can be reused, or the file rewritten in place)
        if (resting.stamp !== undefined && stamp === resting.stamp) {
          files.set(key, { ...resting, refs: 1 });
          return { state: 'ready', table: resting.table };
        }
        unload(resting);
      }
      const again = cached(key, stamp);
      if (again !== undefined) {
        const stored = store(key, again, label, stamp);
        if (typeof stored === 'string') return NONE;
        files.set(key, { ...stored, refs: 1 });
        return { state: 'ready', table: stored.table };
      }
      const entry: BuildingEntry = { state: 'building', refs: 1, abort: new AbortController() };
      files.set(key, entry);
      build(key, label, entry, 1);
      return BUILDING;
    },
    state: (key) => stateOf(files.get(key)),
    release(key) {
      if (closed) return;
      const e = files.get(key);
      if (!e || --e.refs > 0) return;
      files.delete(key);
      if (e.state !== 'ready') {
        e.abort.abort();
        return;
      }
      if (e.stamp === undefined) unload(e);
      else idle.set(key, e);
    },
    close() {
      closed = true;
    },
    async settled() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    get chunksUsed() {
      return rows.used;
    },
    get live() {
      let n = 0;
      for (const e of files.values()) if (e.state === 'ready') n++;
      return n;
    },
    get idle() {
      return idle.size;
    },
    get building() {
      let n = 0;
      for (const e of files.values()) if (e.state === 'building') n++;
      return n;
    },
  };
}
