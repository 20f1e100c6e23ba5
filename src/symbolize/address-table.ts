/**
 * A compact sorted address → name table: starts and ends in BigUint64Arrays,
 * names in one array. Shared by the ELF symbol table and kallsyms.
 */
import { readAt } from '../elf/read-at.js';

/** A resolved symbol: its name and the address range it covers. */
export interface SymbolHit {
  readonly name: string;
  readonly start: bigint;
  readonly size: bigint;
  /** Source file and line, when the source knows them (Go pclntab does). */
  readonly fileName?: string | undefined;
  readonly line?: number | undefined;
}

/** One candidate entry: `end` undefined means "up to the next entry (or `maxEnd`)". */
export interface AddressEntry {
  readonly start: bigint;
  readonly end: bigint | undefined;
  readonly name: string;
  /** Higher rank wins when several names share one start address. */
  readonly rank: number;
  /** Upper bound for an open-ended entry (e.g. the end of its section). */
  readonly maxEnd?: bigint | undefined;
  /** Index into an auxiliary array kept by the caller (e.g. a module name). */
  readonly tag?: number | undefined;
}

/**
 * A built table as plain data: typed arrays, the names among them, so a
 * worker thread can build it and hand it over without a copy, and a disk
 * cache file can be used as it was read. A name becomes a string only when
 * looked up: node's 78k names are 5.6 MB, of which a profile names a few hundred.
 */
export interface AddressTableParts {
  readonly starts: BigUint64Array;
  readonly ends: BigUint64Array;
  readonly tags: Uint32Array;
  /** Every name as UTF-8, concatenated; name i is bytes nameEnds[i - 1] ?? 0 to nameEnds[i]. */
  readonly names: Uint8Array;
  readonly nameEnds: Uint32Array;
}

/**
 * Names left in a cache file (elf/file-data-cache.ts's OpenCacheFile) rather
 * than held: node's are 5.6 MB and kallsyms' 3 MB, for a few hundred looked up.
 */
export interface NamesInFile {
  readonly file: { readonly fd: number };
  /** Where name byte 0 is in the file. */
  readonly at: number;
  readonly byteLength: number;
}

/** Parts whose names stay in a file. */
export type FileBackedParts = Omit<AddressTableParts, 'names'> & { readonly names: NamesInFile };

/** The built table. */
export interface AddressTable {
  /** The table as plain data, for addressTableFromParts in another thread. */
  readonly parts: AddressTableParts;
  readonly length: number;
  /** Index of the entry covering `address`, or -1. */
  indexOf(address: bigint): number;
  lookup(address: bigint): SymbolHit | undefined;
  tagAt(index: number): number;
  /** Approximate memory use in bytes, for cache accounting. */
  readonly approximateBytes: number;
}

const cmp = (a: AddressEntry, b: AddressEntry): number =>
  a.start < b.start ? -1 : a.start > b.start ? 1 : b.rank - a.rank;

/**
 * Builds the table: sorts, keeps the best-ranked name per start address,
 * closes open-ended entries at the next start, and drops open-ended entries
 * that fall inside an earlier sized one (local labels inside a function).
 */
export function buildAddressTable(input: AddressEntry[]): AddressTable {
  input.sort(cmp);
  const kept: AddressEntry[] = [];
  let coveredTo = 0n;
  for (const e of input) {
    const prev = kept[kept.length - 1];
    if (prev !== undefined && prev.start === e.start) {
      // Same address, lower rank: only borrow its size when the winner has none.
      if (prev.end === undefined && e.end !== undefined) kept[kept.length - 1] = { ...prev, end: e.end };
      continue;
    }
    if (e.end === undefined && e.start < coveredTo) continue;
    kept.push(e);
    if (e.end !== undefined && e.end > coveredTo) coveredTo = e.end;
  }
  const n = kept.length;
  const starts = new BigUint64Array(n);
  const ends = new BigUint64Array(n);
  const tags = new Uint32Array(n);
  const nameEnds = new Uint32Array(n);
  const names: string[] = [];
  let nameBytes = 0;
  for (let i = 0; i < n; i++) {
    const e = kept[i]!;
    starts[i] = e.start;
    let end = e.end;
    if (end === undefined || end <= e.start) {
      const next = kept[i + 1]?.start;
      end = next ?? e.maxEnd ?? e.start + 1n;
      if (e.maxEnd !== undefined && e.maxEnd > e.start && e.maxEnd < end) end = e.maxEnd;
    }
    ends[i] = end;
    names.push(e.name);
    nameBytes += Buffer.byteLength(e.name, 'utf8');
    nameEnds[i] = nameBytes;
    tags[i] = e.tag ?? 0;
  }
  // TextEncoder's array owns its buffer (a small Buffer would be a view into a shared pool, which cannot be handed to another thread).
  return addressTableFromParts({ starts, ends, tags, names: new TextEncoder().encode(names.join('')), nameEnds });
}

/** The table over parts built by buildAddressTable, in this thread or another, or read from a cache file. */
export function addressTableFromParts(parts: AddressTableParts | FileBackedParts): AddressTable {
  const { starts, ends, tags, nameEnds } = parts;
  const names = parts.names instanceof Uint8Array ? Buffer.from(parts.names.buffer, parts.names.byteOffset, parts.names.byteLength) : undefined;
  const inFile = parts.names instanceof Uint8Array ? undefined : parts.names;
  const nameAt = names !== undefined
    ? (i: number): string | undefined => names.toString('utf8', i > 0 ? nameEnds[i - 1] : 0, nameEnds[i])
    : namesFromFile(inFile!, nameEnds);
  const n = starts.length;
  const indexOf = (address: bigint): number => {
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= address) lo = mid + 1;
      else hi = mid - 1;
    }
    // hi is the last entry starting at or below the address.
    return hi >= 0 && address < ends[hi]! ? hi : -1;
  };
  return {
    length: n,
    indexOf,
    lookup(address) {
      const i = indexOf(address);
      if (i < 0) return undefined;
      const name = nameAt(i);
      return name === undefined ? undefined : { name, start: starts[i]!, size: ends[i]! - starts[i]! };
    },
    tagAt: (i) => tags[i] ?? 0,
    // A file-backed table's names are read whole only if someone wants the plain parts (to post or store them again).
    get parts(): AddressTableParts {
      return inFile === undefined ? parts as AddressTableParts : { starts, ends, tags, nameEnds, names: readNames(inFile, 0, inFile.byteLength) };
    },
    approximateBytes: n * 24 + (names?.byteLength ?? 0),
  };
}

// Names looked up again and again (the hot functions, interval after interval) are read once.
const NAMES_REMEMBERED = 4096;

function namesFromFile(inFile: NamesInFile, nameEnds: Uint32Array): (i: number) => string | undefined {
  const seen = new Map<number, string>();
  return (i) => {
    let name = seen.get(i);
    if (name !== undefined) return name;
    const start = i > 0 ? nameEnds[i - 1]! : 0;
    try {
      name = readNames(inFile, start, nameEnds[i]! - start).toString('utf8');
    } catch {
      // The file is open, so this is an I/O error: the frame goes unnamed (and is counted so).
      return undefined;
    }
    if (seen.size >= NAMES_REMEMBERED) seen.clear();
    seen.set(i, name);
    return name;
  };
}

function readNames(inFile: NamesInFile, start: number, length: number): Buffer {
  const out = Buffer.alloc(length); // not allocUnsafe: its pool slices cannot be posted to another thread
  if (readAt(inFile.file.fd, out, inFile.at + start) < length) throw new Error('names cut short');
  return out;
}
