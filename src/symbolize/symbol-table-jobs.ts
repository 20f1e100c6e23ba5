/**
 * Symbol tables read in a worker thread. Node's own table (78k symbols)
 * took 0.6–1 s to read and sort inline; the first profile
 * that met a node process held the agent's poll loop that long.
 */
import { compiledWorkerScript, createInlineFileJobs, createWorkerFileJobs, type FileJobs } from '../elf/file-job-worker.js';
import { elfSymbolTableFromParts } from './elf-symbol-table.js';
import { readFileSymbolTables, readSymbolTablesAt } from './file-lookup.js';
import { createGoSymbolLookup } from './go-pclntab.js';
import { createSymbolCache, type FileSymbolTables, type SymbolCache } from './symbol-cache.js';
import { openSymbolDiskCache } from './symbol-disk-cache.js';
import type { FileDataCacheSettings } from '../elf/file-data-cache.js';
import type { PostedSymbolTables } from './symbol-table-worker.js';
import { type Logger } from '../log/logger.js';

/**
 * The symbol cache's `tableJobs` for readFileSymbolTables: one worker thread,
 * or inline where no compiled worker script exists (said once through `log`).
 */
export function createSymbolTableJobs(log?: Logger): FileJobs<FileSymbolTables> {
  const script = compiledWorkerScript(import.meta.url, 'symbolize/symbol-table-worker.js');
  if (script === undefined) {
    log?.warn('symbol table worker not built (run `npm run build`): reading symbols in the main thread');
    return createInlineFileJobs('loading symbols of a file', readSymbolTablesAt);
  }
  return createWorkerFileJobs<PostedSymbolTables, FileSymbolTables>({
    script,
    what: 'symbol table worker',
    decode: (t) => ({ own: elfSymbolTableFromParts(t.own), debug: t.debug === undefined ? undefined : elfSymbolTableFromParts(t.debug) }),
  });
}

/**
 * The symbol cache the agent and `record` use: a stripped binary's debug
 * file, Go binaries' pclntab, tables read in a worker thread, and kept on
 * disk when `disk` names a directory (MESHPROF_CACHE_DIR).
 */
export function createFileSymbolCache(log?: Logger, disk?: FileDataCacheSettings): SymbolCache {
  const store = disk === undefined ? undefined : openSymbolDiskCache(disk, log);
  return createSymbolCache({
    readTables: readFileSymbolTables, createLookup: createGoSymbolLookup, tableJobs: createSymbolTableJobs(log), ...(store ? { store } : {}),
  });
}
