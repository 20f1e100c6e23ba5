/**
 * Worker thread body of createExecWatcherThread: sleeps in the kernel until
 * the exec watcher's ring buffer has events, reads each new program's /proc
 * entry at once, and re-reads it on a short timer while its loader maps
 * libraries. With no young process it waits with no timer at all, so an
 * idle host costs no wakeups; the main thread ends the wait by signalling
 * the wake fd. Running apart from the main thread, it is not held up by
 * symbolization or unwind-table work, so a program that lives for a few
 * hundred milliseconds is still read while it runs. With the .eh_frame
 * walker's maps (`sampled`) it reads a program when the walker first samples
 * it instead, and the kernel reports only the execs of processes sampled before.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openRingBuffer, waitReadable, type BpfRingBuffer, type MapHandle } from '../kernel/index.js';
import { readProcFile, readRawProcSnapshot, type RawProcSnapshot } from './proc-reader.js';
import { nameCurrentThread } from './thread-name.js';
import { createExecWatcher } from '../samplers/exec-watcher.js';
import type { TrackedEvent } from './process-tracking.js';
import { createHeldExits } from './held-exits.js';

/** What the main thread passes in. */
export interface ExecWatcherWorkerData {
  readonly procRoot: string;
  readonly settleMs: number;
  readonly selfPid: number;
  /** An eventfd (createWakeFd) the main thread signals to stop the worker. */
  readonly wakeFd: number;
  /** Read programs at their first sample, not at exec: see ExecWatcherThreadOptions.sampled. */
  readonly sampled?: SampledProcessMaps;
}

/** The .eh_frame walker's maps that say which processes were sampled (UnwindMapSet's). */
export interface SampledProcessMaps {
  /** unwind_procs: the processes the walker has tables for, whose execs are still reported. */
  readonly procs: MapHandle;
  /** unwind_asked: the processes it asked tables for, whose execs are reported too. */
  readonly asked: MapHandle;
  /** unwind_notices: the tgids sampled without tables, read here at once. */
  readonly notices: MapHandle;
}

/** Messages to the main thread. */
export type ExecWatcherMessage = { readonly type: 'events'; readonly events: TrackedEvent[] } | { readonly type: 'error'; readonly message: string };

/**
 * The first re-read of a young process's mappings, after its exec; each later
 * one waits twice as long, up to settleMs. The loader maps a program's
 * libraries within its first milliseconds, so doubling finds them with 5 reads
 * (at 4, 12, 28, 60 and 124 ms) where a fixed 10 ms timer took 25 of every
 * program that lives 250 ms. Later dlopen()s are found when a sample misses.
 */
const FIRST_REREAD_MS = 4;
/**
 * The longest wait with nothing to do. Only a safety net: Node joins a
 * worker when its parent ends, and a worker asleep in the kernel cannot be
 * interrupted, so a missed stop signal holds the exit for at most this long.
 * Each idle wakeup costs ~0.2 ms of CPU (a turn of this thread's event loop),
 * so not every 2 s: the stop signal comes through the wake fd.
 */
const IDLE_WAIT_MS = 10_000;

// Most programs exec'ed on a busy host (a shell's /bin/true) are gone before this
// thread reads them, and each failed open builds an exception: without a stack
// trace it costs a fraction. Errors leave this thread as their message only.
Error.stackTraceLimit = 0;

nameCurrentThread('mp-exec-watch');

const data = workerData as ExecWatcherWorkerData;
const port = parentPort;
if (port === null) throw new Error('exec watcher worker: not started as a worker thread');

const watcher = createExecWatcher(data.sampled ? { onlyKnown: { procs: data.sampled.procs, asked: data.sampled.asked } } : {});
let notices: BpfRingBuffer | undefined;
// pid → when it exec'ed, when it is read next, and what was last sent.
const young = new Map<number, { at: number; next: number; sent: RawProcSnapshot; lines: number }>();

const send = (msg: ExecWatcherMessage): void => port.postMessage(msg);

function end(): void {
  notices?.close();
  watcher.stop();
  port?.close();
}

/** The events waiting in the ring buffer, each exec with its process as read now. */
function drain(out: TrackedEvent[]): void {
  for (const e of watcher.poll(0)) {
    if (e.pid === data.selfPid) continue;
    if (e.kind === 'exit') {
      young.delete(e.pid);
      noticed.delete(e.pid); // a new process may take the pid
      // With `sampled` the kernel reports only sampled processes' exits: the main thread
      // frees their unwind_procs slots and tables with them, not at the next drain's
      // scan, up to 15 s later at 19 Hz (they wait for a message: HeldExits). Other
      // exits stay here: the table learns of them from its scan, and a short-lived
      // program costs one event, not two.
      if (data.sampled !== undefined) out.push({ pid: e.pid, kind: 'exit' });
      continue;
    }
    // The kernel's record has the comm and (most often) the arguments: /proc has the rest.
    const snapshot = readRawProcSnapshot(data.procRoot, e.pid, e);
    // The arguments went into the snapshot; the main thread need not get them twice.
    const event = { pid: e.pid, kind: e.kind, ...(e.comm !== undefined ? { comm: e.comm } : {}) };
    if (snapshot === undefined) {
      out.push({ ...event, unreadable: true }); // already gone: counted, not read again
      continue;
    }
    const now = Date.now();
    watchYoung(e.pid, snapshot, now);
    out.push({ ...event, snapshot });
  }
}

/**
 * How long a program read at a notice is not read again for the next ones.
 * The walker asks again each second while a process has no tables (they are
 * loading, or cannot be made, or unwind_procs is full); the main thread holds
 * what was read, and an exec of a tgid asked for is reported (procevents.bpf.c).
 */
const NOTICE_QUIET_MS = 30_000;
// pid → when a notice last read it
const noticed = new Map<number, number>();

/**
 * The programs sampled without tables since the last read, each read now,
 * while it runs, unless it is young (re-read on its own timer) or was read
 * at a notice within NOTICE_QUIET_MS.
 */
function drainNotices(ring: BpfRingBuffer, out: TrackedEvent[]): void {
  const now = Date.now();
  if (noticed.size > 4096) for (const [pid, at] of noticed) if (now - at >= NOTICE_QUIET_MS) noticed.delete(pid);
  for (const r of ring.poll(0)) {
    const pid = r.readUInt32LE(0);
    if (pid === data.selfPid || young.has(pid) || now - (noticed.get(pid) ?? -Infinity) < NOTICE_QUIET_MS) continue;
    noticed.set(pid, now);
    const snapshot = readRawProcSnapshot(data.procRoot, pid);
    if (snapshot === undefined) continue;
    watchYoung(pid, snapshot, now);
    out.push({ pid, kind: 'exec', snapshot, sampled: true });
  }
}

/** Re-reads `pid` on the doubling timer from `now`, while its loader may still map libraries. */
function watchYoung(pid: number, snapshot: RawProcSnapshot, now: number): void {
  young.set(pid, { at: now, next: now + FIRST_REREAD_MS, sent: snapshot, lines: lineCount(snapshot.maps) });
}

/** Re-reads the young processes that are due; an update for each whose mappings changed. */
function reread(out: TrackedEvent[], now: number): void {
  for (const [pid, y] of young) {
    if (now < y.next) continue;
    if (now - y.at > data.settleMs) {
      young.delete(pid);
      continue;
    }
    // Doubling from the exec, with a last read at settleMs.
    y.next = Math.min(y.at + 2 * (now - y.at) + FIRST_REREAD_MS, y.at + data.settleMs + 1);
    const maps = readProcFile(data.procRoot, pid, 'maps');
    // A zombie's maps read empty: it exited, and its exit event waits for a later wakeup.
    if (maps === undefined || maps === '') {
      young.delete(pid);
      continue;
    }
    // A new library is a new line; a grown heap only changes one.
    const lines = lineCount(maps);
    if (lines !== y.lines) {
      y.sent = { ...y.sent, maps };
      y.lines = lines;
      out.push({ pid, kind: 'exec', snapshot: y.sent, update: true });
    }
  }
}

function lineCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * How long the loop runs back to back before it lets the event loop turn (V8's
 * deferred GC work). A turn per wakeup cost a libuv iteration and an
 * epoll_wait of its own, once or twice for each program exec'ed on the host.
 */
const TURN_EVERY_MS = 1000;

// Exits of sampled processes wait for a message that goes anyway (see HeldExits).
const outbox = createHeldExits();

/** One wakeup over [wake fd, exec ring, notice ring?]: false once the thread is to end. */
function step(fds: readonly number[]): boolean {
  const out = outbox.take();
  try {
    let due = outbox.due();
    for (const y of young.values()) due = Math.min(due, y.next);
    const timeout = due === Infinity ? IDLE_WAIT_MS : Math.max(0, due - Date.now());
    // Blocks this thread only, until events, the next re-read or the stop signal.
    const [stop, , noticesWaiting] = waitReadable(fds, timeout);
    if (stop) {
      end();
      return false;
    }
    // Exits do not wake this thread (procevents.bpf.c): the ring is read at every
    // wakeup anyway, at no syscall, so none is re-read after its exit, and an
    // exit goes before a notice for a new process under its pid.
    drain(out);
    if (noticesWaiting === true && notices !== undefined) drainNotices(notices, out);
    if (young.size > 0) reread(out, Date.now());
  } catch (err) {
    send({ type: 'error', message: `watching process execs: ${(err as Error).message}` });
    end();
    return false;
  }
  const sending = outbox.ready(out, Date.now());
  if (sending !== undefined) send({ type: 'events', events: sending });
  return true;
}

function loop(fds: readonly number[]): void {
  const until = Date.now() + TURN_EVERY_MS;
  do {
    if (!step(fds)) return;
  } while (Date.now() < until);
  setImmediate(() => loop(fds));
}

try {
  watcher.start();
  const fd = watcher.fd;
  if (fd === undefined) throw new Error('no ring buffer fd');
  if (data.sampled) notices = openRingBuffer(data.sampled.notices);
  loop(notices === undefined ? [data.wakeFd, fd] : [data.wakeFd, fd, notices.fd]);
} catch (err) {
  send({ type: 'error', message: `starting the exec watcher: ${(err as Error).message}` });
  end();
}
