/**
 * Go's `.gopclntab`: the runtime's own PC → function, file and line table.
 * It is loaded at run time, so it survives `-ldflags='-s -w'` on ELF and
 * names Go frames in stripped binaries. Layouts of Go 1.16, 1.18 and 1.20+
 * are read (see runtime/symtab.go, pcHeader and _func).
 */
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
}

const MAGICS: ReadonlyMap<number, 116 | 118 | 120> = new Map([
  [0xfffffffa, 116],
  [0xfffffff0, 118],
  [0xfffffff1, 120],
]);

/**
 * Parses the bytes of a `.gopclntab` section. `textStart` should be the
 * `.text` section address: the header copy may be unrelocated in PIE builds.
 * Throws "parsing gopclntab: ..." on an unknown or truncated table.
 */
export function parseGoPclntab(bytes: Uint8Array, opts: { textStart?: bigint } = {}): GoPclntab {
  if (bytes.length < 16) throw new Error('parsing gopclntab: table too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = MAGICS.has(view.getUint32(0, true));
  const version = MAGICS.get(view.getUint32(0, le));
  if (version === undefined || view.getUint8(4) !== 0 || view.getUint8(5) !== 0) {
    throw new Error(`parsing gopclntab: unknown magic 0x${view.getUint32(0, le).toString(16)}`);
  }
  const quantum = view.getUint8(6);
  const ptrSize = view.getUint8(7);
  if (ptrSize !== 4 && ptrSize !== 8) throw new Error(`parsing gopclntab: pointer size ${ptrSize}`);

  const u32 = (off: number): number => view.getUint32(off, le);
  const ptr = (off: number): bigint => (ptrSize === 8 ? view.getBigUint64(off, le) : BigInt(view.getUint32(off, le)));
  const word = (i: number): number => Number(ptr(8 + i * ptrSize));

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
  if (pclnOff + (nfunc + 1) * rowSize > bytes.length) throw new Error('parsing gopclntab: truncated function table');

  const entryAt = (i: number): bigint =>
    hasText ? textStart + BigInt(u32(pclnOff + i * rowSize)) : ptr(pclnOff + i * rowSize);
  const funcOffAt = (i: number): number =>
    hasText ? u32(pclnOff + i * rowSize + 4) : Number(ptr(pclnOff + i * rowSize + ptrSize));

  const cString = (off: number): string => {
    let end = off;
    while (end < bytes.length && bytes[end] !== 0) end++;
    return Buffer.from(bytes.buffer, bytes.byteOffset + off, end - off).toString('utf8');
  };

  // Walks a pc-value table (zig-zag value deltas, pc deltas in quanta) up to target.
  const pcValue = (tableOff: number, entry: bigint, target: bigint): number | undefined => {
    if (tableOff === 0) return undefined;
    let p = pctabOff + tableOff;
    let val = -1;
    let pc = entry;
    const varint = (): number => {
      let v = 0;
      for (let shift = 0; p < bytes.length; shift += 7) {
        const b = bytes[p++] ?? 0;
        v += (b & 0x7f) * 2 ** shift;
        if ((b & 0x80) === 0) return v;
      }
      return v;
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
    const name = cString(funcnameOff + view.getInt32(f, le));
    const fileIndex = pcValue(u32(f + 16), entry, pc);
    const line = pcValue(u32(f + 20), entry, pc);
    let fileName: string | undefined;
    if (fileIndex !== undefined && fileIndex >= 0) {
      const fileOff = u32(cuOff + (u32(f + 28) + fileIndex) * 4);
      if (fileOff !== 0xffffffff) fileName = cString(filetabOff + fileOff);
    }
    return { name, entry, end: entryAt(lo + 1), fileName, line: line !== undefined && line > 0 ? line : undefined };
  };

  return { version, functionCount: nfunc, byteLength: bytes.byteLength, textStart, lookup };
}

/** The part of an ELF reader the Go helpers need; `ElfFile` from src/elf fits it. */
export interface GoSectionSource {
  section(name: string): { readonly address: bigint; bytes(): Uint8Array } | undefined;
}

// PIE and shared builds move the table into a relro section that the loader relocates.
const PCLNTAB_SECTIONS = ['.gopclntab', '.data.rel.ro.gopclntab'];

/** Whether an ELF file was built by the Go toolchain, so its frames get kind 'go'. */
export function isGoElf(elf: GoSectionSource): boolean {
  return ['.note.go.buildid', '.go.buildinfo', ...PCLNTAB_SECTIONS].some((name) => elf.section(name) !== undefined);
}

/** Reads the pclntab of a Go ELF file (PIE too); undefined when it has none. */
export function readGoPclntab(elf: GoSectionSource): GoPclntab | undefined {
  const pcln = PCLNTAB_SECTIONS.map((name) => elf.section(name)).find((s) => s !== undefined);
  if (pcln === undefined) return undefined;
  const text = elf.section('.text');
  return parseGoPclntab(pcln.bytes(), text === undefined ? {} : { textStart: text.address });
}

/**
 * The symbol cache's `createLookup` hook: Go binaries are named from their
 * pclntab, with file:line and kind 'go'; addresses it does not cover (cgo, C
 * libraries linked in) fall back to the ELF symbols. Other files get `fallback`.
 */
export function createGoSymbolLookup(elf: GoSectionSource, fallback: SymbolLookup): SymbolLookup {
  if (!isGoElf(elf)) return fallback;
  const table = readGoPclntab(elf);
  return {
    frameKind: 'go',
    approximateBytes: fallback.approximateBytes + (table?.byteLength ?? 0),
    lookup(fileVaddr) {
      const loc = table?.lookup(fileVaddr);
      if (loc === undefined) return fallback.lookup(fileVaddr);
      return { name: loc.name, start: loc.entry, size: loc.end - loc.entry, fileName: loc.fileName, line: loc.line };
    },
  };
}
