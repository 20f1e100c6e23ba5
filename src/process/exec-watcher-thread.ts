/**
 * The exec watcher in a worker thread (exec-watcher-worker.ts), as a
 * ProcessEventSource whose exec events carry the process as read at exec.
 * The main thread may be busy for hundreds of milliseconds (symbolization,
 * unwind tables); the worker is not, so short-lived programs are caught.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createExecWatcher, type ExecWatcher } from '../samplers/exec-watcher.js';
import type { ExecWatcherMessage, ExecWatcherWorkerData } from './exec-watcher-worker.js';
import type { ProcessEventSource, TrackedEvent } from './process-tracking.js';

/** Options for createExecWatcherThread. */
export interface ExecWatcherThreadOptions {
  readonly procRoot?: string;
  /** How long after an exec the worker re-reads the mappings; default 250 ms. */
  readonly settleMs?: number;
  /** The worker script; default the compiled exec-watcher-worker.js next to this file. */
  readonly workerUrl?: URL;
}

/**
 * Creates the source. start() only spawns the worker; a failure inside it
 * (no BPF privileges, no ring buffers) is thrown by the next poll(), once.
 */
export function createExecWatcherThread(opts: ExecWatcherThreadOptions = {}): ProcessEventSource {
  let worker: Worker | undefined;
  let queue: TrackedEvent[] = [];
  let failure: Error | undefined;
  let inThread: ExecWatcher | undefined;
  return {
    start() {
      const url = opts.workerUrl ?? new URL('./exec-watcher-worker.js', import.meta.url);
      if (!existsSync(fileURLToPath(url))) {
        // Run from TypeScript sources (tests): no compiled worker, so watch in this thread.
        inThread = createExecWatcher();
        inThread.start();
        return;
      }
      const workerData: ExecWatcherWorkerData = { procRoot: opts.procRoot ?? '/proc', settleMs: opts.settleMs ?? 250, selfPid: process.pid };
      const w = new Worker(url, { workerData });
      w.on('message', (m: ExecWatcherMessage) => {
        if (m.type === 'events') queue.push(...m.events);
        else failure = new Error(m.message);
      });
      // Without a listener an 'error' event would end the agent.
      w.on('error', (err) => {
        failure = new Error(`running the exec watcher thread: ${err.message}`);
      });
      w.unref();
      worker = w;
    },
    poll() {
      if (inThread !== undefined) return inThread.poll();
      if (failure !== undefined) {
        const f = failure;
        failure = undefined;
        worker = undefined;
        throw f;
      }
      const out = queue;
      queue = [];
      return out;
    },
    stop() {
      // The worker detaches its BPF links itself before it exits.
      worker?.postMessage('stop');
      worker = undefined;
      inThread?.stop();
      inThread = undefined;
      queue = [];
    },
  };
}
