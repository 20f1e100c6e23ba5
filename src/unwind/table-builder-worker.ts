/**
 * Worker thread body of createWorkerTableBuilder: builds one file's unwind
 * table per request and hands the rows back as a transferred buffer.
 */
import { workerData } from 'node:worker_threads';
import { serveFileJobs } from '../elf/file-job-worker.js';
import { nameCurrentThread } from '../process/thread-name.js';
import { loadFileUnwindTable, type FileUnwindTable } from './file-unwind-table.js';
import { openTableDiskCache } from './table-disk-cache.js';
import type { TableBuilderWorkerData } from './table-builder.js';

/** A built table as posted: its rows as a plain ArrayBuffer. */
export type PostedUnwindTable = Omit<FileUnwindTable, 'table'> & { readonly table: ArrayBuffer };

nameCurrentThread('mp-unwind-build');

const data = workerData as TableBuilderWorkerData | undefined;
const cache = data?.cacheDir === undefined ? undefined : openTableDiskCache(data.cacheDir, data.cacheMaxBytes);

serveFileJobs<PostedUnwindTable>((path) => {
  const t = loadFileUnwindTable(path, cache);
  // A copy of exactly the rows: the Buffer may be a view into a larger pool.
  const rows = new Uint8Array(t.table).buffer;
  return { result: { ...t, table: rows }, transfer: [rows] };
});
