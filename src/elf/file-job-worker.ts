/**
 * Per-file jobs (unwind tables, symbol tables) run in one worker thread, in
 * request order. A large binary's table takes a second or more to build
 * (node: 372k unwind rows, 78k symbols); built inline it would hold up the
 * agent's poll loop, and with it every sampler's drain and every export.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parentPort, Worker } from 'node:worker_threads';
import { bundledWorkerScript } from '../kernel/package-root.js';

/** The file a job reads: `path` names it; `via`, when set, is where to open it (a descriptor the caller holds, /proc/self/fd/N). */
export type FileJobTarget = string | { readonly path: string; readonly via: string };

/** What the main thread posts to a job worker. */
export interface FileJobRequest {
  readonly id: number;
  readonly path: string;
  readonly via?: string | undefined;
}

/** What a job worker posts back. */
export type FileJobReply<T> =
  | { readonly id: number; readonly ok: true; readonly result: T }
  | { readonly id: number; readonly ok: false; readonly message: string };

/** Turns a file path into a result, eventually. */
export interface FileJobs<R> {
  /**
   * Runs the job on the file `target()` names, called when the job starts
   * (the process that offered the path may be gone by then). Rejects with the
   * job's error, or with an AbortError when `signal` aborts before the job
   * starts (nobody wants it any more: a burst of short-lived programs costs
   * nothing) or the worker is closed.
   */
  run(target: () => FileJobTarget, signal?: AbortSignal): Promise<R>;
  /** Jobs not finished yet. */
  readonly pending: number;
  /** Ends the worker; pending jobs reject. */
  close(): void;
}

/** An AbortError for a job nobody wants any more. */
export function abortError(what: string): Error {
  const err = new Error(`${what}: no longer wanted`);
  err.name = 'AbortError';
  return err;
}

/** Runs jobs in the calling thread, one macrotask later: for tests, and where no worker script is built. */
export function createInlineFileJobs<R>(what: string, job: (path: string, via?: string) => R): FileJobs<R> {
  let pending = 0;
  return {
    run(target, signal) {
      pending++;
      return new Promise((resolve, reject) => {
        setImmediate(() => {
          pending--;
          if (signal?.aborted) {
            reject(abortError(what));
            return;
          }
          try {
            const t = target();
            resolve(typeof t === 'string' ? job(t) : job(t.path, t.via));
          } catch (err) {
            reject(err as Error);
          }
        });
      });
    },
    get pending() {
      return pending;
    },
    close() {},
  };
}

/**
 * The compiled worker script `name` (e.g. 'unwind/table-builder-worker.js'):
 * next to the calling module once built, else under dist/ (tests run the
 * TypeScript sources from src/); undefined when neither exists.
 */
export function compiledWorkerScript(callerUrl: string, name: string): URL | undefined {
  const file = name.split('/').pop()!;
  const bundled = bundledWorkerScript(callerUrl, file);
  if (bundled !== undefined) return bundled;
  const sibling = new URL(`./${file}`, callerUrl);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  // This module is src/elf/ under the package root.
  const built = join(fileURLToPath(new URL('../../', import.meta.url)), 'dist', 'src', name);
  return existsSync(built) ? pathToFileURL(built) : undefined;
}

/** Options for createWorkerFileJobs. */
export interface WorkerFileJobsOptions<T, R> {
  /** The compiled worker script, which calls serveFileJobs. */
  readonly script: URL;
  /** What the jobs make, for errors: "unwind table worker". */
  readonly what: string;
  /** Turns the posted result back into the caller's type (e.g. an ArrayBuffer into a Buffer). */
  readonly decode: (result: T) => R;
  /** How long an idle worker is kept; default 2 s. */
  readonly idleMs?: number;
  /** Given to each worker started (settings it reads once). */
  readonly workerData?: unknown;
}

/**
 * One worker thread running jobs in request order. A crash fails only the
 * job running (its file may be what crashed the worker); the queue goes on
 * in a new worker.
 */
export function createWorkerFileJobs<T, R>(opts: WorkerFileJobsOptions<T, R>): FileJobs<R> {
  let worker: Worker | undefined;
  let nextId = 0;
  // Jobs wait here, not in the worker's message queue, so a job nobody
  // wants any more is dropped before it costs anything.
  const queue: Job<R>[] = [];
  let running: Job<R> | undefined;
  let closed = false;
  // A worker idle this long is ended: its heap, grown by the last burst of
  // tables, goes back to the system; the next job starts a new one (~50 ms).
  let idleTimer: NodeJS.Timeout | undefined;
  const idleSince = (): void => {
    clearTimeout(idleTimer);
    const w = worker;
    if (w === undefined) return;
    idleTimer = setTimeout(() => {
      if (worker !== w || running !== undefined) return;
      worker = undefined;
      void w.terminate();
    }, opts.idleMs ?? 2000);
    idleTimer.unref();
  };

  const crashed = (w: Worker, err: Error): void => {
    if (worker !== w) return;
    worker = undefined;
    const job = running;
    running = undefined;
    job?.reject(err);
    next();
  };
  const next = (): void => {
    while (!running) {
      const job = queue.shift();
      if (!job) {
        worker?.unref();
        idleSince();
        return;
      }
      if (job.signal?.aborted) {
        job.reject(abortError(opts.what));
        continue;
      }
      let target: FileJobTarget;
      try {
        target = job.target();
      } catch (err) {
        job.reject(new Error(`${opts.what}: ${(err as Error).message}`));
        continue;
      }
      clearTimeout(idleTimer);
      worker ??= spawn();
      worker.ref();
      running = job;
      const request: FileJobRequest = typeof target === 'string' ? { id: job.id, path: target } : { id: job.id, ...target };
      worker.postMessage(request);
    }
  };
  const spawn = (): Worker => {
    // V8's default young generation (48 MiB) would count in the agent's peak RSS on every burst.
    const resourceLimits = { maxYoungGenerationSizeMb: 8 };
    const w = new Worker(opts.script, opts.workerData === undefined ? { resourceLimits } : { workerData: opts.workerData, resourceLimits });
    w.on('message', (m: FileJobReply<T>) => {
      const job = running;
      if (!job || job.id !== m.id) return;
      running = undefined;
      if (m.ok) {
        try {
          job.resolve(opts.decode(m.result));
        } catch (err) {
          job.reject(err as Error);
        }
      } else job.reject(new Error(m.message));
      next();
    });
    w.on('error', (err) => crashed(w, new Error(`${opts.what} failed: ${err.message}`)));
    w.on('exit', (code) => crashed(w, new Error(`${opts.what} exited with code ${code}`)));
    return w;
  };

  return {
    run(target, signal) {
      if (closed) return Promise.reject(abortError(`${opts.what} (closed)`));
      return new Promise((resolve, reject) => {
        queue.push({ id: nextId++, target, resolve, reject, ...(signal ? { signal } : {}) });
        next();
      });
    },
    get pending() {
      return queue.length + (running ? 1 : 0);
    },
    close() {
      closed = true;
      clearTimeout(idleTimer);
      const w = worker;
      worker = undefined;
      const job = running;
      running = undefined;
      for (const j of queue.splice(0)) j.reject(abortError(`${opts.what} (closed)`));
      // The running job settles once its worker is gone: the caller may then
      // free what the job reads (a descriptor the worker opens by number).
      const settle = (): void => job?.reject(abortError(`${opts.what} (closed)`));
      if (w === undefined) settle();
      else void w.terminate().finally(settle);
    },
  };
}

/**
 * The worker side: answers each request with `job(path)`, posting the
 * buffers it names as transferred, not copied.
 */
export function serveFileJobs<T>(job: (path: string, via?: string) => { readonly result: T; readonly transfer: readonly ArrayBuffer[] }): void {
  const port = parentPort;
  if (port === null) throw new Error('file job worker: not started as a worker thread');
  port.on('message', (req: FileJobRequest) => {
    let reply: FileJobReply<T>;
    let transfer: readonly ArrayBuffer[] = [];
    try {
      const done = job(req.path, req.via);
      reply = { id: req.id, ok: true, result: done.result };
      transfer = done.transfer;
    } catch (err) {
      reply = { id: req.id, ok: false, message: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply, [...transfer]);
  });
}

interface Job<R> {
  readonly id: number;
  readonly target: () => FileJobTarget;
  readonly signal?: AbortSignal;
  readonly resolve: (r: R) => void;
  readonly reject: (e: Error) => void;
}
