/**
 * One `c++filt` kept running and spoken to synchronously, line in, line out.
 * Spawning one per batch forked the agent (80 MB and more) each time: 2–10 ms
 * of the main thread at every interval that met new names, and a sampled
 * C++ program (node, Envoy) brings some at most intervals.
 *
 * Node has no synchronous pipe to a child, so the two ends are FIFOs in a
 * private temporary directory, unlinked once open. Each end is opened so the
 * process that must not outlive the other sees EOF: c++filt's stdin has only
 * this process as writer (it exits when the agent is gone, even on SIGKILL),
 * and its stdout only c++filt as writer (a dead c++filt is an EOF here, not
 * a wait forever).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running c++filt; see the module comment. */
export interface CxxfiltProcess {
  /**
   * c++filt's output line for each name, same order. Names must hold no
   * whitespace and be at most MAX_CXXFILT_NAME bytes. Throws when c++filt
   * exited or did not answer within the timeout; it is then ended.
   */
  demangleLines(names: readonly string[]): string[];
  /** Ends c++filt; further calls throw. */
  close(): void;
}

/** Longest name sent: c++filt reads a name into a 32 KiB buffer and would split a longer one. */
export const MAX_CXXFILT_NAME = 16 * 1024;

// A chunk is written whole while c++filt's stdin is empty: under the 64 KiB
// a pipe holds, so the write never waits while c++filt waits on its output.
const CHUNK_BYTES = 32 * 1024;
// c++filt answers within a fraction of a millisecond; the read polls this often meanwhile.
const POLL_MS = 0.2;

function waitMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Starts `cxxfilt` (a path, or a name looked up in PATH). Throws when the
 * FIFOs cannot be made (no writable temp directory, no mkfifo) or the
 * program cannot be started; the caller may then run one c++filt per batch.
 */
export function startCxxfiltProcess(cxxfilt: string, timeoutMs: number): CxxfiltProcess {
  const dir = mkdtempSync(join(tmpdir(), 'meshprof-cxxfilt-'));
  const opened: number[] = [];
  const open = (path: string, flags: number): number => {
    const fd = openSync(path, flags);
    opened.push(fd);
    return fd;
  };
  let child: ChildProcess;
  let toChild: number;
  let fromChild: number;
  try {
    const input = join(dir, 'in');
    const output = join(dir, 'out');
    const made = spawnSync('mkfifo', ['-m', '600', input, output], { encoding: 'utf8' });
    if (made.error !== undefined) throw new Error(`mkfifo: ${made.error.message}`);
    if (made.status !== 0) throw new Error(`mkfifo: ${made.stderr.trim()}`);
    // Read-write, so opening it waits for no reader; c++filt's read end then finds a writer at once.
    toChild = open(input, constants.O_RDWR);
    const childIn = open(input, constants.O_RDONLY);
    // Non-blocking: a read never hangs, it polls until the deadline.
    fromChild = open(output, constants.O_RDONLY | constants.O_NONBLOCK);
    const childOut = open(output, constants.O_WRONLY);
    child = spawn(cxxfilt, [], { stdio: [childIn, childOut, 'ignore'] });
    // spawn() also reports a failure as an event: handled here, as the pid says it.
    child.on('error', () => {});
    if (child.pid === undefined) throw new Error(`cannot start ${cxxfilt}`);
    child.unref();
    for (const fd of [childIn, childOut]) {
      closeSync(fd);
      opened.splice(opened.indexOf(fd), 1);
    }
  } catch (err) {
    for (const fd of opened) closeSync(fd);
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  let closed = false;
  const end = (): void => {
    if (closed) return;
    closed = true;
    closeSync(toChild);
    closeSync(fromChild);
    child.kill();
  };
  const buf = Buffer.alloc(64 * 1024);

  const exchange = (names: readonly string[]): string[] => {
    const text = Buffer.from(names.join('\n') + '\n', 'utf8');
    for (let at = 0; at < text.length; ) at += writeSync(toChild, text, at);
    const deadline = performance.now() + timeoutMs;
    const parts: Buffer[] = [];
    let lines = 0;
    while (lines < names.length) {
      let n: number;
      try {
        n = readSync(fromChild, buf);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        if (performance.now() > deadline) throw new Error(`${cxxfilt} did not answer within ${timeoutMs} ms`);
        waitMs(POLL_MS);
        continue;
      }
      if (n === 0) throw new Error(`${cxxfilt} exited`);
      for (let i = 0; i < n; i++) if (buf[i] === 0x0a) lines++;
      parts.push(Buffer.from(buf.subarray(0, n)));
    }
    // One line out per line in; more would shift every later answer.
    if (lines !== names.length) throw new Error(`${cxxfilt} returned ${lines} lines for ${names.length} names`);
    return Buffer.concat(parts).toString('utf8').split('\n').slice(0, names.length);
  };

  return {
    demangleLines(names) {
      if (closed) throw new Error(`${cxxfilt} was ended`);
      const out: string[] = [];
      try {
        for (let i = 0; i < names.length; ) {
          let bytes = 0;
          let j = i;
          while (j < names.length && (j === i || bytes + names[j]!.length + 1 <= CHUNK_BYTES)) bytes += names[j++]!.length + 1;
          out.push(...exchange(names.slice(i, j)));
          i = j;
        }
      } catch (err) {
        end();
        throw err;
      }
      return out;
    },
    close: end,
  };
}
