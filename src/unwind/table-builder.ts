/**
 * Builds files' unwind tables off the main thread. A large binary's table
 * takes seconds (node: 372k rows, about 5 s); built inline it would hold up
 * the agent's poll loop, and with it every sampler's drain and every export.
 */
import { compiledWorkerScript, createInlineFileJobs, createWorkerFileJobs, type FileJobs } from '../elf/file-job-worker.js';
import { cachedFileUnwindTable, loadFileUnwindTable, type FileUnwindTable } from './file-unwind-table.js';
import type { PostedUnwindTable } from './table-builder-worker.js';
import { type Logger } from '../log/logger.js';
import { openTableDiskCache, type TableCacheSettings, type TableDiskCache } from './table-disk-cache.js';

/** What the table worker is started with. */
export interface TableBuilderWorkerData {
  readonly cacheDir: string | undefined;
  readonly cacheMaxBytes: number;
}

/** Turns a file path into its unwind table, eventually. */
export interface UnwindTableBuilder {
  /**
   * Builds the table of the file at `path()`, called when the build starts
   * (the process that offered the path may be gone by then). Rejects with
   * "building unwind table for PATH: cause", or with an AbortError when
   * `signal` aborts before the build starts (nobody wants it any more: a
   * burst of short-lived programs costs nothing) or the builder is closed.
   */
  build(path: () => string, signal?: AbortSignal): Promise<FileUnwindTable>;
  /** Builds not finished yet. */
  readonly pending: number;
  /** True when built tables are kept on disk and read back in milliseconds: a copy in memory would only add to the agent's RSS. */
  readonly keepsTables?: boolean;
  /** Ends the worker; pending builds reject. */
  close(): void;
}

const WHAT = 'building unwind table for a file';

/** Builds in the calling thread, one macrotask later: for tests and fakes. */
export function createInlineTableBuilder(load: (path: string) => FileUnwindTable = (path) => loadFileUnwindTable(path)): UnwindTableBuilder {
  return asTableBuilder(createInlineFileJobs(WHAT, load));
}

function asTableBuilder(jobs: FileJobs<FileUnwindTable>): UnwindTableBuilder {
  return {
    build: (path, signal) => jobs.run(path, signal),
    get pending() {
      return jobs.pending;
    },
    close: () => jobs.close(),
  };
}

/**
 * One worker thread building tables in request order. Tables come back as
 * transferred buffers, not copies. Without a compiled worker script the
 * builds run inline, and say so once through `log`.
 */
export function createWorkerTableBuilder(log?: Logger, cache?: TableCacheSettings): UnwindTableBuilder {
  const script = compiledWorkerScript(import.meta.url, 'unwind/table-builder-worker.js');
  // Opened here first: the directory is checked (and its problems logged) once, in the thread that logs.
  const usable = cache?.dir !== undefined && openTableDiskCache(cache.dir, cache.maxBytes, log) !== undefined;
  if (script === undefined) {
    log?.warn('unwind table worker not built (run `npm run build`): building tables in the main thread');
    const disk = usable ? openTableDiskCache(cache.dir!, cache.maxBytes) : undefined;
    return createInlineTableBuilder((path) => loadFileUnwindTable(path, disk));
  }
  const workerData: TableBuilderWorkerData = { cacheDir: usable ? cache.dir : undefined, cacheMaxBytes: cache?.maxBytes ?? 0 };
  const jobs = asTableBuilder(createWorkerFileJobs<PostedUnwindTable, FileUnwindTable>({
    script,
    workerData,
    what: 'unwind table worker',
    decode: (t) => ({ ...t, table: Buffer.from(t.table) }),
  }));
  return usable ? withCacheHitsInThisThread(jobs, openTableDiskCache(cache.dir!, cache.maxBytes)) : jobs;
}

/**
 * Takes tables the disk cache holds in the calling thread (a header read and
 * one file read, milliseconds even for node's), so with a warm cache no
 * worker thread is started at all: starting one costs ~100 ms of CPU.
 */
export function withCacheHitsInThisThread(builder: UnwindTableBuilder, disk: TableDiskCache | undefined): UnwindTableBuilder {
  if (disk === undefined) return builder;
  return {
    build(path, signal) {
      let hit: FileUnwindTable | undefined;
      try {
        hit = cachedFileUnwindTable(path(), disk);
      } catch {
        // no path now: the builder asks again, and says why
      }
      return hit !== undefined ? Promise.resolve(hit) : builder.build(path, signal);
    },
    get pending() {
      return builder.pending;
    },
    keepsTables: true,
    close: () => builder.close(),
  };
}
