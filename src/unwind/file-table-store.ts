/**
 * The per-file half of the unwind maps: each file's table written once into
 * unwind_rows (a run of 64-row chunks, placed first-fit by row-allocator.ts)
 * and unwind_tables (its id), refcounted by the processes that map it, and
 * freed for reuse when the count drops to zero.
 */
import type { FileUnwindTable } from './file-unwind-table.js';
import { createRowAllocator, type RowRun } from './row-allocator.js';
import { UNWIND_ROW_SIZE, unwindRowCount } from './unwind-table-codec.js';
import { encodeUnwindRange, u32Key, UNWIND_MAX_TABLE_ROWS, UNWIND_ROWS_PER_CHUNK, type UnwindMaps } from './unwind-maps.js';

/** A file's table as loaded into the maps. */
export interface StoredTable {
  readonly id: number;
  readonly file: FileUnwindTable;
}

/** The counters the store adds to. */
export interface FileTableStoreStats {
  filesLoaded: number;
  filesUnreadable: number;
  tablesOutOfRoom: number;
}

/** See the module comment. */
export interface FileTableStore {
  /** The table of file `key` (dev:inode), loaded from `path()` on first use; undefined when it has none or no room. */
  acquire(key: string, path: () => string, label: string): StoredTable | undefined;
  release(key: string): void;
  readonly chunksUsed: number;
  readonly live: number;
}

interface Entry extends StoredTable {
  readonly run: RowRun;
  refs: number;
}

/** Creates a store over empty maps (a freshly loaded sampler's). */
export function createFileTableStore(
  maps: UnwindMaps,
  load: (path: string) => FileUnwindTable,
  stats: FileTableStoreStats,
  log?: (level: 'warn' | 'debug', message: string) => void,
): FileTableStore {
  const rows = createRowAllocator(maps.rows.maxEntries);
  const freeIds: number[] = [];
  for (let id = maps.tables.maxEntries - 1; id >= 0; id--) freeIds.push(id);
  const files = new Map<string, Entry>();
  // files that failed once are not retried for every process that maps them
  const failed = new Set<string>();

  const write = (file: FileUnwindTable, id: number, run: RowRun, count: number): void => {
    const chunkBytes = UNWIND_ROWS_PER_CHUNK * UNWIND_ROW_SIZE;
    for (let c = 0; c < run.count; c++) {
      const chunk = Buffer.alloc(chunkBytes);
      file.table.copy(chunk, 0, c * chunkBytes, Math.min(file.table.length, (c + 1) * chunkBytes));
      maps.rows.update(u32Key(run.first + c), chunk);
    }
    // the range goes in last, so the walker never sees a half-written run
    maps.tables.update(u32Key(id), encodeUnwindRange(run.first * UNWIND_ROWS_PER_CHUNK, count));
  };

  return {
    acquire(key, path, label) {
      const known = files.get(key);
      if (known) {
        known.refs++;
        return known;
      }
      if (failed.has(key)) return undefined;
      let file: FileUnwindTable;
      try {
        file = load(path());
      } catch (err) {
        failed.add(key);
        stats.filesUnreadable++;
        log?.('debug', `loading unwind table of ${label}: ${(err as Error).message}`);
        return undefined;
      }
      const count = unwindRowCount(file.table);
      if (count === 0) {
        failed.add(key); // no .eh_frame: frame pointers are all there is
        return undefined;
      }
      const id = freeIds.pop();
      const run = count <= UNWIND_MAX_TABLE_ROWS ? rows.allocate(Math.ceil(count / UNWIND_ROWS_PER_CHUNK)) : undefined;
      if (id === undefined || run === undefined) {
        if (id !== undefined) freeIds.push(id);
        if (run !== undefined) rows.free(run);
        stats.tablesOutOfRoom++;
        log?.('warn', `loading unwind table of ${label}: no room for ${count} rows (${rows.used}/${rows.capacity} chunks used): frame pointers instead`);
        return undefined;
      }
      try {
        write(file, id, run, count);
      } catch (err) {
        rows.free(run);
        freeIds.push(id);
        throw err;
      }
      const entry: Entry = { id, run, file, refs: 1 };
      files.set(key, entry);
      stats.filesLoaded++;
      return entry;
    },
    release(key) {
      const e = files.get(key);
      if (!e || --e.refs > 0) return;
      files.delete(key);
      maps.tables.update(u32Key(e.id), encodeUnwindRange(0, 0));
      rows.free(e.run);
      freeIds.push(e.id);
    },
    get chunksUsed() {
      return rows.used;
    },
    get live() {
      return files.size;
    },
  };
}
