/**
 * JIT symbols from perf maps, `/tmp/perf-PID.map`, written by Node.js
 * (`--perf-basic-prof`), the JVM (`jcmd PID Compiler.perfmap`, perf-map-agent)
 * and CPython 3.12+ (`-X perf`). Each line is `START SIZE name`, hex numbers.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readAt } from '../elf/read-at.js';
import { readProcFile } from '../process/proc-reader.js';
import type { FrameKind } from '../stacks/frames.js';

/** One perf map line, named for display. */
export interface PerfMapSymbol {
  readonly start: bigint;
  readonly size: bigint;
  /** Clean display name: `hotFunction`, `Hot.hot(int)`, `Builtin:ArrayForEach`. */
  readonly name: string;
  /** The name as written in the map. */
  readonly rawName: string;
  readonly kind: FrameKind;
  readonly fileName?: string | undefined;
  /** Line where the function starts, when the runtime writes it (V8 does). */
  readonly line?: number | undefined;
}

// V8 code-kind prefixes whose rest is a JS function `name file:line:col`.
const V8_JS = /^(?:JS|LazyCompile|Function|Script|Eval):[*~^+]?(.*)$/;
// V8 code that is not a JS function keeps its prefix, which says what it is.
const V8_OTHER = /^(?:Builtin|BytecodeHandler|Stub|Handler|RegExp|Callback|[A-Za-z]*IC):/;
const V8_LOCATION = /^(.*?) ?(\S+):(\d+):(\d+)$/;
const PYTHON = /^py::(.*?):(.*)$/;
// HotSpot writes `returnType Class.method(args)`; the return type is noise.
const JAVA = /^\S+ ([\w$.<>]+\(.*\))$/;

/** Names one raw perf map name; `fallback` is the kind for unmarked names. */
export function classifyPerfMapName(rawName: string, fallback: FrameKind = 'jvm'): Omit<PerfMapSymbol, 'start' | 'size'> {
  const py = PYTHON.exec(rawName);
  if (py !== null) return { name: py[1] ?? rawName, rawName, kind: 'cpython', fileName: py[2] || undefined };
  const js = V8_JS.exec(rawName);
  if (js !== null) {
    const rest = js[1] ?? '';
    const loc = V8_LOCATION.exec(rest);
    if (loc === null) return { name: rest === '' ? '(anonymous)' : rest, rawName, kind: 'v8js' };
    // ES modules are named by URL; a path is what file:line readers expect.
    const file = loc[2]?.startsWith('file://') === true ? urlPath(loc[2]) : loc[2];
    return { name: loc[1] || '(anonymous)', rawName, kind: 'v8js', fileName: file, line: Number(loc[3]) };
  }
  if (V8_OTHER.test(rawName)) return { name: rawName, rawName, kind: 'v8js' };
  const java = JAVA.exec(rawName);
  if (java !== null) return { name: java[1] ?? rawName, rawName, kind: 'jvm' };
  return { name: rawName, rawName, kind: fallback };
}

/** The path of a file: URL, or the URL itself when it names no local path (file://host/...). */
function urlPath(url: string): string {
  try {
    return fileURLToPath(url);
  } catch {
    return url;
  }
}

/** Parses perf map text; malformed lines are skipped. Unmarked names get `fallback`. */
export function parsePerfMap(text: string, fallback: FrameKind = 'jvm'): PerfMapSymbol[] {
  const out: PerfMapSymbol[] = [];
  for (const line of text.split('\n')) {
    const m = /^(?:0x)?([0-9a-fA-F]+) (?:0x)?([0-9a-fA-F]+) (.+)$/.exec(line.trimEnd());
    if (m === null) continue;
    out.push({ start: BigInt(`0x${m[1]}`), size: BigInt(`0x${m[2]}`), ...classifyPerfMapName(m[3] ?? '', fallback) });
  }
  return out;
}

/** The pid as the process's own pid namespace sees it: the last NSpid value. Throws when the process is gone. */
export function readNamespacePid(pid: number, procRoot = '/proc'): number {
  const status = readProcFile(procRoot, pid, 'status');
  if (status === undefined) throw new Error(`reading ${procRoot}/${pid}/status: no such process or no access`);
  const line = /^NSpid:\s*(.*)$/m.exec(status);
  const last = line?.[1]?.trim().split(/\s+/).pop();
  return last === undefined || last === '' ? pid : Number(last);
}

/** The perf map of one process, re-read as it grows. */
export interface PerfMap {
  /** Path read, through /proc/PID/root so container maps are found. */
  readonly path: string;
  /** Reads what was appended since the last call; true when something changed. */
  refresh(): boolean;
  /** The symbol covering `address`; of overlapping ones, the later line (newer code) wins. */
  lookup(address: bigint): PerfMapSymbol | undefined;
  /** Number of entries held. */
  readonly size: number;
  /** Closes the file kept open since the first read; idempotent. */
  close(): void;
}

/**
 * Opens the perf map of `pid`. Nothing is read until `refresh()`; a missing
 * file is an empty map. Growth is read incrementally; a file that shrank or
 * whose head changed (JVM rewrites it) is read again whole. The file stays
 * open after the first read, so it can still be read once the process has
 * exited and /proc/PID/root is gone; `close()` releases it.
 */
export function openPerfMap(pid: number, opts: { procRoot?: string; fallbackKind?: FrameKind; path?: string } = {}): PerfMap {
  const procRoot = opts.procRoot ?? '/proc';
  const path = opts.path ?? `${procRoot}/${pid}/root/tmp/perf-${readNamespacePid(pid, procRoot)}.map`;
  let held: { fd: number; ino: number } | undefined;
  let entries: PerfMapSymbol[] = [];
  let consumed = 0;
  let head: Buffer = Buffer.alloc(0);
  // Entries by start, each with its line number: of overlapping entries the later line is the live code.
  let sorted: { sym: PerfMapSymbol; seq: number }[] | undefined;
  let largest = 0n;
  let fallback: FrameKind = opts.fallbackKind ?? 'jvm';

  const readRange = (fd: number, from: number, to: number): Buffer => {
    const buf = Buffer.alloc(to - from);
    return buf.subarray(0, readAt(fd, buf, from));
  };

  /** The open file: the one at `path` when it can be opened (it may be a new file), else the held one. */
  const currentFd = (): number | undefined => {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return held?.fd; // the process is gone (or the map not written yet)
    }
    const ino = fstatSync(fd).ino;
    if (held !== undefined && held.ino === ino) {
      closeSync(fd);
      return held.fd;
    }
    if (held !== undefined) closeSync(held.fd);
    held = { fd, ino };
    return fd;
  };

  const refresh = (): boolean => {
    const fd = currentFd();
    if (fd === undefined) return false;
    const size = fstatSync(fd).size;
    const newHead = readRange(fd, 0, Math.min(size, 256));
    const rewritten = size < consumed || !newHead.subarray(0, head.length).equals(head);
    if (!rewritten && size === consumed) return false;
    if (rewritten) {
      entries = [];
      consumed = 0;
    }
    const chunk = readRange(fd, consumed, size);
    // Only whole lines: the writer may be mid-line.
    const end = chunk.lastIndexOf(0x0a) + 1;
    if (end === 0) return rewritten;
    const text = chunk.subarray(0, end).toString('utf8');
    if (consumed === 0 && /^\S+ \S+ (?:JS|LazyCompile|Builtin|BytecodeHandler):/m.test(text)) fallback = 'v8js';
    entries.push(...parsePerfMap(text, fallback));
    consumed += end;
    head = newHead.subarray(0, Math.min(newHead.length, consumed));
    sorted = undefined;
    return true;
  };

  const lookup = (address: bigint): PerfMapSymbol | undefined => {
    if (sorted === undefined) largest = entries.reduce((m, e) => (e.size > m ? e.size : m), 0n);
    sorted ??= entries.map((sym, seq) => ({ sym, seq })).sort((a, b) => (a.sym.start < b.sym.start ? -1 : a.sym.start > b.sym.start ? 1 : a.seq - b.seq));
    let lo = 0;
    let hi = sorted.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid]?.sym.start ?? 0n) <= address) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Replaced code overlaps older entries: V8 reuses freed code space, and
    // a new function may start before any number of stale entries that
    // still cover the address. Every entry that covers it starts within the
    // largest size of the address; of those, the newest is the live code.
    let best: { sym: PerfMapSymbol; seq: number } | undefined;
    for (let i = at; i >= 0; i--) {
      const e = sorted[i];
      if (e === undefined || e.sym.start + largest <= address) break;
      if (address < e.sym.start + e.sym.size && (best === undefined || e.seq > best.seq)) best = e;
    }
    return best?.sym;
  };

  return {
    path,
    refresh,
    lookup,
    get size() {
      return entries.length;
    },
    close() {
      if (held !== undefined) closeSync(held.fd);
      held = undefined;
    },
  };
}

/** Perf maps of many processes, for the symbolizer's `resolveJit` hook. */
export interface PerfMapResolver {
  /** Names JIT code at `address` in `pid`; undefined when no perf map covers it. */
  resolve(pid: number, address: bigint): PerfMapSymbol | undefined;
  /** Opens and reads `pid`'s perf map now, while the process lives, so it names frames after exit. */
  prepare(pid: number): void;
  /**
   * Drops the maps of every pid `keep` refuses (exited processes). Asked
   * by what the process table holds, not by the exits it saw: samples of a
   * process gone before it was read open a map (or find none) under a pid
   * the table never held.
   */
  retainOnly(keep: (pid: number) => boolean): void;
  /** Processes whose map is held (or known absent). */
  readonly size: number;
}

/**
 * Creates a resolver that opens each process's perf map on first use and
 * re-reads what was appended at most once per `minRefreshMs` (default 1000)
 * per process, since runtimes append new code all the time. A hit does not
 * make the re-read unnecessary: V8 reuses freed code space, so an old entry
 * (code run once at start-up, freed since) covers the address of code the
 * map has named only in lines not read yet, and the old name would stick.
 */
export function createPerfMapResolver(opts: { procRoot?: string; minRefreshMs?: number; now?: () => number } = {}): PerfMapResolver {
  const maps = new Map<number, { map: PerfMap | undefined; refreshedAt: number }>();
  const now = opts.now ?? Date.now;
  const minRefreshMs = opts.minRefreshMs ?? 1000;
  const procRoot = opts.procRoot ?? '/proc';
  const stateOf = (pid: number): { map: PerfMap | undefined; refreshedAt: number } => {
    let state = maps.get(pid);
    if (state === undefined) {
      let map: PerfMap | undefined;
      try {
        map = openPerfMap(pid, { procRoot });
      } catch {
        // The process is gone. On the host's own /proc its map is still in /tmp under the same pid.
        map = procRoot === '/proc' ? openPerfMap(pid, { procRoot, path: `/tmp/perf-${pid}.map` }) : undefined;
      }
      state = { map, refreshedAt: -Infinity };
      maps.set(pid, state);
    }
    return state;
  };
  return {
    resolve(pid, address) {
      const state = stateOf(pid);
      if (state.map === undefined) return undefined;
      const t = now();
      if (t - state.refreshedAt >= minRefreshMs) {
        state.refreshedAt = t;
        state.map.refresh();
      }
      return state.map.lookup(address);
    },
    prepare(pid) {
      const state = stateOf(pid);
      state.refreshedAt = now();
      state.map?.refresh();
    },
    retainOnly(keep) {
      for (const [pid, state] of maps) {
        if (keep(pid)) continue;
        state.map?.close();
        maps.delete(pid);
      }
    },
    get size() {
      return maps.size;
    },
  };
}
