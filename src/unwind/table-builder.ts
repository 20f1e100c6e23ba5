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
  /** Rejects with "building unwind table for PATH: cause". */
  build(path: string): Promise<FileUnwindTable>;
  /** Builds not finished yet. */
  readonly pending: number;
  /** Ends the worker; pending builds reject. */
  close(): void;
}

/** Builds in the calling thread, one macrotask later: for tests and fakes. */
export function createInlineTableBuilder(load: (path: string) => FileUnwindTable = loadFileUnwindTable): UnwindTableBuilder {
  let pending = 0;
  return {
    build(path) {
      pending++;
      return new Promise((resolve, reject) => {
        setImmediate(() => {
          pending--;
          try {
            resolve(load(path));
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
  const waiting = new Map<number, { resolve: (t: FileUnwindTable) => void; reject: (e: Error) => void }>();

  const failAll = (err: Error): void => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
    worker = undefined;
  };
  const spawn = (): Worker => {
    const w = new Worker(script);
    w.on('message', (m: TableBuildReply) => {
      const waiter = waiting.get(m.id);
      if (!waiter) return;
      waiting.delete(m.id);
      if (m.ok) waiter.resolve({ ...m.table, table: Buffer.from(m.table.table) });
      else waiter.reject(new Error(m.message));
      if (waiting.size === 0) w.unref();
    });
    // A crash fails what was queued; the next build starts a new worker.
    w.on('error', (err) => failAll(new Error(`unwind table worker failed: ${err.message}`)));
    w.on('exit', (code) => {
      if (worker === w) failAll(new Error(`unwind table worker exited with code ${code}`));
    });
    return w;
  };

  return {
    build(path) {
      worker ??= spawn();
      const w = worker;
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        // Keeps the process alive only while builds are in flight.
        w.ref();
        w.postMessage({ id, path } satisfies TableBuildRequest);
      });
    },
    get pending() {
      return waiting.size;
    },
    close() {
      const w = worker;
      worker = undefined;
      failAll(new Error('unwind table builder closed'));
      void w?.terminate();
    },
  };
}
