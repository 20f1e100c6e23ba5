/**
 * User-space frames: address → mapping → file offset → file vaddr (through
 * PT_LOAD, which covers PIE executables, non-PIE ones and shared libraries
 * alike) → symbol. Unnamed addresses become `module+0xOFFSET`, never dropped.
 */
import { basename } from 'node:path';
import type { ProcessTable } from '../process/process-table.js';
import { findMapping as findIn, type ProcMapping } from '../process/proc-maps.js';
import type { FrameKind, Mapping } from '../stacks/frames.js';
import type { SymbolHit } from './address-table.js';
import type { DwarfLineTable, SourceLine } from './dwarf-lines.js';
import type { LineTableCache } from './line-table-cache.js';
import type { MutableFrame } from './kernel-frames.js';
import { resolveMappingFile } from './mapping-file.js';
import type { FileSymbols, SymbolCache } from './symbol-cache.js';

/** A JIT symbol (perf map): what `resolveJit` returns. */
export interface JitSymbol {
  readonly name: string;
  readonly kind: FrameKind;
  readonly fileName?: string | undefined;
  readonly line?: number | undefined;
}

/** What a mapping resolved to; kept as long as the ProcMapping object lives. */
export interface MappingState {
  readonly mapping: Mapping;
  readonly module: string;
  readonly file: FileSymbols | undefined;
  /** The readable path the symbols came from. */
  readonly path: string | undefined;
  /** True when the file's symbols could not be read (the error went to onFileError). */
  readonly unreadable?: boolean;
  /** Its DWARF line table once looked up (null: none or unreadable). */
  lines?: DwarfLineTable | null;
  /** True when its line table could not be read (the error went to onFileError). */
  linesUnreadable?: boolean;
}

/** Long-lived parts shared by every batch. */
export interface UserFrameContext {
  readonly processes: Pick<ProcessTable, 'procRoot' | 'get' | 'findMapping' | 'reloadMappings'>;
  readonly cache: SymbolCache;
  readonly states: WeakMap<ProcMapping, MappingState>;
  readonly resolveJit: ((pid: number, address: bigint) => JitSymbol | undefined) | undefined;
  /** Path of a copy of the vDSO image, or undefined when none could be made. */
  readonly vdsoPath: () => string | undefined;
  /** Called once per file whose symbols (or, with line info, line table) could not be loaded, with the error. */
  readonly onFileError: (error: Error, what?: 'symbols' | 'lines') => void;
  /** DWARF line tables, when file:line is asked for (off by default: it costs time per file). */
  readonly lineTables?: LineTableCache | undefined;
}

/** Resolves one process's user frames within one batch. */
export interface UserFrameResolver {
  frame(address: bigint, isReturn: boolean): MutableFrame;
  /** Frames whose address lay in no mapping of the process. */
  readonly unmapped: number;
  /** Frames in a mapping whose file's symbols could not be read. */
  readonly unreadable: number;
  /** Named frames without file:line because their file's line table could not be read. */
  readonly linesUnreadable: number;
}

/** The mapping state of `m` in `pid`, loading the file's symbols on first use. */
export function mappingState(ctx: UserFrameContext, pid: number, m: ProcMapping): MappingState {
  const known = ctx.states.get(m);
  if (known !== undefined) return known;
  let file: FileSymbols | undefined;
  let unreadable = false;
  const path = mappingPath(ctx, pid, m);
  if (path !== undefined) {
    try {
      file = ctx.cache.get(path);
    } catch (err) {
      unreadable = true;
      ctx.onFileError(err as Error);
    }
  }
  return setMappingState(ctx, m, file, path, unreadable);
}

/** Where the symbols of `m` are read from: the file behind it, or the agent's copy of the vDSO. */
export function mappingPath(ctx: UserFrameContext, pid: number, m: ProcMapping): string | undefined {
  return m.kind === 'vdso' ? ctx.vdsoPath() : resolveMappingFile(ctx.processes.procRoot, pid, m);
}

/** Records what `m` resolved to (symbols loaded from `path`, or none). */
export function setMappingState(ctx: UserFrameContext, m: ProcMapping, file: FileSymbols | undefined, path: string | undefined, unreadable = false): MappingState {
  const module = m.path === '' ? '[anon]' : m.path.startsWith('/') ? basename(m.path) : m.path;
  const mapping: Mapping = { start: m.start, limit: m.end, fileOffset: m.offset, file: m.path === '' ? '[anon]' : m.path, buildId: file?.buildId };
  const s: MappingState = { mapping, module, file, path: file === undefined ? undefined : path, ...(unreadable ? { unreadable } : {}) };
  ctx.states.set(m, s);
  return s;
}

/** The DWARF position of `vaddr` in the mapping's file, loading its line table on first use. */
function sourceLine(ctx: UserFrameContext, s: MappingState, vaddr: bigint): SourceLine | undefined {
  if (s.lines === undefined) {
    try {
      s.lines = (s.path === undefined ? undefined : ctx.lineTables?.get(s.path)) ?? null;
    } catch (err) {
      s.lines = null;
      s.linesUnreadable = true;
      ctx.onFileError(err as Error, 'lines');
    }
  }
  return s.lines?.lookup(vaddr);
}

/**
 * Creates the resolver for `pid` (memoized per address for this batch); new
 * frames are appended to `created`. With `image`, an image the process
 * exec'ed away from, addresses are looked up in its mappings only.
 */
export function createUserFrameResolver(
  ctx: UserFrameContext,
  pid: number,
  names: Map<FileSymbols, Map<bigint, SymbolHit | null>>,
  created: MutableFrame[],
  image?: readonly ProcMapping[],
): UserFrameResolver {
  const memo = [new Map<bigint, MutableFrame>(), new Map<bigint, MutableFrame>()];
  let reloaded = false;
  let unmapped = 0;
  let unreadable = 0;
  const unreadableFrames = new Set<MutableFrame>();
  let linesUnreadable = 0;
  const lineless = new Set<MutableFrame>();

  const findMapping = (address: bigint): ProcMapping | undefined => {
    if (image !== undefined) return findIn(image, address);
    let m = ctx.processes.findMapping(pid, address, false);
    if (m === undefined && !reloaded && ctx.processes.get(pid)?.exited === false) {
      // One re-read per process per batch catches libraries dlopen()ed since the snapshot.
      reloaded = true;
      ctx.processes.reloadMappings(pid);
      m = ctx.processes.findMapping(pid, address, false);
    }
    return m;
  };

  const lookupName = (file: FileSymbols, vaddr: bigint): SymbolHit | undefined => {
    let perFile = names.get(file);
    if (perFile === undefined) names.set(file, (perFile = new Map()));
    let hit = perFile.get(vaddr);
    if (hit === undefined) perFile.set(vaddr, (hit = file.lookup(vaddr) ?? null));
    return hit ?? undefined;
  };

  const resolve = (address: bigint, isReturn: boolean): MutableFrame => {
    const m = findMapping(address);
    const jit = m === undefined || m.kind !== 'file' ? ctx.resolveJit?.(pid, address) : undefined;
    if (jit !== undefined) {
      const mapping = m === undefined ? undefined : mappingState(ctx, pid, m).mapping;
      return { functionName: jit.name, kind: jit.kind, address, mapping, fileName: jit.fileName, line: jit.line, symbolized: true };
    }
    if (m === undefined) {
      unmapped++;
      return { functionName: `[unknown]+0x${address.toString(16)}`, kind: 'native', address, mapping: undefined, symbolized: false };
    }
    const s = mappingState(ctx, pid, m);
    const offset = address - m.start + m.offset;
    const vaddr = s.file?.offsetToVaddr(isReturn ? offset - 1n : offset);
    const hit = s.file === undefined || vaddr === undefined ? undefined : lookupName(s.file, vaddr);
    if (hit === undefined) {
      const f: MutableFrame = { functionName: `${s.module}+0x${offset.toString(16)}`, kind: s.file?.frameKind ?? 'native', address, mapping: s.mapping, symbolized: false };
      if (s.unreadable === true) unreadableFrames.add(f);
      return f;
    }
    const pos = hit.fileName === undefined && ctx.lineTables !== undefined ? sourceLine(ctx, s, vaddr!) : undefined;
    const f: MutableFrame = {
      functionName: hit.name, kind: s.file!.frameKind, address, mapping: s.mapping,
      fileName: pos?.fileName ?? hit.fileName, line: pos?.line ?? hit.line, symbolized: true,
    };
    if (hit.fileName === undefined && s.linesUnreadable === true) lineless.add(f);
    return f;
  };

  return {
    frame(address, isReturn) {
      const cache = memo[isReturn ? 1 : 0]!;
      let f = cache.get(address);
      if (f === undefined) {
        f = resolve(address, isReturn);
        cache.set(address, f);
        created.push(f);
      } else if (f.mapping === undefined && !f.symbolized) unmapped++;
      if (unreadableFrames.has(f)) unreadable++;
      else if (lineless.has(f)) linesUnreadable++;
      return f;
    },
    get unmapped() {
      return unmapped;
    },
    get unreadable() {
      return unreadable;
    },
    get linesUnreadable() {
      return linesUnreadable;
    },
  };
}
