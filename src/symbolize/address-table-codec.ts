/**
 * AddressTableParts as bytes, for the disk caches of symbol tables and of
 * kallsyms: the four arrays then the UTF-8 names, sized by a small shape
 * kept in the entry's JSON meta. Entries of 24 bytes per symbol keep each
 * table's arrays as aligned as the payload they start in.
 */
import type { AddressTableParts, FileBackedParts } from './address-table.js';
import type { OpenCacheFile } from '../elf/file-data-cache.js';

/** Sizes of one stored table: entries and bytes of its UTF-8 names. */
export interface PartsShape {
  readonly n: number;
  readonly namesBytes: number;
}

/** Appends `p`'s bytes to `chunks` (the arrays first: 8-byte ones stay aligned); returns its shape. */
export function encodeParts(p: AddressTableParts, chunks: Buffer[]): PartsShape {
  for (const a of [p.starts, p.ends, p.tags, p.nameEnds, p.names]) chunks.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  return { n: p.starts.length, namesBytes: p.names.byteLength };
}

/** Whether `v` is a shape (from JSON: anything). */
export function isPartsShape(v: unknown): v is PartsShape {
  return typeof v === 'object' && v !== null && Number.isInteger((v as PartsShape).n) && (v as PartsShape).n >= 0 &&
    Number.isInteger((v as PartsShape).namesBytes) && (v as PartsShape).namesBytes >= 0;
}

/**
 * Names this large stay in the file; smaller ones are copied out. Each table
 * left in its file holds a descriptor while it is cached: only big tables
 * (node's, kallsyms', Envoy's), whose names are most of their memory, are
 * worth one, and a host's thousand small libraries must not take a thousand.
 */
export const NAMES_IN_FILE_MIN_BYTES = 256 * 1024;

/**
 * Reads tables of the given shapes one after another from `payload`. The
 * tables are views into it where its alignment allows (the file cache writes
 * payloads 8-byte aligned), so a table read from disk costs its file's bytes
 * once; elsewhere the arrays are copied into aligned ones.
 */
export function createPartsReader(payload: Buffer): { read(s: PartsShape): AddressTableParts | undefined; readonly atEnd: boolean };
/**
 * With `file`, the payload's open cache file: the arrays are copied out (so
 * the payload can go) and names of NAMES_IN_FILE_MIN_BYTES or more are left
 * in the file, read when looked up.
 */
export function createPartsReader(payload: Buffer, file: OpenCacheFile, inFileMinBytes?: number): { read(s: PartsShape): AddressTableParts | FileBackedParts | undefined; readonly atEnd: boolean };
export function createPartsReader(payload: Buffer, file?: OpenCacheFile, inFileMinBytes = NAMES_IN_FILE_MIN_BYTES): { read(s: PartsShape): AddressTableParts | FileBackedParts | undefined; readonly atEnd: boolean } {
  let at = 0;
  const take = (bytes: number, align: number): Uint8Array => {
    const view = payload.subarray(at, at + bytes);
    at += bytes;
    if (file === undefined && (view.byteOffset % align) === 0) return view;
    const out = new Uint8Array(bytes);
    out.set(view);
    return out;
  };
  const u64 = (n: number): BigUint64Array => {
    const b = take(n * 8, 8);
    return new BigUint64Array(b.buffer, b.byteOffset, n);
  };
  const u32 = (n: number): Uint32Array => {
    const b = take(n * 4, 4);
    return new Uint32Array(b.buffer, b.byteOffset, n);
  };
  return {
    read(s) {
      if (at + s.n * 24 + s.namesBytes > payload.length) return undefined;
      const starts = u64(s.n);
      const ends = u64(s.n);
      const tags = u32(s.n);
      const nameEnds = u32(s.n);
      if (s.n > 0 && nameEnds[s.n - 1] !== s.namesBytes) return undefined;
      const namesAt = at;
      at += s.namesBytes;
      if (file === undefined) return { starts, ends, tags, nameEnds, names: payload.subarray(namesAt, at) };
      if (s.namesBytes >= inFileMinBytes) return { starts, ends, tags, nameEnds, names: { file, at: file.payloadAt + namesAt, byteLength: s.namesBytes } };
      return { starts, ends, tags, nameEnds, names: new Uint8Array(payload.subarray(namesAt, at)) }; // a copy: the payload can go
    },
    get atEnd() {
      return at === payload.length;
    },
  };
}
