/**
 * Worker thread body of createWorkerTableBuilder: builds one file's unwind
 * table per request and hands the rows back as a transferred buffer.
 */
import { serveFileJobs } from '../elf/file-job-worker.js';
import { loadFileUnwindTable, type FileUnwindTable } from './file-unwind-table.js';

/** A built table as posted: its rows as a plain ArrayBuffer. */
export type PostedUnwindTable = Omit<FileUnwindTable, 'table'> & { readonly table: ArrayBuffer };

serveFileJobs<PostedUnwindTable>((path) => {
  const t = loadFileUnwindTable(path);
  // A copy of exactly the rows: the Buffer may be a view into a larger pool.
  const rows = new Uint8Array(t.table).buffer;
  return { result: { ...t, table: rows }, transfer: [rows] };
});
