/**
 * Runs a command to completion without blocking the event loop, so a
 * benchmark can keep draining a sampler on a timer while the workload runs.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

/** How a child ended: its output and the wall time from spawn to exit. */
export interface ChildRun {
  readonly pid: number;
  readonly stdout: string;
  readonly wallMs: number;
}

/** Spawns `cmd args`; rejects with "running CMD: cause" on a spawn error or a non-zero exit. */
export function runChild(cmd: string, args: readonly string[]): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new Error(`running ${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - started;
      if (code !== 0) {
        const why = Buffer.concat(err).toString().trim() || `exit ${code ?? signal}`;
        reject(new Error(`running ${cmd}: ${why}`));
        return;
      }
      resolve({ pid: child.pid ?? 0, stdout: Buffer.concat(out).toString(), wallMs });
    });
  });
}
