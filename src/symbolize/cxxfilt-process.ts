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
 * and its stdout only c++filt as writer (a dead c++filt is an EOF here).
 * Our two ends are non-blocking: names go in as fast as the pipe takes them
 * while answers are read, so neither side waits on the other, whatever a
 * pipe holds (a host past its pipe-user-pages-soft gets 4 KiB pipes), and
 * the whole batch is bounded by one deadline.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleepSync } from '../samplers/wall-clock.js';

/** A running c++filt; see the module comment. */
export interface CxxfiltProcess {
  /**
   * c++filt's output line for each name, same order. Names must hold no
   * whitespace and be at most MAX_CXXFILT_NAME bytes. Throws when c++filt
   * exited or did not answer the whole batch within the timeout; it is then ended.
   */
  demangleLines(names: readonly string[]): string[];
  /** Ends c++filt; further calls throw. */
  close(): void;
}

/** Longest name sent: c++filt reads a name into a 32 KiB buffer and would split a longer one. */
export const MAX_CXXFILT_NAME = 16 * 1024;

// c++filt answers within a fraction of a millisecond; both ends are polled this often meanwhile.
const POLL_MS = 0.2;

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
    // Non-blocking here only: each open is its own file description, c++filt's ends block.
    toChild = open(input, constants.O_RDWR | constants.O_NONBLOCK);
    const childIn = open(input, constants.O_RDONLY);
    fromChild = open(output, constants.O_RDONLY | constants.O_NONBLOCK);
    const childOut = open(output, constants.O_WRONLY);
    // Its own process group: a terminal's Ctrl-C or a unit's SIGTERM reaches the agent,
    // which still names its last interval, not c++filt.
    child = spawn(cxxfilt, [], { stdio: [childIn, childOut, 'ignore'], detached: true });
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
    const deadline = performance.now() + timeoutMs;
    const parts: Buffer[] = [];
    let written = 0;
    let lines = 0;
    while (lines < names.length) {
      let moved = false;
      if (written < text.length) {
        try {
          written += writeSync(toChild, text, written);
          moved = true;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        }
      }
      let n = -1;
      try {
        n = readSync(fromChild, buf);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      }
      if (n === 0) throw new Error(`${cxxfilt} exited`);
      if (n > 0) {
        for (let i = 0; i < n; i++) if (buf[i] === 0x0a) lines++;
        parts.push(Buffer.from(buf.subarray(0, n)));
        moved = true;
      }
      if (moved) continue;
      if (performance.now() > deadline) throw new Error(`${cxxfilt} did not answer within ${timeoutMs} ms`);
      sleepSync(POLL_MS);
    }
    // One line out per line in; more would shift every later answer.
    if (lines !== names.length) throw new Error(`${cxxfilt} returned ${lines} lines for ${names.length} names`);
    return Buffer.concat(parts).toString('utf8').split('\n').slice(0, names.length);
  };

  return {
    demangleLines(names) {
      if (closed) throw new Error(`${cxxfilt} was ended`);
      if (names.length === 0) return [];
      try {
        return exchange(names);
      } catch (err) {
        end();
        throw err;
      }
    },
    close: end,
  };
}
