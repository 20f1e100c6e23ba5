/**
 * Worker thread body of createExecWatcherThread: waits on the exec watcher's
 * ring buffer and reads each new program's /proc entry at once, and again
 * while its loader maps libraries. Running apart from the main thread, it
 * is not held up by symbolization or unwind-table work, so a program that
 * lives for a few hundred milliseconds is still read while it runs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readProcMappings, readProcSnapshot, type ProcSnapshot } from './proc-reader.js';
import { createExecWatcher } from '../samplers/exec-watcher.js';
import type { TrackedEvent } from './process-tracking.js';

/** What the main thread passes in. */
export interface ExecWatcherWorkerData {
  readonly procRoot: string;
  readonly settleMs: number;
  readonly selfPid: number;
}

/** Messages to the main thread. */
export type ExecWatcherMessage = { readonly type: 'events'; readonly events: TrackedEvent[] } | { readonly type: 'error'; readonly message: string };

const data = workerData as ExecWatcherWorkerData;
const port = parentPort;
if (port === null) throw new Error('exec watcher worker: not started as a worker thread');

const watcher = createExecWatcher();
// pid → when it exec'ed and what was last sent.
const young = new Map<number, { at: number; sent: ProcSnapshot }>();
let stopped = false;
port.on('message', (m) => {
  if (m === 'stop') stopped = true;
});

const send = (msg: ExecWatcherMessage): void => port.postMessage(msg);

function loop(): void {
  if (stopped) {
    watcher.stop();
    port?.close();
    return;
  }
  const out: TrackedEvent[] = [];
  try {
    // Waiting in the kernel here blocks only this thread.
    for (const e of watcher.poll(10)) {
      if (e.pid === data.selfPid) continue;
      if (e.kind === 'exit') {
        young.delete(e.pid);
        out.push(e);
        continue;
      }
      const snapshot = readProcSnapshot(data.procRoot, e.pid);
      if (snapshot === undefined) {
        out.push(e); // already gone: the main thread will try and count it
        continue;
      }
      young.set(e.pid, { at: Date.now(), sent: snapshot });
      out.push({ ...e, snapshot });
    }
    const now = Date.now();
    for (const [pid, y] of young) {
      if (now - y.at > data.settleMs) {
        young.delete(pid);
        continue;
      }
      const mappings = readProcMappings(data.procRoot, pid);
      if (mappings === undefined) young.delete(pid);
      else if (mappings.length !== y.sent.mappings.length) {
        y.sent = { ...y.sent, mappings };
        out.push({ pid, kind: 'exec', snapshot: y.sent, update: true });
      }
    }
  } catch (err) {
    send({ type: 'error', message: `watching process execs: ${(err as Error).message}` });
    watcher.stop();
    port?.close();
    return;
  }
  if (out.length > 0) send({ type: 'events', events: out });
  setImmediate(loop);
}

try {
  watcher.start();
  loop();
} catch (err) {
  send({ type: 'error', message: `starting the exec watcher: ${(err as Error).message}` });
  port.close();
}
