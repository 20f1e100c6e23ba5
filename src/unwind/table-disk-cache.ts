/**
 * Built unwind tables on disk (elf/file-data-cache.ts): one '.tbl' file per
 * table, keyed by build-id or file identity, its rows as the payload and
 * its build stats as the meta; rows are checked against the stats on read.
 */
import { openFileDataCache, type FileDataCacheCounters, type FileDataCacheSettings } from '../elf/file-data-cache.js';
import type { UnwindTableStats } from './unwind-table.js';
import type { Logger } from '../log/logger.js';

/** Bumped whenever the rows a build produces for the same file change. */
export const TABLE_CACHE_VERSION = 1;
const KIND = { suffix: '.tbl', magic: 0x5455504d /* 'MPUT' */, version: TABLE_CACHE_VERSION, what: 'unwind table' } as const;

/** Where the disk cache is (`dir` undefined: no cache) and how many bytes it may hold. */
export type TableCacheSettings = FileDataCacheSettings;

/** A table as cached. */
export interface CachedTable {
  readonly table: Buffer;
  readonly stats: UnwindTableStats | undefined;
}

/** Counters of one process's (or worker's) use of the cache. */
export type TableCacheCounters = FileDataCacheCounters;

/** See the module comment. */
export interface TableDiskCache {
  get(key: string): CachedTable | undefined;
  put(key: string, t: CachedTable): void;
  readonly counters: TableCacheCounters;
}

/**
 * Opens the cache in `dir` (created 0700 if missing), or undefined with the
 * reason through `log` when it is not a directory this user owns alone.
 */
export function openTableDiskCache(dir: string, maxBytes: number, log?: Logger): TableDiskCache | undefined {
  const files = openFileDataCache(dir, maxBytes, KIND, log);
  if (files === undefined) return undefined;
  const valid = ({ meta, payload }: { meta: unknown; payload: Buffer }): boolean =>
    payload.length % 16 === 0 &&
    (meta === null || (typeof meta === 'object' && (meta as UnwindTableStats).rows === payload.length / 16));
  return {
    counters: files.counters,
    get(key) {
      const e = files.get(key, valid);
      // The payload is a view into the file's buffer, kept as is: the rest of
      // that buffer is the header, key and stats, and copying node's or
      // libLLVM's 6-16 MB table at each read cost more than reading it.
      return e === undefined ? undefined : { table: e.payload, stats: (e.meta ?? undefined) as UnwindTableStats | undefined };
    },
    put: (key, t) => files.put(key, { meta: t.stats ?? null, payload: t.table }),
  };
}
