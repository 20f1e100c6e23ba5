// Waits for what a spawned fixture prints on stdout: `ready`, `done`, ...
import type { ChildProcess } from 'node:child_process';

/**
 * Returns `printed(text)`, which resolves once `child` has printed `text`
 * on stdout (at any time since this call) and rejects if it exits first.
 */
export function childOutput(child: ChildProcess, what: string): (text: string) => Promise<void> {
  let out = '';
  return (text) => new Promise((resolve, reject) => {
    const check = (): void => { if (out.includes(text)) resolve(); };
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); check(); });
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before printing ${text}: ${out}`)));
    check();
  });
}
