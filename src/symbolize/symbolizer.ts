/**
 * Names a RawStackBatch's addresses: kernel frames from kallsyms, user
 * frames from each process's captured mappings and the files' ELF symbols.
 * Nothing is dropped: unnamed frames keep a `module+0xOFFSET` name and frames
 * outside any mapping are kept as `[unknown]+0x...` and counted in drops.
 * Building the profile from the names is profile/'s job.
 */
import { fileKey } from '../elf/file-identity.js';
import type { ProcessTable } from '../process/process-table.js';
import { findMapping, type ProcMapping } from '../process/proc-maps.js';
import type { Frame, Mapping, NamedStacks } from '../stacks/frames.js';
import type { DropCounts, RawStackBatch } from '../stacks/raw-stacks.js';
import type { SymbolHit } from './address-table.js';
import { createKallsymsSource, type KallsymsSource, type KallsymsTable } from './kallsyms.js';
import { createLineTableCache } from './line-table-cache.js';
import { createKernelFrameResolver, type MutableFrame } from './kernel-frames.js';
import { createSymbolCache, type FileSymbols, type SymbolCache } from './symbol-cache.js';
import { extractVdsoImage } from './vdso-image.js';
import type { PythonFrameNamer } from './python-frames.js';
import type { Logger } from '../log/logger.js';
import { createUserFrameResolver, mappingPath, setMappingState, type JitSymbol, type MappingState, type UserFrameContext, type UserFrameResolver } from './user-frames.js';

export type { JitSymbol };

/** Options for createSymbolizer. */
export interface SymbolizerOptions {
  readonly processes: Pick<ProcessTable, 'procRoot' | 'get' | 'tryObserve' | 'findMapping' | 'reloadMappings'> & Partial<Pick<ProcessTable, 'imageFor'>>;
  /**
   * Kernel symbols: a table, null to disable kernel names, or a source
   * shared with others; default <procRoot>/kallsyms read on the first kernel frame.
   */
  readonly kallsyms?: KallsymsTable | null | KallsymsSource;
  readonly symbolCache?: SymbolCache;
  /** Turns the batch's symbol names into display names, same order (e.g. a Demangler's demangle). */
  readonly demangle?: (names: readonly string[]) => string[];
  /** Names JIT code (perf maps) in anonymous mappings or outside any mapping. */
  readonly resolveJit?: (pid: number, address: bigint) => JitSymbol | undefined;
  /** Reads a live process's JIT symbols now (e.g. PerfMapResolver.prepare), so they name frames after it exits. */
  readonly prepareJit?: (pid: number) => void;
  /** Name [vdso] frames from a copy of the agent's own vDSO written to the temp dir; default true. */
  readonly vdso?: boolean;
  /**
   * Give native frames file:line from DWARF `.debug_line` (the file's or its
   * debug file's); default false: a table costs about 250 ms per 65k rows to
   * build, once per file. Go and JIT frames carry theirs regardless.
   */
  readonly lineInfo?: boolean;
  /** Interleaves the Python frames the kernel walked with the native ones (their names read at each drain). */
  readonly python?: Pick<PythonFrameNamer, 'merge'>;
  /** Says once per file why its symbols or line table could not be read (a malformed section names itself). */
  readonly log?: Pick<Logger, 'warn'>;
}

/** Counters since creation. */
export interface SymbolizerStats {
  readonly frames: number;
  readonly unsymbolizedFrames: number;
  readonly fileErrors: number;
  readonly lastFileError: string | undefined;
  /** Why kernel symbols could not be loaded, when they could not. */
  readonly kallsymsError: string | undefined;
}

/** The symbolizer; one per agent, called once per drain. */
export interface Symbolizer {
  /**
   * Loads the symbols the batch's user frames need through the cache's
   * load(): with its table worker, off this thread, so symbolize() then
   * holds the thread only for lookups. Files that fail are left to
   * name(), which counts the error.
   */
  load(batch: RawStackBatch): Promise<void>;
  /** Names every sample's addresses; `stacks[i]` belongs to `batch.samples[i]`. */
  name(batch: RawStackBatch): NamedStacks;
  /**
   * Starts loading the symbols of a live process's executable file mappings
   * (the file is stat'ed and opened now), so they resolve after it exits.
   * `jit: false` leaves out the perf map: a program that has just exec'ed
   * has written none yet, and looking costs a /proc read and two failed opens.
   */
  prepare(pid: number, opts?: { readonly jit?: boolean }): void;
  stats(): SymbolizerStats;
}

/** Drop reasons this stage adds to a batch's drops. */
export const SYMBOLIZE_DROPS = {
  unmapped: 'symbolize_address_unmapped',
  processUnknown: 'symbolize_process_unknown',
  kernelUnresolved: 'symbolize_kernel_unresolved',
  /** A walked Python frame whose code object could not be read (the process gone before a drain saw it). */
  pythonUnnamed: 'symbolize_python_code_unreadable',
  /**
   * A frame kept as `module+0xOFFSET` because its file's symbols could not
   * be read (gone, or a malformed section: the log names it). Kept, not
   * lost: the count says how many frames lack their names.
   */
  fileUnreadable: 'symbolize_file_unreadable',
  /** A named frame kept without file:line (--line-info) because its file's line table could not be read. */
  linesUnreadable: 'symbolize_line_info_unreadable',
} as const;

/** File errors remembered so each is logged once; past this many the memory starts over. */
const MAX_WARNED = 1024;

/** Creates a symbolizer over a process table. */
export function createSymbolizer(options: SymbolizerOptions): Symbolizer {
  const processes = options.processes;
  // The image a stack was walked in, when the process exec'ed since: undefined for the current one.
  const earlierImage = (pid: number, stack: readonly bigint[]): readonly ProcMapping[] | undefined => {
    const image = processes.imageFor?.(pid, stack);
    return image === undefined || image === processes.get(pid)?.mappings ? undefined : image;
  };
  const kallsyms = isKallsymsSource(options.kallsyms) ? options.kallsyms : createKallsymsSource(processes.procRoot, options.kallsyms);
  const kernelMappings = new Map<string, Mapping>();
  let frames = 0;
  let unsymbolized = 0;
  let fileErrors = 0;
  let lastFileError: string | undefined;
  let vdso: string | null | undefined;
  const warned = new Set<string>();
  const ctx: UserFrameContext = {
    processes,
    cache: options.symbolCache ?? createSymbolCache(),
    states: new WeakMap<ProcMapping, MappingState>(),
    resolveJit: options.resolveJit,
    vdsoPath: () => {
      if (vdso === undefined) {
        try {
          vdso = options.vdso === false ? null : extractVdsoImage();
        } catch (err) {
          vdso = null;
          ctx.onFileError(err as Error);
        }
      }
      return vdso ?? undefined;
    },
    onFileError: (err, what = 'symbols') => {
      fileErrors++;
      lastFileError = err.message;
      // Once per file and error, though every process mapping the file meets it.
      if (warned.has(err.message)) return;
      if (warned.size >= MAX_WARNED) warned.clear();
      warned.add(err.message);
      options.log?.warn(`${err.message}: ${what === 'lines' ? 'its frames are named without file:line' : 'its frames keep file+offset names'}`);
    },
    lineTables: options.lineInfo === true ? createLineTableCache() : undefined,
  };
  // Loads in flight, by mapping: a batch waits for the load exec tracking
  // started even when the process has exited and its path is gone.
  const pending = new WeakMap<ProcMapping, Promise<void>>();
  const recent = createRecentFiles(Date.now);
  // Loads `path` for the mappings that resolve to it; a failure is left to
  // symbolize(), which counts it. A mapping symbolize() gave up on while the
  // load was waiting gets the symbols once they arrive.
  const loadFor = (path: string, mappings: readonly ProcMapping[]): Promise<void> => {
    const done = ctx.cache.load(path).then(
      (file) => {
        for (const m of mappings) {
          if (ctx.states.get(m)?.file === undefined) setMappingState(ctx, m, file, path);
          recent.remember(m, file, path);
        }
      },
      () => {},
    );
    for (const m of mappings) pending.set(m, done);
    // Settled: a state is set, or a later batch may try again off-thread.
    void done.then(() => { for (const m of mappings) if (pending.get(m) === done) pending.delete(m); });
    return done;
  };

  return {
    async load(batch) {
      const byPath = new Map<string, ProcMapping[]>();
      const waits: Promise<void>[] = [];
      const seen = new Set<ProcMapping>();
      const addresses = new Map<number, Set<bigint>>();
      for (const s of batch.samples) {
        if (s.userStack.length === 0) continue;
        let done = addresses.get(s.tgid);
        if (done === undefined) {
          processes.tryObserve(s.tgid);
          addresses.set(s.tgid, (done = new Set()));
        }
        const image = earlierImage(s.tgid, s.userStack);
        for (const a of s.userStack) {
          if (image === undefined) {
            if (done.has(a)) continue;
            done.add(a);
          }
          const m = image === undefined ? processes.findMapping(s.tgid, a, false) : findMapping(image, a);
          if (m === undefined || m.kind !== 'file' || seen.has(m) || ctx.states.has(m)) continue;
          seen.add(m);
          const inFlight = pending.get(m);
          if (inFlight !== undefined) {
            waits.push(inFlight);
            continue;
          }
          if (recent.adopt(ctx, m, s.tgid)) continue;
          const path = mappingPath(ctx, s.tgid, m);
          if (path !== undefined) byPath.set(path, [...(byPath.get(path) ?? []), m]);
        }
      }
      await Promise.all([...waits, ...[...byPath].map(([path, mappings]) => loadFor(path, mappings))]);
    },
    name(batch) {
      // Every distinct frame of the batch, each once: for demangling and counting.
      const created: MutableFrame[] = [];
      const kernel = batch.samples.some((s) => s.kernelStack.length > 0) ? createKernelFrameResolver(kallsyms.table(), kernelMappings, created) : undefined;
      const names = new Map<FileSymbols, Map<bigint, SymbolHit | null>>();
      const users = new Map<number, UserFrameResolver>();
      // Resolvers of images processes exec'ed away from, by their mappings.
      const earlier = new Map<readonly ProcMapping[], { pid: number; user: UserFrameResolver }>();
      const drops: DropCounts = {};
      const add = (reason: string, n: number): void => {
        if (n > 0) drops[reason] = (drops[reason] ?? 0) + n;
      };
      const stacks: Frame[][] = [];
      for (const s of batch.samples) {
        const pid = s.tgid;
        let user = users.get(pid);
        if (user === undefined) {
          // A process first seen in this batch is captured now, while it may still be alive.
          processes.tryObserve(pid);
          user = createUserFrameResolver(ctx, pid, names, created);
          users.set(pid, user);
        }
        const image = s.userStack.length > 0 ? earlierImage(pid, s.userStack) : undefined;
        if (image !== undefined) {
          let old = earlier.get(image);
          if (old === undefined) earlier.set(image, (old = { pid, user: createUserFrameResolver(ctx, pid, names, created, image) }));
          user = old.user;
        }
        const out: MutableFrame[] = [];
        let i = 0;
        if (kernel !== undefined) for (const a of s.kernelStack) out[i] = kernel.frame(a, i++ > 0);
        const userStart = i;
        for (const a of s.userStack) out[i] = user.frame(a, i++ > userStart);
        frames += out.length;
        const python = s.pythonStack !== undefined && s.pythonStack.length > 0 ? options.python : undefined;
        if (python === undefined) {
          stacks.push(out);
          continue;
        }
        const merged = python.merge(pid, s.pythonStack!, out.slice(userStart));
        for (const f of merged) if (f.kind === 'cpython' && !f.symbolized) add(SYMBOLIZE_DROPS.pythonUnnamed, 1);
        stacks.push([...out.slice(0, userStart), ...merged]);
      }
      for (const [pid, u] of [...users, ...[...earlier.values()].map((o) => [o.pid, o.user] as const)]) {
        add(processes.get(pid) === undefined ? SYMBOLIZE_DROPS.processUnknown : SYMBOLIZE_DROPS.unmapped, u.unmapped);
        add(SYMBOLIZE_DROPS.fileUnreadable, u.unreadable);
        add(SYMBOLIZE_DROPS.linesUnreadable, u.linesUnreadable);
      }
      add(SYMBOLIZE_DROPS.kernelUnresolved, kernel?.unresolved ?? 0);
      for (const f of created) if (!f.symbolized) unsymbolized++;
      if (options.demangle !== undefined) applyDemangle(created, options.demangle);
      return { stacks, drops };
    },
    prepare(pid, opts) {
      const p = processes.tryObserve(pid);
      if (p === undefined) return;
      for (const m of p.mappings) {
        if (!m.executable || m.kind !== 'file' || ctx.states.has(m) || pending.has(m) || recent.adopt(ctx, m, pid)) continue;
        const path = mappingPath(ctx, pid, m);
        if (path !== undefined) void loadFor(path, [m]);
      }
      if (opts?.jit !== false) options.prepareJit?.(pid);
    },
    stats: () => ({ frames, unsymbolizedFrames: unsymbolized, fileErrors, lastFileError, kallsymsError: kallsyms.error }),
  };
}

/**
 * How long a file loaded for one process's mapping is taken for another
 * process's mapping of the same file (device, inode and path as /proc/PID/maps
 * shows them) without finding and checking its path again. A program exec'ed
 * ten times a second maps the same three files each time, and each time the
 * lookup stat()ed up to four paths per file, the process often gone already.
 * A file rewritten in place (same inode) is seen once this has passed.
 */
const RECENT_FILE_MS = 10_000;
/** Bound on the files remembered; the oldest go first. */
const MAX_RECENT_FILES = 1024;

/**
 * Files recently loaded for some mapping, by the mapping's file identity.
 * Held weakly: an entry never pins a file's symbols the symbol cache let go.
 */
function createRecentFiles(now: () => number): {
  remember(m: ProcMapping, file: FileSymbols, path: string): void;
  /** Sets the state of `m` (a mapping of `pid`) from a recent load of its file; false when there is none. */
  adopt(ctx: UserFrameContext, m: ProcMapping, pid: number): boolean;
} {
  // insertion order is time order: remember() moves an entry to the end
  const byFile = new Map<string, { file: WeakRef<FileSymbols>; path: string; at: number }>();
  const keyOf = (m: ProcMapping): string => `${fileKey(m.devMajor, m.devMinor, m.inode)}:${m.path}`;
  return {
    remember(m, file, path) {
      if (m.deleted) return; // its path may name another file now
      const t = now();
      for (const [k, r] of byFile) {
        if (t - r.at <= RECENT_FILE_MS && byFile.size < MAX_RECENT_FILES) break;
        byFile.delete(k);
      }
      const key = keyOf(m);
      byFile.delete(key);
      byFile.set(key, { file: new WeakRef(file), path, at: t });
    },
    adopt(ctx, m, pid) {
      if (m.deleted) return false;
      const key = keyOf(m);
      const r = byFile.get(key);
      if (r === undefined) return false;
      const file = r.file.deref();
      if (file === undefined || now() - r.at > RECENT_FILE_MS) {
        byFile.delete(key);
        return false;
      }
      // The path only locates the line table, read later: the first process's path
      // (through its /proc entry) may be gone by then, so with line info it is this one's.
      setMappingState(ctx, m, file, ctx.lineTables === undefined ? r.path : mappingPath(ctx, pid, m) ?? r.path);
      return true;
    },
  };
}

function applyDemangle(frames: readonly MutableFrame[], demangle: (names: readonly string[]) => string[]): void {
  const raw = new Set<string>();
  for (const f of frames) if (f.symbolized && f.kind !== 'kernel') raw.add(f.functionName);
  const list = [...raw];
  const shown = demangle(list);
  const map = new Map<string, string>();
  list.forEach((n, i) => {
    const d = shown[i];
    if (d !== undefined && d !== n) map.set(n, d);
  });
  for (const f of frames) {
    const d = f.symbolized && f.systemName === undefined ? map.get(f.functionName) : undefined;
    if (d !== undefined) {
      f.systemName = f.functionName;
      f.functionName = d;
    }
  }
}

function isKallsymsSource(k: KallsymsTable | null | KallsymsSource | undefined): k is KallsymsSource {
  return k !== null && k !== undefined && 'table' in k && typeof k.table === 'function';
}
