/** Kernel symbols from /proc/kallsyms: text symbols of the kernel and its modules. */
import { readFileSync } from 'node:fs';
import { addressTableFromParts, type AddressTable } from './address-table.js';

/** A resolved kernel address. */
export interface KernelSymbol {
  readonly name: string;
  readonly start: bigint;
  /** Module name without brackets; undefined for the core kernel image. */
  readonly module: string | undefined;
}

/** Kernel address → symbol. */
export interface KallsymsTable {
  /** False when every address read as 0 (not root, or kptr_restrict): lookups then always miss. */
  readonly available: boolean;
  readonly size: number;
  lookup(address: bigint): KernelSymbol | undefined;
}

// Module text after its last symbol is not ours to claim; bound open ends.
const MAX_SYMBOL_SPAN = 1 << 20;
const TWO_32 = 2 ** 32;
// t, T, w, W: text symbols (local, global, weak).
const isTextType = (c: number): boolean => c === 0x74 || c === 0x54 || c === 0x77 || c === 0x57;

/**
 * Parses kallsyms text ("ffffffff81000000 T _stext\t[module]" lines). The
 * file holds ~120k lines, read at the first kernel frame of every `record`
 * and agent: addresses are parsed as two 32-bit halves and sorted as
 * numbers, and the table's typed arrays are filled without a BigInt or an
 * object per symbol (that took ~300 ms; this ~60 ms). The result is what
 * buildAddressTable makes: the best-ranked name per address, each open end
 * closed at the next symbol or 1 MiB.
 */
export function parseKallsyms(text: string): KallsymsTable {
  const modules: string[] = [''];
  const moduleIndex = new Map<string, number>();
  let his: number[] = [];
  let los: number[] = [];
  const names: string[] = [];
  const ranks: number[] = [];
  const tagOf: number[] = [];
  let nonZero = false;
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const sp1 = text.indexOf(' ', pos);
    const lineStart = pos;
    pos = nl + 1;
    if (sp1 <= lineStart || sp1 + 3 > nl) continue;
    const type = text.charCodeAt(sp1 + 1);
    if (!isTextType(type) || text.charCodeAt(sp1 + 2) !== 0x20) continue;
    const digits = sp1 - lineStart;
    let hi: number;
    let lo: number;
    if (digits > 8) {
      hi = parseInt(text.slice(lineStart, sp1 - 8), 16);
      lo = parseInt(text.slice(sp1 - 8, sp1), 16);
    } else {
      hi = 0;
      lo = parseInt(text.slice(lineStart, sp1), 16);
    }
    if (Number.isNaN(hi) || Number.isNaN(lo) || digits > 16) continue;
    if (hi !== 0 || lo !== 0) nonZero = true;
    const nameStart = sp1 + 3;
    // Searched within the line: core kernel lines have no tab, and a search
    // of the whole text would run to the first module's line each time.
    const tab = text.slice(nameStart, nl).indexOf('\t');
    const nameEnd = tab >= 0 ? nameStart + tab : nl;
    const name = text.slice(nameStart, nameEnd);
    let tag = 0;
    if (nameEnd < nl) {
      const mod = text.slice(nameEnd + 1, nl).replace(/^\[|\]$/g, '');
      tag = moduleIndex.get(mod) ?? modules.push(mod) - 1;
      moduleIndex.set(mod, tag);
    }
    // Globals beat locals at one address; then names without leading underscores.
    ranks.push((type === 0x54 ? 2 : type === 0x57 ? 1 : 0) * 2 + (name.charCodeAt(0) === 0x5f ? 0 : 1));
    his.push(hi);
    los.push(lo);
    names.push(name);
    tagOf.push(tag);
  }
  if (!nonZero) {
    his = [];
    los = [];
  }
  const order = Array.from({ length: his.length }, (_, i) => i);
  // Nearly sorted already (the kernel lists its text in address order), which TimSort takes in one pass.
  order.sort((a, b) => his[a]! - his[b]! || los[a]! - los[b]! || ranks[b]! - ranks[a]! || a - b);
  const kept: number[] = [];
  for (const i of order) {
    const prev = kept[kept.length - 1];
    if (prev !== undefined && his[prev] === his[i] && los[prev] === los[i]) continue;
    kept.push(i);
  }
  const n = kept.length;
  const starts = new BigUint64Array(n);
  const ends = new BigUint64Array(n);
  const tags = new Uint32Array(n);
  const nameEnds = new Uint32Array(n);
  const startWords = new DataView(starts.buffer);
  const endWords = new DataView(ends.buffer);
  const keptNames: string[] = [];
  let nameLength = 0;
  for (let k = 0; k < n; k++) {
    const i = kept[k]!;
    const hi = his[i]!;
    const lo = los[i]!;
    startWords.setUint32(k * 8, lo, true);
    startWords.setUint32(k * 8 + 4, hi, true);
    // The end: the next symbol's start, or this start + 1 MiB when that is nearer (or there is none).
    let endHi = hi;
    let endLo = lo + MAX_SYMBOL_SPAN;
    if (endLo >= TWO_32) {
      endLo -= TWO_32;
      endHi += 1;
    }
    const next = kept[k + 1];
    if (next !== undefined && (his[next]! < endHi || (his[next] === endHi && los[next]! < endLo))) {
      endHi = his[next]!;
      endLo = los[next]!;
    }
    if (endHi >= TWO_32) {
      // past the top of the address space: as far as a u64 goes
      endHi = TWO_32 - 1;
      endLo = TWO_32 - 1;
    }
    endWords.setUint32(k * 8, endLo, true);
    endWords.setUint32(k * 8 + 4, endHi, true);
    const name = names[i]!;
    keptNames.push(name);
    nameLength += name.length;
    nameEnds[k] = nameLength;
    tags[k] = tagOf[i]!;
  }
  const table: AddressTable = addressTableFromParts({ starts, ends, tags, names: keptNames.join(''), nameEnds });
  return {
    available: nonZero,
    size: table.length,
    lookup(address) {
      const i = table.indexOf(address);
      if (i < 0) return undefined;
      const hit = table.lookup(address)!;
      const tag = table.tagAt(i);
      return { name: hit.name, start: hit.start, module: tag === 0 ? undefined : modules[tag] };
    },
  };
}

/** Reads and parses <procRoot>/kallsyms (default /proc/kallsyms). */
export function loadKallsyms(procRoot = '/proc'): KallsymsTable {
  const path = `${procRoot}/kallsyms`;
  try {
    return parseKallsyms(readFileSync(path, 'latin1'));
  } catch (err) {
    throw new Error(`reading ${path}: ${(err as Error).message} (kernel frames need a readable kallsyms; run as root)`);
  }
}

/**
 * Kernel symbols read once, on first use, and shared by whoever needs them
 * (the symbolizer, the off-CPU sampler's hook trimming): kallsyms takes
 * tens of milliseconds to parse. A failed read is remembered, not retried.
 */
export interface KallsymsSource {
  /** The table, or undefined when it could not be read (see error). */
  table(): KallsymsTable | undefined;
  /** Why the table could not be read, once table() failed. */
  readonly error: string | undefined;
}

/** A source over `table` as given (null: no kernel names), or over <procRoot>/kallsyms when undefined. */
export function createKallsymsSource(procRoot = '/proc', table?: KallsymsTable | null): KallsymsSource {
  let loaded: KallsymsTable | null | undefined = table;
  let error: string | undefined;
  return {
    table() {
      if (loaded === undefined) {
        try {
          loaded = loadKallsyms(procRoot);
        } catch (err) {
          loaded = null;
          error = (err as Error).message;
        }
      }
      return loaded ?? undefined;
    },
    get error() { return error; },
  };
}
