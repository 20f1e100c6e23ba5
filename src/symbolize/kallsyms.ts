/** Kernel symbols from /proc/kallsyms: text symbols of the kernel and its modules. */
import { readFileSync } from 'node:fs';
import { buildAddressTable, type AddressEntry, type AddressTable } from './address-table.js';

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
const MAX_SYMBOL_SPAN = 1n << 20n;
const TEXT_TYPES = new Set(['t', 'T', 'w', 'W']);

/** Parses kallsyms text ("ffffffff81000000 T _stext\t[module]" lines). */
export function parseKallsyms(text: string): KallsymsTable {
  const modules: string[] = [''];
  const moduleIndex = new Map<string, number>();
  const entries: AddressEntry[] = [];
  let nonZero = false;
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const line = text.slice(pos, nl);
    pos = nl + 1;
    const sp1 = line.indexOf(' ');
    const type = line[sp1 + 1];
    if (sp1 <= 0 || type === undefined || !TEXT_TYPES.has(type) || line[sp1 + 2] !== ' ') continue;
    const start = BigInt(`0x${line.slice(0, sp1)}`);
    if (start !== 0n) nonZero = true;
    const rest = line.slice(sp1 + 3);
    const tab = rest.indexOf('\t');
    const name = tab < 0 ? rest : rest.slice(0, tab);
    let tag = 0;
    if (tab >= 0) {
      const mod = rest.slice(tab + 1).replace(/^\[|\]$/g, '');
      tag = moduleIndex.get(mod) ?? modules.push(mod) - 1;
      moduleIndex.set(mod, tag);
    }
    // Globals beat locals at one address; then names without leading underscores.
    const rank = (type === 'T' ? 2 : type === 'W' ? 1 : 0) * 2 + (name.startsWith('_') ? 0 : 1);
    entries.push({ start, end: undefined, name, rank, maxEnd: start + MAX_SYMBOL_SPAN, tag });
  }
  const table: AddressTable = buildAddressTable(nonZero ? entries : []);
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
 * ~180 ms to parse. A failed read is remembered, not retried.
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
