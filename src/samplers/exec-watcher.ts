/**
 * Process lifecycle events from bpf/procevents.bpf.c: which processes
 * exec'ed a new program and which exited, read from a ring buffer as often
 * as the caller polls. This lets the process table capture a short-lived
 * program's mappings while it still runs.
 */
import { openBpfObject } from '../kernel/index.js';
import type { BpfLink, BpfObject, BpfObjectFactory, BpfRingBuffer, MapHandle } from '../kernel/index.js';
import { sumPerCpuU64, u32Bytes } from './oncpu-layout.js';
import { startWithTracepointFallback, type TracepointAttachMode } from './tracepoint-attach.js';
import { type Logger } from '../log/logger.js';

/** One lifecycle event; `pid` is the thread group id in the root pid namespace. */
export interface ProcessEvent {
  readonly pid: number;
  readonly kind: 'exec' | 'exit';
  /** The task's comm as the kernel reported it (at an exec, the new program's); absent from older records. */
  readonly comm?: string;
  /**
   * An exec's arguments, NUL-separated as /proc/PID/cmdline reads, when the
   * record carries all of them; absent when they were longer than it holds
   * or unreadable (then /proc has them).
   */
  readonly args?: string;
}

/** Options for createExecWatcher. */
export interface ExecWatcherOptions {
  /** Which hooks: tp_btf (5.5+), raw_tp (4.17+), or the first that attaches (default). */
  readonly attachMode?: TracepointAttachMode;
  /**
   * The .eh_frame walker's unwind_procs and unwind_asked (UnwindMapSet's):
   * only the processes it has tables for or asked for, those already
   * sampled, are reported. The others are read at their first sample
   * instead (unwind_notices). Default: all.
   */
  readonly onlyKnown?: { readonly procs: MapHandle; readonly asked: MapHandle };
  readonly log?: Logger;
}

/** The watcher; start() once, poll() often, stop() once. Minimum kernel 5.8 (ring buffers). */
export interface ExecWatcher {
  start(): void;
  /** Events since the last poll, oldest first; waits up to `timeoutMs` (default 0) for the first. */
  poll(timeoutMs?: number): ProcessEvent[];
  /**
   * Once started, an fd that is readable while events wait, so a worker
   * thread can sleep in waitReadable on it and a wake fd together.
   */
  readonly fd: number | undefined;
  /** Events lost since start: the kernel's when the ring buffer was full, and records the addon had no memory to copy out. */
  lost(): number;
  /** The hooks in use once started. */
  readonly attachedWith: 'tp_btf' | 'raw_tp' | undefined;
  stop(): void;
}

/** Where an exec record's arguments start (struct procevent's args). */
const ARGS_OFFSET = 32;
const PROCEVENT_EXEC = 1;
const PROCEVENT_EXIT = 2;
const programs = {
  tp_btf: ['sched_process_exec_btf', 'sched_process_exit_btf'],
  raw_tp: ['sched_process_exec_raw', 'sched_process_exit_raw'],
} as const;

/** Decodes one `struct procevent` record; undefined for a kind this code does not know. */
export function decodeProcessEvent(record: Buffer): ProcessEvent | undefined {
  if (record.length < 8) return undefined;
  const pid = record.readUInt32LE(0);
  const kind = record.readUInt32LE(4);
  if (kind !== PROCEVENT_EXEC && kind !== PROCEVENT_EXIT) return undefined;
  const k = kind === PROCEVENT_EXEC ? 'exec' : 'exit';
  if (record.length < 24) return { pid, kind: k };
  const nul = record.indexOf(0, 8);
  const comm = record.toString('utf8', 8, nul < 0 || nul > 24 ? 24 : nul);
  if (k === 'exit' || record.length < ARGS_OFFSET) return { pid, kind: k, comm };
  const argsLen = record.readUInt32LE(24);
  const argsRead = record.readUInt32LE(28);
  if (argsRead !== argsLen || ARGS_OFFSET + argsRead > record.length) return { pid, kind: k, comm };
  return { pid, kind: k, comm, args: record.toString('utf8', ARGS_OFFSET, ARGS_OFFSET + argsRead) };
}

/** Creates a watcher over build/procevents.bpf.o (`open` lets tests fake the kernel). */
export function createExecWatcher(
  opts: ExecWatcherOptions = {},
  open: BpfObjectFactory = (name) => openBpfObject(name, opts.log ? { log: opts.log } : {}),
): ExecWatcher {
  let obj: BpfObject | undefined;
  let links: BpfLink[] = [];
  let ring: BpfRingBuffer | undefined;
  let attachedWith: 'tp_btf' | 'raw_tp' | undefined;

  const stop = (): void => {
    for (const l of links) l.destroy();
    links = [];
    ring?.close();
    ring = undefined;
    obj?.destroy();
    obj = undefined;
    attachedWith = undefined;
  };

  const tryStart = (mode: 'tp_btf' | 'raw_tp'): void => {
    const o = open('procevents');
    obj = o;
    for (const [m, names] of Object.entries(programs)) for (const p of names) o.setAutoload(p, m === mode);
    if (opts.onlyKnown !== undefined) {
      o.setGlobal('only_known', Buffer.from([1]));
      o.reuseMap('unwind_procs', opts.onlyKnown.procs);
      o.reuseMap('unwind_asked', opts.onlyKnown.asked);
    }
    o.load();
    ring = o.ringBuffer('events');
    for (const p of programs[mode]) links.push(o.attach(p));
    attachedWith = mode;
  };

  return {
    get attachedWith() {
      return attachedWith;
    },
    get fd() {
      return ring?.fd;
    },
    start() {
      if (obj) throw new Error('starting exec watcher: already started');
      startWithTracepointFallback(opts.attachMode ?? 'auto', 'sched_process_exec', tryStart, stop, opts.log);
    },
    poll(timeoutMs = 0) {
      if (!ring) throw new Error('polling exec watcher: not started: call start() first');
      const out: ProcessEvent[] = [];
      for (const r of ring.poll(timeoutMs)) {
        const e = decodeProcessEvent(r);
        if (e !== undefined) out.push(e);
      }
      return out;
    },
    lost() {
      const v = obj?.map('lost').lookup(u32Bytes(0));
      return (v ? sumPerCpuU64(v) : 0) + (ring?.lost ?? 0);
    },
    stop,
  };
}
