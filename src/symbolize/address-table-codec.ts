/**
 * AddressTableParts as bytes, for the disk caches of symbol tables and of
 * kallsyms: the four arrays then the UTF-8 names, sized by a small shape
 * kept in the entry's JSON meta.
 */
import type { AddressTableParts } from './address-table.js';

/** Sizes of one stored table: entries and bytes of its UTF-8 names. */
export interface PartsShape {
  readonly n: number;
  readonly namesBytes: number;
}

/** Appends `p`'s bytes to `chunks`; returns its shape. */
export function encodeParts(p: AddressTableParts, chunks: Buffer[]): PartsShape {
  const names = Buffer.from(p.names, 'utf8');
  for (const a of [p.starts, p.ends, p.tags, p.nameEnds]) chunks.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  chunks.push(names);
  return { n: p.starts.length, namesBytes: names.length };
}

/** Whether `v` is a shape (from JSON: anything). */
export function isPartsShape(v: unknown): v is PartsShape {
  return typeof v === 'object' && v !== null && Number.isInteger((v as PartsShape).n) && (v as PartsShape).n >= 0 &&
    Number.isInteger((v as PartsShape).namesBytes) && (v as PartsShape).namesBytes >= 0;
}

/** Reads tables of the given shapes one after another from `payload`. */
export function createPartsReader(payload: Buffer): { read(s: PartsShape): AddressTableParts | undefined; readonly atEnd: boolean } {
  let at = 0;
  // Copies into fresh, aligned arrays: the payload is a view at any offset of a file's buffer.
  const take = (bytes: number): Uint8Array => {
    const out = new Uint8Array(bytes);
    out.set(payload.subarray(at, at + bytes));
    at += bytes;
    return out;
  };
  return {
    read(s) {
      if (at + s.n * 24 + s.namesBytes > payload.length) return undefined;
      const starts = new BigUint64Array(take(s.n * 8).buffer);
      const ends = new BigUint64Array(take(s.n * 8).buffer);
      const tags = new Uint32Array(take(s.n * 4).buffer);
      const nameEnds = new Uint32Array(take(s.n * 4).buffer);
      const names = Buffer.from(take(s.namesBytes)).toString('utf8');
      if (s.n > 0 && nameEnds[s.n - 1] !== names.length) return undefined;
      return { starts, ends, tags, nameEnds, names };
    },
    get atEnd() {
      return at === payload.length;
    },
  };
}
