/**
 * Kernel symbols from /proc/kallsyms: text symbols of the kernel and its
 * modules. Reading and parsing its ~120k lines costs ~250 ms of every
 * `record` and agent start; the kernel's and its modules' part is the same
 * until a reboot or a module (un)load, so it is kept in the disk cache,
 * keyed by boot id and /proc/modules.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { openFileDataCache, type FileDataCacheSettings, type OpenCacheFile } from '../elf/file-data-cache.js';
import { addressTableFromParts, buildAddressTable, type AddressEntry, type AddressTable } from './address-table.js';
import { createPartsReader, encodeParts, isPartsShape } from './address-table-codec.js';
import type { Logger } from '../log/logger.js';

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
  const { entries, modules, nonZero } = readKallsymsEntries(text);
  return kallsymsTable(buildAddressTable(nonZero ? entries : []), modules, nonZero);
}

interface KallsymsEntries {
  readonly entries: AddressEntry[];
  /** Module names by tag; '' (tag 0) is the kernel itself. */
  readonly modules: string[];
  readonly nonZero: boolean;
}

/**
 * The text symbols of kallsyms text; with `onlyModules`, only those of the
 * modules it matches, found by jumping from one module-tagged line to the
 * next (the kernel's own lines, most of the file, are not looked at).
 */
function readKallsymsEntries(text: string, onlyModules?: RegExp): KallsymsEntries {
  const modules: string[] = [''];
  const moduleIndex = new Map<string, number>();
  const entries: AddressEntry[] = [];
  let nonZero = false;
  let pos = 0;
  while (pos < text.length) {
    if (onlyModules !== undefined) {
      const tagged = text.indexOf('\t[', pos);
      if (tagged < 0) break;
      pos = text.lastIndexOf('\n', tagged) + 1;
    }
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
      if (onlyModules !== undefined && !onlyModules.test(mod)) continue;
      tag = moduleIndex.get(mod) ?? modules.push(mod) - 1;
      moduleIndex.set(mod, tag);
    }
    // Globals beat locals at one address; then names without leading underscores.
    const rank = (type === 'T' ? 2 : type === 'W' ? 1 : 0) * 2 + (name.startsWith('_') ? 0 : 1);
    entries.push({ start, end: undefined, name, rank, maxEnd: start + MAX_SYMBOL_SPAN, tag });
  }
  return { entries, modules, nonZero };
}

function kallsymsTable(table: AddressTable, modules: readonly string[], nonZero: boolean): KallsymsTable {
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
  return parseKallsyms(readKallsymsText(procRoot));
}

/** <procRoot>/kallsyms's text; the error says what kernel frames need. */
function readKallsymsText(procRoot: string): string {
  const path = `${procRoot}/kallsyms`;
  try {
    return readFileSync(path, 'latin1');
  } catch (err) {
    throw kallsymsReadError(path, err);
  }
}

function kallsymsReadError(path: string, err: unknown): Error {
  return new Error(`reading ${path}: ${(err as Error).message} (kernel frames need a readable kallsyms; run as root)`);
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

/** The disk cache a source keeps the kernel's and modules' symbols in. */
export interface KallsymsCacheSettings {
  readonly settings: FileDataCacheSettings;
  readonly log?: Logger | undefined;
}

/**
 * A source over `table` as given (null: no kernel names), or over
 * <procRoot>/kallsyms when undefined, through `cache` when given.
 */
export function createKallsymsSource(procRoot = '/proc', table?: KallsymsTable | null, cache?: KallsymsCacheSettings): KallsymsSource {
  let loaded: KallsymsTable | null | undefined = table;
  let error: string | undefined;
  return {
    table() {
      if (loaded === undefined) {
        try {
          loaded = cache?.settings.dir === undefined ? loadKallsyms(procRoot) : loadCachedKallsyms(procRoot, cache.settings.dir, cache.settings.maxBytes, cache.log);
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

/** Symbols that come and go while the kernel runs (BPF programs, ftrace and kprobe trampolines): never cached. */
const VOLATILE_MODULE = /^(?:bpf|__builtin__\w*)$/;
// Version 2: name ends count UTF-8 bytes.
const KIND = { suffix: '.ksym', magic: 0x4d59534b /* 'KSYM' */, version: 2, what: 'kernel symbol table' } as const;

/** A module's text as /proc/modules places it. */
interface ModuleRange { readonly name: string; readonly start: bigint; readonly end: bigint }

/** What the kernel's and modules' symbols depend on: the boot, and each loaded module's name, size and address. */
function readStableState(procRoot: string): { key: string; modules: ModuleRange[] } | undefined {
  let boot: string;
  try {
    boot = readFileSync(`${procRoot}/sys/kernel/random/boot_id`, 'utf8').trim();
  } catch {
    return undefined;
  }
  let text = '';
  try {
    text = readFileSync(`${procRoot}/modules`, 'utf8');
  } catch {
    // a kernel without loadable modules has no /proc/modules
  }
  const modules: ModuleRange[] = [];
  const hash = createHash('sha256');
  for (const line of text.split('\n')) {
    // "name size refcount deps state address": the refcount changes with use, not the symbols
    const f = line.split(' ');
    if (f.length < 6 || f[0] === undefined || f[1] === undefined || f[5] === undefined) continue;
    hash.update(`${f[0]} ${f[1]} ${f[5]}\n`);
    const start = /^0x[0-9a-f]+$/i.test(f[5]) ? BigInt(f[5]) : 0n;
    if (start !== 0n) modules.push({ name: f[0], start, end: start + BigInt(f[1]) });
  }
  return { key: `kallsyms:${boot}:${hash.digest('hex')}`, modules };
}

/**
 * The kernel's table from the cache when this boot's, with these modules,
 * was read before; else read from <procRoot>/kallsyms and cached. A cached
 * table answers only for the kernel's text and the loaded modules' ranges;
 * any other address (a BPF program, a trampoline) reads kallsyms then, once.
 */
export function loadCachedKallsyms(procRoot: string, dir: string, maxBytes: number, log?: Logger): KallsymsTable {
  const state = readStableState(procRoot);
  const files = state === undefined ? undefined : openFileDataCache(dir, maxBytes, KIND, log);
  if (state === undefined || files === undefined) return loadKallsyms(procRoot);
  let cached: { table: KallsymsTable; ranges: [bigint, bigint][] } | undefined;
  files.open(state.key, (e) => (cached = decodeStable(e.meta, e.payload, e.file)) !== undefined);
  let others: KallsymsTable | null | undefined;
  if (cached === undefined) {
    // read once: the cached part goes to disk, the rest answers the others now
    const read = readKallsymsEntries(readKallsymsText(procRoot));
    if (!read.nonZero) return kallsymsTable(buildAddressTable([]), read.modules, false);
    const isVolatile = (e: AddressEntry): boolean => VOLATILE_MODULE.test(read.modules[e.tag ?? 0] ?? '');
    const stable = buildAddressTable(read.entries.filter((e) => !isVolatile(e)));
    const ranges = stableRanges(stable, read.modules, state.modules);
    const chunks: Buffer[] = [];
    const shape = encodeParts(stable.parts, chunks);
    files.put(state.key, { meta: { shape, modules: read.modules, ranges: ranges.map(([s, e]) => [s.toString(16), e.toString(16)]) }, payload: Buffer.concat(chunks) });
    // Read back as written, so the names live in the file from the first run on.
    files.open(state.key, (e) => (cached = decodeStable(e.meta, e.payload, e.file)) !== undefined);
    cached ??= { table: kallsymsTable(stable, read.modules, true), ranges };
    others = kallsymsTable(buildAddressTable(read.entries.filter(isVolatile)), read.modules, true);
  }
  const { table: stable } = cached;
  const inStable = rangeMembership(cached.ranges);
  // only what the cache leaves out: the kernel's own lines are not parsed again
  const rest = (): KallsymsTable | undefined => {
    if (others === undefined) {
      try {
        const read = readKallsymsEntries(readVolatileKallsymsLines(procRoot), VOLATILE_MODULE);
        others = kallsymsTable(buildAddressTable(read.nonZero ? read.entries : []), read.modules, read.nonZero);
      } catch (err) {
        log?.warn((err as Error).message);
        others = null;
      }
    }
    return others ?? undefined;
  };
  return {
    available: true,
    size: stable.size,
    lookup: (address) => (inStable(address) ? stable.lookup(address) : rest()?.lookup(address)),
  };
}

/** How the lines VOLATILE_MODULE matches are tagged in kallsyms. */
const VOLATILE_TAGS = [Buffer.from('\t[bpf]'), Buffer.from('\t[__builtin__')];

/**
 * The lines of <procRoot>/kallsyms a cached table leaves out (VOLATILE_TAGS),
 * found in the bytes as they are read: the kernel's own lines, nearly all of
 * the 5 MB, never become a string. Read whole and parsed, the file took
 * 230-345 ms of the agent's main thread at its first BPF-program frame.
 */
function readVolatileKallsymsLines(procRoot: string): string {
  const path = `${procRoot}/kallsyms`;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw kallsymsReadError(path, err);
  }
  const buf = Buffer.allocUnsafe(256 * 1024);
  const kept: string[] = [];
  let carried = 0; // bytes of a line the previous read cut
  try {
    for (;;) {
      const n = readSync(fd, buf, carried, buf.length - carried, null);
      const filled = carried + n;
      // complete lines only; at the end of the file, all
      const complete = n === 0 ? filled : buf.lastIndexOf(10, filled - 1) + 1;
      const lines = buf.subarray(0, complete);
      for (const tag of VOLATILE_TAGS) {
        for (let i = lines.indexOf(tag); i >= 0; i = lines.indexOf(tag, i + tag.length)) {
          const from = lines.lastIndexOf(10, i) + 1;
          const to = lines.indexOf(10, i);
          kept.push(lines.toString('latin1', from, to < 0 ? complete : to));
        }
      }
      if (n === 0) break;
      carried = filled - complete;
      buf.copy(buf, 0, complete, filled);
    }
  } catch (err) {
    throw kallsymsReadError(path, err);
  } finally {
    closeSync(fd);
  }
  return kept.join('\n');
}

/** Whether an address is in one of `ranges`: a binary search over them sorted and merged, as each kernel frame asks (one range per loaded module). */
function rangeMembership(ranges: readonly (readonly [bigint, bigint])[]): (address: bigint) => boolean {
  const merged: [bigint, bigint][] = [];
  for (const [s, e] of [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const last = merged[merged.length - 1];
    if (last !== undefined && s <= last[1]) {
      if (e > last[1]) last[1] = e;
    } else {
      merged.push([s, e]);
    }
  }
  return (address) => {
    let lo = 0;
    let hi = merged.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (merged[mid]![0] <= address) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && address < merged[lo - 1]![1];
  };
}

/**
 * The ranges a cached table answers for: the kernel's text (its first
 * symbol to its last one's bound) and each loaded module's range from
 * /proc/modules. Anything else may be code that was not there when cached.
 */
function stableRanges(table: AddressTable, modules: readonly string[], loaded: readonly ModuleRange[]): [bigint, bigint][] {
  let lo: bigint | undefined;
  let hi: bigint | undefined;
  const { starts } = table.parts; // a table just built: its parts are at hand
  for (let i = 0; i < table.length; i++) {
    if (table.tagAt(i) !== 0) continue;
    const start = starts[i]!;
    if (lo === undefined || start < lo) lo = start;
    if (hi === undefined || start > hi) hi = start;
  }
  const out: [bigint, bigint][] = lo === undefined || hi === undefined ? [] : [[lo, hi + MAX_SYMBOL_SPAN]];
  for (const m of loaded) if (modules.includes(m.name)) out.push([m.start, m.end]);
  return out;
}

/** The cached table in an entry, or undefined when it does not decode (then kallsyms is read again). */
function decodeStable(meta: unknown, payload: Buffer, file: OpenCacheFile): { table: KallsymsTable; ranges: [bigint, bigint][] } | undefined {
  const m = meta as { shape?: unknown; modules?: unknown; ranges?: unknown } | null;
  if (m === null || typeof m !== 'object' || !isPartsShape(m.shape) || !Array.isArray(m.modules) || !Array.isArray(m.ranges)) return undefined;
  if (!m.modules.every((x) => typeof x === 'string')) return undefined;
  const ranges: [bigint, bigint][] = [];
  for (const r of m.ranges as unknown[]) {
    if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => typeof x === 'string' && /^[0-9a-f]+$/.test(x))) return undefined;
    ranges.push([BigInt(`0x${r[0] as string}`), BigInt(`0x${r[1] as string}`)]);
  }
  // The names stay in the file: read when a frame is named.
  const reader = createPartsReader(payload, file);
  const parts = reader.read(m.shape);
  if (parts === undefined || !reader.atEnd) return undefined;
  return { table: kallsymsTable(addressTableFromParts(parts), m.modules as string[], true), ranges };
}
