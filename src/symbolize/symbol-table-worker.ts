/**
 * Worker thread body of createSymbolTableJobs: reads one file's symbol
 * tables per request (readFileSymbolTables) and posts them as typed arrays.
 */
import { serveFileJobs } from '../elf/file-job-worker.js';
import { nameCurrentThread } from '../process/thread-name.js';
import type { AddressTableParts } from './address-table.js';
import { readSymbolTablesAt } from './file-lookup.js';

/** A file's tables as posted. */
export interface PostedSymbolTables {
  readonly own: AddressTableParts;
  readonly debug: AddressTableParts | undefined;
}

nameCurrentThread('mp-symbols');

// The names too: handed over as bytes, not copied as a string.
const buffers = (p: AddressTableParts): ArrayBuffer[] =>
  [...new Set([p.starts.buffer, p.ends.buffer, p.tags.buffer, p.nameEnds.buffer, p.names.buffer])] as ArrayBuffer[];

serveFileJobs<PostedSymbolTables>((path, via) => {
  const t = readSymbolTablesAt(path, via);
  const debug = t.debug?.parts;
  return { result: { own: t.own.parts, debug }, transfer: [...buffers(t.own.parts), ...(debug ? buffers(debug) : [])] };
});
