/** Starts fixture programs and waits until they are ready to be observed. */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FixtureOptions {
  /** Resolve once the program printed this on stdout; default: once it has spawned. */
  readonly readyOn?: string;
  /** Then wait this long, for it to reach its steady state; default 0. */
  readonly settleMs?: number;
  /** Give it a stdin pipe (for programs that run until stdin closes). */
  readonly stdin?: boolean;
}

/** A started fixture: a child process with a pid, and what it printed until it was ready. */
export type StartedFixture = ChildProcess & { readonly pid: number; readonly readyOutput: string };

/** Starts `path args...`; stderr goes to the test's, stdout is read only for `readyOn`. The caller kills it. */
export async function startFixture(path: string, args: readonly string[] = [], options: FixtureOptions = {}): Promise<StartedFixture> {
  const { readyOn } = options;
  const child = spawn(path, [...args], { stdio: [options.stdin ? 'pipe' : 'ignore', readyOn === undefined ? 'ignore' : 'pipe', 'inherit'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    if (readyOn === undefined) {
      child.once('spawn', () => resolve());
      return;
    }
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes(readyOn)) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`${path} exited (${code ?? signal}) before printing ${JSON.stringify(readyOn)}: ${output}`)));
  });
  if (options.settleMs) await sleep(options.settleMs);
  return Object.assign(child, { readyOutput: output }) as StartedFixture;
}

/** Resolves when the child has exited. */
export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}
