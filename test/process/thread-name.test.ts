// The agent's worker threads carry names (top -H, /proc/PID/task/TID/comm), not Node's "node".
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { nameCurrentThread } from '../../src/process/thread-name.js';
import { createSymbolTableJobs } from '../../src/symbolize/symbol-table-jobs.js';
import { createWorkerTableBuilder } from '../../src/unwind/table-builder.js';
import { repoRoot } from '../helpers/repo-root.js';

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';

/** Every thread of this process: tid → comm. */
function threadNames(): Map<number, string> {
  const out = new Map<number, string>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      out.set(Number(t), readFileSync(`/proc/self/task/${t}/comm`, 'latin1').trim());
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return out;
}

/** Runs nameCurrentThread(name) in a new worker thread; resolves with that thread's tid and the call's result. */
async function nameInWorker(name: string, procRoot?: string): Promise<{ tid: number; named: boolean; worker: Worker }> {
  const mod = pathToFileURL(join(repoRoot, 'dist', 'src', 'process', 'thread-name.js')).href;
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { readlinkSync } = require('node:fs');
    import(${JSON.stringify(mod)}).then(({ nameCurrentThread }) => {
      const named = nameCurrentThread(${JSON.stringify(name)}${procRoot === undefined ? '' : `, ${JSON.stringify(procRoot)}`});
      parentPort.postMessage({ named, tid: Number(readlinkSync('/proc/thread-self').split('/').pop()) });
      parentPort.once('message', () => process.exit(0));
    });`;
  const worker = new Worker(code, { eval: true });
  const m = await new Promise<{ tid: number; named: boolean }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { ...m, worker };
}

async function end(worker: Worker): Promise<void> {
  const exited = new Promise((r) => worker.once('exit', r));
  worker.postMessage('end');
  await exited;
}

describe('thread names', () => {
  it('names the calling thread only, cut to the 15 bytes the kernel keeps', async () => {
    const before = threadNames();
    const short = await nameInWorker('mp-test-short');
    const long = await nameInWorker('mp-a-very-long-thread-name');
    try {
      const after = threadNames();
      expect(short.named).toBe(true);
      expect(after.get(short.tid)).toBe('mp-test-short');
      expect(after.get(long.tid)).toBe('mp-a-very-long-');
      // Every thread that was there before keeps its name: the process's name too.
      for (const [tid, name] of before) if (after.has(tid)) expect(after.get(tid)).toBe(name);
    } finally {
      await end(short.worker);
      await end(long.worker);
    }
  });

  it('says so, and throws nothing, where /proc cannot be written', async () => {
    const w = await nameInWorker('mp-nowhere', '/nonexistent-proc');
    try {
      expect(w.named).toBe(false);
      expect(threadNames().get(w.tid)).not.toBe('mp-nowhere');
    } finally {
      await end(w.worker);
    }
    expect(nameCurrentThread('x', '/nonexistent-proc')).toBe(false);
  });

  it('names the unwind table builder and the symbol table worker while they run', async () => {
    const builder = createWorkerTableBuilder();
    const symbols = createSymbolTableJobs();
    try {
      await builder.build(() => LIBC);
      await symbols.run(() => LIBC);
      const names = [...threadNames().values()];
      expect(names).toContain('mp-unwind-build');
      expect(names).toContain('mp-symbols');
    } finally {
      builder.close();
      symbols.close();
    }
  });
});
