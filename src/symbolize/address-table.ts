/**
 * A compact sorted address → name table: starts and ends in BigUint64Arrays,
 * names in one array. Shared by the ELF symbol table and kallsyms.
 */

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

/** The table over parts built by buildAddressTable, in this thread or another. */
export function addressTableFromParts(parts: AddressTableParts): AddressTable {
  const { starts, ends, tags, nameEnds } = parts;
  const names = Buffer.from(parts.names.buffer, parts.names.byteOffset, parts.names.byteLength);
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
      return { name: names.toString('utf8', i > 0 ? nameEnds[i - 1] : 0, nameEnds[i]), start: starts[i]!, size: ends[i]! - starts[i]! };
    },
    tagAt: (i) => tags[i] ?? 0,
    parts,
    approximateBytes: n * 24 + names.byteLength,
  };
}
