/**
 * The process table: each process as it was first seen (comm, exe, cmdline,
 * mappings), kept after it exits until `forgetExited()`, so samples drained
 * after a short-lived process ended still symbolize. It publishes events and
 * knows nothing of unwinding or symbolization.
 */
import { createListenerSet, type Unsubscribe } from './listener-set.js';
import { findMapping, type ProcMapping } from './proc-maps.js';
import { listProcPids, parseProcSnapshot, readProcMappings, readProcSnapshot, type ProcSnapshot, type RawProcSnapshot } from './proc-reader.js';

/** One process as the table knows it. */
export interface ProcessInfo {
  readonly pid: number;
  readonly comm: string;
  readonly exePath: string | undefined;
  readonly cmdline: readonly string[];
  /** Sorted by start address. */
  readonly mappings: readonly ProcMapping[];
  /** True once the process was found gone; its data stays until forgetExited(). */
  readonly exited: boolean;
}

/** Options for createProcessTable. */
export interface ProcessTableOptions {
  /** Where the proc filesystem is mounted, e.g. /host/proc in a container; default /proc. */
  readonly procRoot?: string;
}

/** Result of a refresh: pids that appeared and pids found gone. */
export interface RefreshResult {
  readonly added: readonly number[];
  readonly exited: readonly number[];
}

/** The process table; one per agent. */
export interface ProcessTable {
  readonly procRoot: string;
  /** Captures `pid` on first sight (later calls return the snapshot); throws "observing pid N: no such process". */
  observe(pid: number): ProcessInfo;
  /** Like observe, but undefined instead of throwing when the process does not exist. */
  tryObserve(pid: number): ProcessInfo | undefined;
  get(pid: number): ProcessInfo | undefined;
  all(): IterableIterator<ProcessInfo>;
  /** Scans the proc root: only new pids are read; vanished ones are marked exited. */
  refresh(): RefreshResult;
  /** The mapping of `pid` containing `address`; re-reads maps once when it misses (dlopen). */
  findMapping(pid: number, address: bigint, reload?: boolean): ProcMapping | undefined;
  /**
   * The mappings a user stack of `pid` was walked in: the current image's,
   * or an earlier image's (kept across an exec until forgetEarlierImages)
   * when more of its addresses fall in that image's executable mappings.
   * Undefined for an unknown pid.
   */
  imageFor(pid: number, stack: readonly bigint[]): readonly ProcMapping[] | undefined;
  /** A mark of the images replaced so far: take it before a drain, and pass it to forgetEarlierImages once that drain is named. */
  imageMark(): number;
  /** Drops the earlier images replaced up to `mark` (every sample walked in them was drained by then); returns how many. */
  forgetEarlierImages(mark: number): number;
  /** Re-reads the maps of a live process; returns the (possibly unchanged) info. */
  reloadMappings(pid: number): ProcessInfo | undefined;
  /**
   * Re-reads everything of `pid` (comm, exe, cmdline, mappings) after it
   * exec'ed a new program; a pid not yet known is observed. Fires
   * onMappingsChanged when a known entry changes. Undefined when it is gone.
   */
  reobserve(pid: number): ProcessInfo | undefined;
  /**
   * Stores a snapshot of `pid` read elsewhere (at exec, by a thread that is
   * never blocked), replacing what was known; a new pid fires onProcessAdded,
   * changed mappings of a known one onMappingsChanged. With `exec` (read at
   * the exec), the mappings replaced are kept as an earlier image.
   */
  adopt(pid: number, snapshot: ProcSnapshot, exec?: boolean): ProcessInfo;
  /**
   * Like adopt, for a snapshot read at exec (or a re-read soon after) that
   * may never be needed: most programs exec'ed on a busy host are never
   * sampled. A pid the table holds live is adopted at once; any other is
   * kept as read, its maps unparsed, and taken in (adopted, with its events)
   * only when something looks the pid up: `get`, `tryObserve`, a mapping
   * lookup, a refresh that finds it live. `onAdopted` is called then, when
   * the mappings changed. Kept ones found gone count among exitedPids()
   * until forgetExited() drops them.
   */
  adoptLater(pid: number, snapshot: RawProcSnapshot, exec: boolean, onAdopted: (p: ProcessInfo) => void): void;
  /** Snapshots kept by adoptLater and not yet taken in. */
  readonly deferred: number;
  /** Path through which `pid`'s mount namespace sees `path`: <procRoot>/PID/root/<path>. */
  hostPath(pid: number, path: string): string;
  /**
   * The exit event's word that `pid` is gone: marked exited now (firing
   * onProcessExited), not at the next refresh, so what it holds in the
   * kernel (unwind_procs) is freed at once. Its data stays until forgetExited.
   */
  markExited(pid: number): void;
  /** Pids of the processes found gone and not yet forgotten. */
  exitedPids(): number[];
  /**
   * Drops exited processes (only those of `only` when given: the ones known
   * to have exited before the last drain); call after that drain's samples
   * were symbolized. Returns the pids dropped.
   */
  forgetExited(only?: Iterable<number>): number[];
  onProcessAdded(listener: (p: ProcessInfo) => void): Unsubscribe;
  onProcessExited(listener: (p: ProcessInfo) => void): Unsubscribe;
  /** Fired when reloadMappings finds a changed set of mappings. */
  onMappingsChanged(listener: (p: ProcessInfo) => void): Unsubscribe;
}

type Entry = { -readonly [K in keyof ProcessInfo]: ProcessInfo[K] } & {
  /** Mappings of the images it exec'ed away from, newest first, with the mark each was replaced at. */
  earlier?: { readonly mappings: readonly ProcMapping[]; readonly mark: number }[];
};

/** Earlier images kept per process: a chain of execs (sh → env → program) within one interval. */
const MAX_EARLIER_IMAGES = 4;

/** Creates an empty process table reading from `procRoot` (default /proc). */
export function createProcessTable(options: ProcessTableOptions = {}): ProcessTable {
  const procRoot = (options.procRoot ?? '/proc').replace(/\/+$/, '') || '/';
  const entries = new Map<number, Entry>();
  const added = createListenerSet<ProcessInfo>();
  const exited = createListenerSet<ProcessInfo>();
  const changed = createListenerSet<ProcessInfo>();

  const markExited = (e: Entry): void => {
    if (e.exited) return;
    e.exited = true;
    exited.emit(e);
  };
  // No live user process has zero mappings: an empty read is one that raced
  // the end of an mm, either exit (a zombie) or exec (maps opened on the old
  // mm). Taking it would wipe what samples drained later are symbolized
  // against; the exit event or the next read settles which it was.
  const emptyRead = (e: Entry, maps: readonly ProcMapping[]): boolean => maps.length === 0 && e.mappings.length > 0;
  // An exit event marks a process gone while /proc still lists it, as a zombie
  // until its parent reaps it: its maps read empty. Such a pid is not reused.
  const zombie = (pid: number): boolean => (readProcMappings(procRoot, pid)?.length ?? 0) === 0;
  // adoptLater's snapshots, by pid; `gone` once a refresh found the pid absent.
  const later = new Map<number, { snapshot: RawProcSnapshot; exec: boolean; onAdopted: (p: ProcessInfo) => void; gone: boolean }>();
  /** Adopts a snapshot as read; onAdopted when it made an entry or changed one's mappings. */
  const takeIn = (pid: number, snapshot: RawProcSnapshot, exec: boolean, onAdopted: (p: ProcessInfo) => void, gone = false): void => {
    const before = entries.get(pid);
    const mappingsBefore = before?.mappings;
    const p = table.adopt(pid, parseProcSnapshot(snapshot), exec);
    // Found gone before anyone asked: its samples are still to be named.
    if (gone) markExited(p as Entry);
    if (p !== before || p.mappings !== mappingsBefore) onAdopted(p);
  };
  /** Takes in the snapshot kept for `pid`, if any: every lookup by pid calls this first. */
  const settle = (pid: number): void => {
    const l = later.get(pid);
    if (l === undefined) return;
    later.delete(pid);
    takeIn(pid, l.snapshot, l.exec, l.onAdopted, l.gone);
  };
  let replaced = 0;
  // Stacks walked before an exec are drained after it: the old image's
  // mappings stay until the drain that holds them is named. Besides the exec
  // events, an exec a re-read finds leaves no executable file mapping where
  // it was (ASLR, or another program); dlopen and munmap leave most of them.
  const setMappings = (e: Entry, maps: readonly ProcMapping[], exec = false): void => {
    if (e.mappings.length > 0 && (exec || isNewImage(e.mappings, maps))) {
      e.earlier = [{ mappings: e.mappings, mark: ++replaced }, ...(e.earlier ?? [])].slice(0, MAX_EARLIER_IMAGES);
    }
    e.mappings = maps;
    changed.emit(e);
  };

  const table: ProcessTable = {
    procRoot,
    observe(pid) {
      const p = table.tryObserve(pid);
      if (p === undefined) throw new Error(`observing pid ${pid}: no such process (is ${procRoot} the host's proc filesystem?)`);
      return p;
    },
    tryObserve(pid) {
      settle(pid);
      const known = entries.get(pid);
      if (known !== undefined) return known;
      const snap = readProcSnapshot(procRoot, pid);
      if (snap === undefined) return undefined;
      const e: Entry = { pid, ...snap, exited: false };
      entries.set(pid, e);
      added.emit(e);
      return e;
    },
    get(pid) {
      settle(pid);
      return entries.get(pid);
    },
    all: () => entries.values(),
    refresh() {
      const live = new Set(listProcPids(procRoot));
      const newPids: number[] = [];
      for (const [pid, l] of later) {
        if (!live.has(pid)) l.gone = true;
        // Found gone before, live now: the pid was reused by a process not yet read.
        else if (l.gone && !zombie(pid)) later.delete(pid);
      }
      for (const pid of live) {
        settle(pid);
        const known = entries.get(pid);
        if (known?.exited === true) {
          if (zombie(pid)) continue;
          // An exited entry whose pid is live again means the pid was reused: read the new process.
          entries.delete(pid);
        } else if (known !== undefined) continue;
        if (table.tryObserve(pid) !== undefined) newPids.push(pid);
      }
      const gone: number[] = [];
      for (const e of entries.values()) {
        if (!e.exited && !live.has(e.pid)) {
          gone.push(e.pid);
          markExited(e);
        }
      }
      return { added: newPids, exited: gone };
    },
    findMapping(pid, address, reload = true) {
      settle(pid);
      const e = entries.get(pid);
      if (e === undefined) return undefined;
      const hit = findMapping(e.mappings, address);
      if (hit !== undefined || !reload || e.exited) return hit;
      return findMapping(table.reloadMappings(pid)?.mappings ?? [], address);
    },
    reloadMappings(pid) {
      settle(pid);
      const e = entries.get(pid);
      if (e === undefined || e.exited) return e;
      const maps = readProcMappings(procRoot, pid);
      if (maps === undefined) {
        markExited(e);
        return e;
      }
      if (emptyRead(e, maps)) return e;
      if (!sameMappings(e.mappings, maps)) setMappings(e, maps);
      return e;
    },
    imageFor(pid, stack) {
      settle(pid);
      const e = entries.get(pid);
      if (e === undefined) return undefined;
      if (e.earlier === undefined || e.earlier.length === 0) return e.mappings;
      let best = e.mappings;
      let bestHits = executableHits(e.mappings, stack);
      for (const { mappings } of e.earlier) {
        const hits = executableHits(mappings, stack);
        if (hits > bestHits) [best, bestHits] = [mappings, hits];
      }
      return best;
    },
    imageMark: () => replaced,
    forgetEarlierImages(mark) {
      let n = 0;
      for (const e of entries.values()) {
        if (e.earlier === undefined) continue;
        const keep = e.earlier.filter((i) => i.mark > mark);
        n += e.earlier.length - keep.length;
        if (keep.length > 0) e.earlier = keep;
        else delete e.earlier;
      }
      return n;
    },
    reobserve(pid) {
      // read now: what was kept is older
      later.delete(pid);
      const e = entries.get(pid);
      if (e === undefined) return table.tryObserve(pid);
      const snap = readProcSnapshot(procRoot, pid);
      if (e.exited) {
        // Gone, or still the zombie of the old process: nothing to read; its entry stays for its samples.
        if (snap === undefined || emptyRead(e, snap.mappings)) return undefined;
        // An exited entry under a live pid: the pid was reused.
        entries.delete(pid);
        return table.tryObserve(pid);
      }
      if (snap === undefined) {
        markExited(e);
        return undefined;
      }
      if (emptyRead(e, snap.mappings)) return e;
      e.comm = snap.comm;
      e.exePath = snap.exePath;
      e.cmdline = snap.cmdline;
      // Unchanged mappings keep their identity, so per-mapping caches stay valid.
      if (!sameMappings(e.mappings, snap.mappings)) setMappings(e, snap.mappings, true);
      return e;
    },
    adopt(pid, snap, exec = false) {
      later.delete(pid); // this snapshot is newer
      const e = entries.get(pid);
      if (e !== undefined && !e.exited && emptyRead(e, snap.mappings)) return e;
      if (e === undefined || e.exited) {
        const fresh: Entry = { pid, ...snap, exited: false };
        entries.set(pid, fresh);
        added.emit(fresh);
        return fresh;
      }
      e.comm = snap.comm;
      e.exePath = snap.exePath;
      e.cmdline = snap.cmdline;
      if (!sameMappings(e.mappings, snap.mappings)) setMappings(e, snap.mappings, exec);
      return e;
    },
    adoptLater(pid, snapshot, exec, onAdopted) {
      const e = entries.get(pid);
      const kept = later.get(pid);
      if (kept === undefined && e !== undefined && !e.exited) {
        // Known and live: its tables and symbols follow its mappings now.
        takeIn(pid, snapshot, exec, onAdopted);
        return;
      }
      // A re-read replaces the snapshot, and stays an exec's if the first was one.
      later.set(pid, { snapshot, exec: exec || kept?.exec === true, onAdopted, gone: false });
    },
    get deferred() {
      return later.size;
    },
    hostPath: (pid, path) => `${procRoot}/${pid}/root${path.startsWith('/') ? '' : '/'}${path}`,
    markExited(pid) {
      const l = later.get(pid);
      if (l !== undefined) l.gone = true;
      const e = entries.get(pid);
      if (e !== undefined) markExited(e);
    },
    exitedPids() {
      const out = [...entries.values()].filter((e) => e.exited).map((e) => e.pid);
      for (const [pid, l] of later) if (l.gone && !entries.has(pid)) out.push(pid);
      return out;
    },
    forgetExited(only) {
      const isGone = (pid: number): boolean => entries.get(pid)?.exited === true || (later.get(pid)?.gone === true && !entries.has(pid));
      const gone = only === undefined ? table.exitedPids() : [...only].filter(isGone);
      for (const pid of gone) {
        entries.delete(pid);
        // not a newer program's snapshot under a reused pid
        if (later.get(pid)?.gone === true) later.delete(pid);
      }
      return gone;
    },
    onProcessAdded: (l) => added.add(l),
    onProcessExited: (l) => exited.add(l),
    onMappingsChanged: (l) => changed.add(l),
  };
  return table;
}

/** True when `next` keeps none of `prev`'s executable file mappings in place: an exec, not a dlopen or munmap. */
function isNewImage(prev: readonly ProcMapping[], next: readonly ProcMapping[]): boolean {
  const code = (m: ProcMapping): boolean => m.executable && m.kind === 'file';
  const kept = new Set(next.filter(code).map((m) => `${m.start}/${m.inode}/${m.offset}`));
  return !prev.some((m) => code(m) && kept.has(`${m.start}/${m.inode}/${m.offset}`));
}

/** How many of `stack`'s addresses fall in an executable mapping of `mappings`. */
function executableHits(mappings: readonly ProcMapping[], stack: readonly bigint[]): number {
  let n = 0;
  for (const a of stack) if (findMapping(mappings, a)?.executable === true) n++;
  return n;
}

function sameMappings(a: readonly ProcMapping[], b: readonly ProcMapping[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((m, i) => {
    const n = b[i]!;
    return m.start === n.start && m.end === n.end && m.offset === n.offset && m.inode === n.inode && m.path === n.path;
  });
}
