/**
 * Builds files' unwind tables off the main thread. A large binary's table
 * takes seconds (node: 372k rows, about 5 s); built inline it would hold up
 * the agent's poll loop, and with it every sampler's drain and every export.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { packageRoot } from '../kernel/index.js';
import { loadFileUnwindTable, type FileUnwindTable } from './file-unwind-table.js';
import type { TableBuildReply, TableBuildRequest } from './table-builder-worker.js';

/** Turns a file path into its unwind table, eventually. */
export interface UnwindTableBuilder {
  /**
   * Builds the table of the file at `path()`, called when the build starts
   * (the process that offered the path may be gone by then). Rejects with
   * "building unwind table for PATH: cause", or with an AbortError when
   * `signal` aborts before the build starts (nobody wants it any more: a
   * burst of short-lived programs costs nothing) or the builder is closed.
   */
  build(path: () => string, signal?: AbortSignal): Promise<FileUnwindTable>;
  /** Builds not finished yet. */
  readonly pending: number;
  /** Ends the worker; pending builds reject. */
  close(): void;
}

/** Builds in the calling thread, one macrotask later: for tests and fakes. */
export function createInlineTableBuilder(load: (path: string) => FileUnwindTable = loadFileUnwindTable): UnwindTableBuilder {
  let pending = 0;
  return {
    build(path, signal) {
      pending++;
      return new Promise((resolve, reject) => {
        setImmediate(() => {
          pending--;
          if (signal?.aborted) {
            reject(abortError('a file'));
            return;
          }
          try {
            resolve(load(path()));
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

function abortError(what: string): Error {
  const err = new Error(`building unwind table for ${what}: no longer wanted`);
  err.name = 'AbortError';
  return err;
}

/** The compiled worker script: next to this module once built, else under dist/ (tests run the sources). */
function workerScript(): URL | undefined {
  const sibling = new URL('./table-builder-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  const built = join(packageRoot(), 'dist', 'src', 'unwind', 'table-builder-worker.js');
  return existsSync(built) ? pathToFileURL(built) : undefined;
}

/**
 * One worker thread building tables in request order. Tables come back as
 * transferred buffers, not copies. Without a compiled worker script the
 * builds run inline, and say so once through `log`.
 */
export function createWorkerTableBuilder(log?: (level: 'warn' | 'debug', message: string) => void): UnwindTableBuilder {
  const script = workerScript();
  if (script === undefined) {
    log?.('warn', 'unwind table worker not built (run `npm run build`): building tables in the main thread');
    return createInlineTableBuilder();
  }
  let worker: Worker | undefined;
  let nextId = 0;
  // Jobs wait here, not in the worker's message queue, so a job nobody
  // wants any more is dropped before it costs anything.
  const queue: Job[] = [];
  let running: Job | undefined;

  const settle = (job: Job, err: Error | undefined, table?: FileUnwindTable): void => {
    if (err) job.reject(err);
    else job.resolve(table!);
  };
  // A crash fails the file being built (it may be what crashed the worker);
  // the queue goes on in a new worker.
  const crashed = (w: Worker, err: Error): void => {
    if (worker !== w) return;
    worker = undefined;
    const job = running;
    running = undefined;
    if (job) settle(job, err);
    next();
  };
  const next = (): void => {
    while (!running) {
      const job = queue.shift();
      if (!job) {
        worker?.unref();
        return;
      }
      if (job.signal?.aborted) {
        settle(job, abortError('a file'));
        continue;
      }
      let path: string;
      try {
        path = job.path();
      } catch (err) {
        settle(job, new Error(`building unwind table: ${(err as Error).message}`));
        continue;
      }
      worker ??= spawn();
      worker.ref();
      running = job;
      worker.postMessage({ id: job.id, path } satisfies TableBuildRequest);
    }
  };
  const spawn = (): Worker => {
    const w = new Worker(script);
    w.on('message', (m: TableBuildReply) => {
      const job = running;
      if (!job || job.id !== m.id) return;
      running = undefined;
      if (m.ok) settle(job, undefined, { ...m.table, table: Buffer.from(m.table.table) });
      else settle(job, new Error(m.message));
      next();
    });
    w.on('error', (err) => crashed(w, new Error(`unwind table worker failed: ${err.message}`)));
    w.on('exit', (code) => crashed(w, new Error(`unwind table worker exited with code ${code}`)));
    return w;
  };

  return {
    build(path, signal) {
      return new Promise((resolve, reject) => {
        queue.push({ id: nextId++, path, resolve, reject, ...(signal ? { signal } : {}) });
        next();
      });
    },
    get pending() {
      return queue.length + (running ? 1 : 0);
    },
    close() {
      const w = worker;
      worker = undefined;
      const jobs = [...(running ? [running] : []), ...queue.splice(0)];
      running = undefined;
      for (const j of jobs) settle(j, abortError('a file (builder closed)'));
      void w?.terminate();
    },
  };
}

interface Job {
  readonly id: number;
  readonly path: () => string;
  readonly signal?: AbortSignal;
  readonly resolve: (t: FileUnwindTable) => void;
  readonly reject: (e: Error) => void;
}
