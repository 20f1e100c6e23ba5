/**
 * Worker thread body of createWorkerTableBuilder: builds one file's unwind
 * table per request and hands the rows back as a transferred buffer.
 */
import { parentPort } from 'node:worker_threads';
import { loadFileUnwindTable, type FileUnwindTable } from './file-unwind-table.js';

/** A build request from the main thread. */
export interface TableBuildRequest {
  readonly id: number;
  readonly path: string;
}

/** The answer: the table, its rows as a plain ArrayBuffer, or why it failed. */
export type TableBuildReply =
  | { readonly id: number; readonly ok: true; readonly table: Omit<FileUnwindTable, 'table'> & { readonly table: ArrayBuffer } }
  | { readonly id: number; readonly ok: false; readonly message: string };

const port = parentPort;
if (port === null) throw new Error('unwind table worker: not started as a worker thread');

port.on('message', (req: TableBuildRequest) => {
  let reply: TableBuildReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const t = loadFileUnwindTable(req.path);
    // A copy of exactly the rows: the Buffer may be a view into a larger pool.
    const rows = new Uint8Array(t.table).buffer;
    reply = { id: req.id, ok: true, table: { ...t, table: rows } };
    transfer = [rows];
  } catch (err) {
    reply = { id: req.id, ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply, transfer);
});
