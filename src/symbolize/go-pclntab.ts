/**
 * Go's `.gopclntab`: the runtime's own PC → function, file and line table.
 * It is loaded at run time, so it survives `-ldflags='-s -w'` on ELF and
 * names Go frames in stripped binaries. Layouts of Go 1.16, 1.18 and 1.20+
 * are read (see runtime/symtab.go, pcHeader and _func).
 */
import { parseSection, SectionFormatError } from '../elf/section-format-error.js';
import type { SymbolLookup } from './symbol-cache.js';

/** Where a PC lies in Go code. */
export interface GoLocation {
  /** Package-qualified function name, e.g. `main.hotLoop`. */
  readonly name: string;
  /** Entry address of the function. */
  readonly entry: bigint;
  /** First address after the function. */
  readonly end: bigint;
  readonly fileName: string | undefined;
  readonly line: number | undefined;
}

/** A parsed pclntab; lookups read the table lazily and keep no state. */
export interface GoPclntab {
  /** Header generation: 116 (Go 1.16–1.17), 118 (1.18–1.19), 120 (1.20+). */
  readonly version: 116 | 118 | 120;
  /** Number of functions. */
  readonly functionCount: number;
  /** Size of the table kept in memory, for cache accounting. */
  readonly byteLength: number;
  /** Address the 1.18+ entry offsets are relative to. */
  readonly textStart: bigint;
  /** Resolves a virtual address (as linked, before any load bias) or returns undefined. */
  lookup(pc: bigint): GoLocation | undefined;
  /** The address ranges of the functions called one of `names` (one pass over the table): how stripped binaries are probed. */
  findFunctions(names: ReadonlySet<string>): Map<string, { readonly entry: bigint; readonly end: bigint }>;
}

const MAGICS: ReadonlyMap<number, 116 | 118 | 120> = new Map([
  [0xfffffffa, 116],
  [0xfffffff0, 118],
  [0xfffffff1, 120],
]);

/**
 * Parses the bytes of a `.gopclntab` section. `textStart` should be the
 * `.text` section address: the header copy may be unrelocated in PIE builds.
 * Every read is bounds-checked: an unknown, truncated or damaged table
 * throws a SectionFormatError of `.gopclntab`, here or from `lookup`
 * (which reads lazily), never a RangeError.
 */
export function parseGoPclntab(bytes: Uint8Array, opts: { textStart?: bigint } = {}): GoPclntab {
  const fail = (reason: string): never => {
    throw new SectionFormatError('.gopclntab', reason);
  };
  if (bytes.length < 16) fail('table too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = MAGICS.has(view.getUint32(0, true));
  const version = MAGICS.get(view.getUint32(0, le));
  if (version === undefined || view.getUint8(4) !== 0 || view.getUint8(5) !== 0) {
    return fail(`unknown magic 0x${view.getUint32(0, le).toString(16)}`);
  }
  const quantum = view.getUint8(6);
  const ptrSize = view.getUint8(7);
  if (ptrSize !== 4 && ptrSize !== 8) fail(`pointer size ${ptrSize}`);
  if (quantum === 0) fail('pc quantum 0');

  // The offset `off` when `n` bytes from it lie in the table.
  const at = (off: number, n: number): number =>
    Number.isSafeInteger(off) && off >= 0 && off + n <= bytes.length ? off : fail(`offset ${off} outside the table (${bytes.length} bytes)`);
  const u32 = (off: number): number => view.getUint32(at(off, 4), le);
  const ptr = (off: number): bigint => (ptrSize === 8 ? view.getBigUint64(at(off, 8), le) : BigInt(view.getUint32(at(off, 4), le)));
  const word = (i: number): number => {
    const v = ptr(8 + i * ptrSize);
    return v > BigInt(bytes.length) ? fail(`header word ${i} is ${v}, past the table's ${bytes.length} bytes`) : Number(v);
  };

  const nfunc = word(0);
  const hasText = version !== 116;
  const field = hasText ? 3 : 2; // index of funcnameOffset in the header
  const textStart = opts.textStart ?? (hasText ? ptr(8 + 2 * ptrSize) : 0n);
  const funcnameOff = word(field);
  const cuOff = word(field + 1);
  const filetabOff = word(field + 2);
  const pctabOff = word(field + 3);
  const pclnOff = word(field + 4);
  // 1.18+ functab rows are two uint32 offsets; 1.16 rows are two pointers.
  const rowSize = hasText ? 8 : 2 * ptrSize;
  if (pclnOff + (nfunc + 1) * rowSize > bytes.length) fail('truncated function table');

  const entryAt = (i: number): bigint =>
    hasText ? textStart + BigInt(u32(pclnOff + i * rowSize)) : ptr(pclnOff + i * rowSize);
  const funcOffAt = (i: number): number =>
    hasText ? u32(pclnOff + i * rowSize + 4) : Number(ptr(pclnOff + i * rowSize + ptrSize));

  const cString = (off: number): string => {
    const start = at(off, 1);
    let end = start;
    while (end < bytes.length && bytes[end] !== 0) end++;
    return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
  };

  // Walks a pc-value table (zig-zag value deltas, pc deltas in quanta) up to
  // target. Each step reads at least two bytes, so the walk ends at the table's end.
  const pcValue = (tableOff: number, entry: bigint, target: bigint): number | undefined => {
    if (tableOff === 0) return undefined;
    let p = at(pctabOff + tableOff, 1);
    let val = -1;
    let pc = entry;
    // Values and pc deltas are uint32 in the runtime: five bytes at most.
    const varint = (): number => {
      let v = 0;
      for (let shift = 0; shift < 35; shift += 7) {
        const b = bytes[at(p++, 1)]!;
        v += (b & 0x7f) * 2 ** shift;
        if ((b & 0x80) === 0) return v;
      }
      return fail(`varint longer than 5 bytes at ${p}`);
    };
    for (let first = true; p < bytes.length; first = false) {
      const uvdelta = varint();
      if (uvdelta === 0 && !first) return undefined;
      val += uvdelta % 2 === 1 ? -((uvdelta + 1) / 2) : uvdelta / 2;
      pc += BigInt(varint() * quantum);
      if (target < pc) return val;
    }
    return undefined;
  };

  const lookup = (pc: bigint): GoLocation | undefined => {
    if (nfunc === 0 || pc < entryAt(0) || pc >= entryAt(nfunc)) return undefined;
    let lo = 0;
    let hi = nfunc - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (entryAt(mid) <= pc) lo = mid;
      else hi = mid - 1;
    }
    const entry = entryAt(lo);
    // _func fields after the entry are laid out alike in every version.
    const f = pclnOff + funcOffAt(lo) + (hasText ? 4 : ptrSize);
    const name = cString(funcnameOff + view.getInt32(at(f, 4), le));
    // File and line are extras: damage there costs them, not the function's name.
    const optional = <T>(read: () => T): T | undefined => {
      try {
        return read();
      } catch (err) {
        if (err instanceof SectionFormatError) return undefined;
        throw err;
      }
    };
    const fileIndex = optional(() => pcValue(u32(f + 16), entry, pc));
    const line = optional(() => pcValue(u32(f + 20), entry, pc));
    let fileName: string | undefined;
    if (fileIndex !== undefined && fileIndex >= 0) {
      const fileOff = optional(() => u32(cuOff + (u32(f + 28) + fileIndex) * 4));
      if (fileOff !== undefined && fileOff !== 0xffffffff) fileName = optional(() => cString(filetabOff + fileOff));
    }
    return { name, entry, end: entryAt(lo + 1), fileName, line: line !== undefined && line > 0 ? line : undefined };
  };

  const findFunctions = (names: ReadonlySet<string>): Map<string, { entry: bigint; end: bigint }> => {
    const out = new Map<string, { entry: bigint; end: bigint }>();
    for (let i = 0; i < nfunc && out.size < names.size; i++) {
      const f = pclnOff + funcOffAt(i) + (hasText ? 4 : ptrSize);
      const name = cString(funcnameOff + view.getInt32(at(f, 4), le));
      if (names.has(name) && !out.has(name)) out.set(name, { entry: entryAt(i), end: entryAt(i + 1) });
    }
    return out;
  };

  return { version: version!, functionCount: nfunc, byteLength: bytes.byteLength, textStart, lookup, findFunctions };
}

/** The part of an ELF reader the Go helpers need; `ElfFile` from src/elf fits it. */
export interface GoSectionSource {
  /** The file's path, for errors. */
  readonly path: string;
  section(name: string): { readonly address: bigint; bytes(): Uint8Array } | undefined;
}

// PIE and shared builds move the table into a relro section that the loader relocates.
const PCLNTAB_SECTIONS = ['.gopclntab', '.data.rel.ro.gopclntab'];

/** Whether an ELF file was built by the Go toolchain, so its frames get kind 'go'. */
export function isGoElf(elf: GoSectionSource): boolean {
  return ['.note.go.buildid', '.go.buildinfo', ...PCLNTAB_SECTIONS].some((name) => elf.section(name) !== undefined);
}

/**
 * Reads the pclntab of a Go ELF file (PIE too); undefined when it has none.
 * Throws a SectionFormatError naming the file and section; the table's
 * lookups throw one naming the section when the part they read is damaged.
 */
export function readGoPclntab(elf: GoSectionSource): GoPclntab | undefined {
  const name = PCLNTAB_SECTIONS.find((n) => elf.section(n) !== undefined);
  const pcln = name === undefined ? undefined : elf.section(name);
  if (name === undefined || pcln === undefined) return undefined;
  const text = elf.section('.text');
  const table = parseSection(elf.path, name, () => parseGoPclntab(pcln.bytes(), text === undefined ? {} : { textStart: text.address }));
  return {
    ...table,
    lookup: (pc) => parseSection(elf.path, name, () => table.lookup(pc)),
    findFunctions: (names) => parseSection(elf.path, name, () => table.findFunctions(names)),
  };
}

/**
 * The symbol cache's `createLookup` hook: Go binaries are named from their
 * pclntab, with file:line and kind 'go'; addresses it does not cover (cgo, C
 * libraries linked in) fall back to the ELF symbols. Other files get `fallback`.
 * A pclntab that cannot be parsed fails the file's symbols (the cache counts
 * it); one damaged where a lookup reads names that address from the ELF
 * symbols, if any, so one bad function costs only its own name.
 */
export function createGoSymbolLookup(elf: GoSectionSource, fallback: SymbolLookup): SymbolLookup {
  if (!isGoElf(elf)) return fallback;
  const table = readGoPclntab(elf);
  return {
    frameKind: 'go',
    approximateBytes: fallback.approximateBytes + (table?.byteLength ?? 0),
    lookup(fileVaddr) {
      let loc: GoLocation | undefined;
      try {
        loc = table?.lookup(fileVaddr);
      } catch (err) {
        if (!(err instanceof SectionFormatError)) throw err;
      }
      if (loc === undefined) return fallback.lookup(fileVaddr);
      return { name: loc.name, start: loc.entry, size: loc.end - loc.entry, fileName: loc.fileName, line: loc.line };
    },
  };
}
