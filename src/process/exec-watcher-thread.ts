/**
 * The exec watcher in a worker thread (exec-watcher-worker.ts), as a
 * ProcessEventSource whose exec events carry the process as read at exec
 * (or at its first sample, see `sampled`), or say it was gone by then; it
 * reports no exits (nothing is left to re-read).
 * The main thread may be busy for hundreds of milliseconds (symbolization,
 * unwind tables); the worker is not, so short-lived programs are caught.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { bundledWorkerScript, createWakeFd, type MapHandle, type WakeFd } from '../kernel/index.js';
import { createExecWatcher, type ExecWatcher } from '../samplers/exec-watcher.js';
import type { ExecWatcherMessage, ExecWatcherWorkerData, SampledProcessMaps } from './exec-watcher-worker.js';
import type { ProcessEventSource, TrackedEvent } from './process-tracking.js';

/** Options for createExecWatcherThread. */
export interface ExecWatcherThreadOptions {
  readonly procRoot?: string;
  /** How long after an exec the worker re-reads the mappings; default 250 ms. */
  readonly settleMs?: number;
  /** The worker script; default the compiled exec-watcher-worker.js next to this file. */
  readonly workerUrl?: URL;
  /** The worker's old-generation cap in MB; default WORKER_OLD_GENERATION_MB. */
  readonly oldGenerationMb?: number;
  /**
   * Asked at start(): with the .eh_frame walker's maps, a program is read when
   * the walker first samples it (within a millisecond, while it runs) instead
   * of at every exec, and only the execs of processes already sampled are
   * reported. Its snapshot comes as a `sampled` event. Most programs exec'ed
   * on a busy host are never sampled: at 99 Hz on 2 CPUs, about one /bin/true
   * in ten. The worker opens the maps as it starts: close them only after
   * stop() (a worker that finds them closed reports it and ends).
   */
  readonly sampled?: () => SampledProcessMaps | undefined;
}

/**
 * The worker's old-generation cap. Its live heap is ~4.5 MB (code, and the
 * processes exec'ed in the last 250 ms), but a little of each exec's garbage
 * outlives a scavenge, and V8 sets the next full collection at up to 4× the
 * live size when the cap is the default 4 GB: at 50 execs/s the heap grew by
 * ~1 MB a minute, with the native memory its buffers hold, for ten minutes
 * before one. With a cap V8 collects halfway between the live size and the
 * cap, here at ~10 MB. A burst that outgrows it restarts the worker.
 */
export const WORKER_OLD_GENERATION_MB = 16;
/** A worker that runs out of heap again within this long is not restarted. */
const RESTART_AFTER_MS = 60_000;

/**
 * Creates the source. start() only spawns the worker; a failure inside it
 * (no BPF privileges, no ring buffers) is thrown by the next poll(), once.
 * The worker sleeps in the kernel until something happens; stop() wakes it
 * through an eventfd and it ends at once. A worker that runs out of heap is
 * started again (once a minute at most), and the next poll() says so.
 */
export function createExecWatcherThread(opts: ExecWatcherThreadOptions = {}): ProcessEventSource {
  let queue: TrackedEvent[] = [];
  let failure: Error | undefined;
  let inThread: ExecWatcher | undefined;
  let wake: WakeFd | undefined;
  let listener: (() => void) | undefined;
  let worker: Worker | undefined;
  let lastRestart = -Infinity;

  let sampled: SampledProcessMaps | undefined;

  const spawn = (url: URL): void => {
    const wakeFd = createWakeFd();
    const workerData: ExecWatcherWorkerData = {
      procRoot: opts.procRoot ?? '/proc', settleMs: opts.settleMs ?? 250, selfPid: process.pid, wakeFd: wakeFd.fd,
      ...(sampled ? { sampled } : {}),
    };
    // A small young generation: the thread lives as long as the agent and holds little.
    const resourceLimits = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: opts.oldGenerationMb ?? WORKER_OLD_GENERATION_MB };
    let w: Worker;
    try {
      w = new Worker(url, { workerData, resourceLimits });
    } catch (err) {
      wakeFd.close();
      throw err;
    }
    // Node joins its workers at exit; one asleep in the kernel must be woken to end.
    const onExit = (): void => wakeFd.signal();
    process.once('exit', onExit);
    w.once('exit', () => {
      process.removeListener('exit', onExit);
      wakeFd.close();
      if (wake === wakeFd) wake = undefined;
    });
    w.on('message', (m: ExecWatcherMessage) => {
      if (m.type === 'events') queue.push(...m.events);
      else failure = new Error(m.message);
      listener?.();
    });
    // Without a listener an 'error' event would end the agent.
    w.on('error', (err: NodeJS.ErrnoException) => {
      if (worker !== w) return; // stopped since
      const now = performance.now();
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY' && now - lastRestart > RESTART_AFTER_MS) {
        lastRestart = now;
        const outgrew = `the exec watcher thread outgrew its ${resourceLimits.maxOldGenerationSizeMb} MB heap`;
        // Its ring buffer ended with it: execs until the new one attaches are missed, and said so.
        failure = new Error(`${outgrew} and was restarted; programs exec'ed meanwhile are found by the next /proc scan`);
        try {
          spawn(url);
        } catch (again) {
          // Thrown here it would end the agent: the next poll() reports it instead.
          failure = new Error(`${outgrew} and could not be started again: ${(again as Error).message}`);
        }
      } else {
        failure = new Error(`running the exec watcher thread: ${err.message}`);
      }
      listener?.();
    });
    w.unref();
    wake = wakeFd;
    worker = w;
  };

  return {
    start() {
      const url = opts.workerUrl ?? bundledWorkerScript(import.meta.url, 'exec-watcher-worker.js') ?? new URL('./exec-watcher-worker.js', import.meta.url);
      if (!existsSync(fileURLToPath(url))) {
        // Run from TypeScript sources (tests): no compiled worker, so watch in this
        // thread, and only ever poll() without waiting: this thread must not block.
        inThread = createExecWatcher();
        inThread.start();
        return;
      }
      const maps = opts.sampled?.();
      // Only the name and fd cross to the worker: a map's methods are this thread's.
      const handle = (m: MapHandle): MapHandle => ({ name: m.name, fd: m.fd });
      sampled = maps === undefined ? undefined : { procs: handle(maps.procs), asked: handle(maps.asked), notices: handle(maps.notices) };
      spawn(url);
    },
    onReadable(l) {
      // The worker's messages say when events wait; the in-thread watcher is polled.
      if (worker === undefined) return false;
      listener = l;
      return true;
    },
    poll() {
      if (inThread !== undefined) return inThread.poll(0);
      if (failure !== undefined) {
        const f = failure;
        failure = undefined;
        throw f;
      }
      const out = queue;
      queue = [];
      return out;
    },
    stop() {
      // The worker wakes, detaches its BPF links itself and exits; its 'exit' closes the fd.
      wake?.signal();
      wake = undefined;
      listener = undefined;
      worker = undefined;
      inThread?.stop();
      inThread = undefined;
      queue = [];
    },
  };
}
