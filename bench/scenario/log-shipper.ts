/**
 * The scenario's log shipper: what reads a sidecar's stdout in Kubernetes.
 * containerd hands a container's stdout to a FIFO, and its CRI logger reads
 * it about 4 KiB (a page, one pipe buffer slot) at a time and writes each
 * line, timestamped, to the pod's log file on the node's disk. This reads
 * the proxy's access-log FIFO the same way, CHUNK bytes then a short pause
 * (PAUSE_MS: the logger gets the CPU in slices on a busy node), and every
 * STALL_EVERY_MS it stalls for STALL_MS, as the logger's own write stalls
 * when the node's disk is behind (dirty-page writeback, a log rotation).
 * Its rate between stalls is above the proxy's; during a stall the FIFO's
 * 64 KiB fill and the proxy's write(2) blocks, and keeps blocking while the
 * logger works off the backlog: the off-CPU switches the article found
 * under Envoy's access log. A short log fills 64 KiB in no stall.
 *
 *   node log-shipper.js FIFO OUTPUT CHUNK_BYTES PAUSE_MS STALL_EVERY_MS STALL_MS
 *
 * Exits when the proxy closes its end (end of file).
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const [fifo, output, ...numbers] = process.argv.slice(2);
const [chunk, pauseMs, stallEveryMs, stallMs] = numbers.map(Number);
if (fifo === undefined || output === undefined || chunk === undefined || pauseMs === undefined || stallEveryMs === undefined || stallMs === undefined) {
  throw new Error('usage: log-shipper FIFO OUTPUT CHUNK_BYTES PAUSE_MS STALL_EVERY_MS STALL_MS');
}

// Opening a FIFO to read waits for its writer (nginx's master opens the log at start).
const input = openSync(fifo, 'r');
const out = openSync(output, 'a');
const buffer = Buffer.alloc(chunk);
// Synchronous waits: the shipper does nothing else, and timers would add their own jitter.
const cell = new Int32Array(new SharedArrayBuffer(4));
const wait = (ms: number): void => { if (ms > 0) Atomics.wait(cell, 0, 0, ms); };
let partial = '';
let nextStall = performance.now() + stallEveryMs;
for (;;) {
  const n = readSync(input, buffer, 0, chunk, null);
  if (n === 0) break;
  const lines = (partial + buffer.toString('utf8', 0, n)).split('\n');
  partial = lines.pop() ?? '';
  const stamp = new Date().toISOString();
  // CRI log format: time, stream, full (F) or partial (P) line, the line.
  if (lines.length > 0) writeSync(out, lines.map((l) => `${stamp} stdout F ${l}\n`).join(''));
  wait(pauseMs);
  if (performance.now() >= nextStall) {
    wait(stallMs);
    nextStall = performance.now() + stallEveryMs;
  }
}
if (partial !== '') writeSync(out, `${new Date().toISOString()} stdout P ${partial}\n`);
closeSync(input);
closeSync(out);
