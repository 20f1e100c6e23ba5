/**
 * Exec churn in the background: the compiled churner runs /bin/true at a
 * fixed rate until stopped, so exec tracking has short-lived processes to
 * follow while a tool is measured.
 */
import { spawn } from 'node:child_process';
import type { PeerPrograms } from './peer-programs.js';

/** A running churner; `stop()` ends it and says how many execs it managed in how long. */
export interface Churner {
  stop(): Promise<{ execs: number; wallMs: number }>;
}

/** Starts `perSec` execs of /bin/true a second; throws on stop when the churner failed. */
export function startChurner(programs: PeerPrograms, perSec: number): Churner {
  const child = spawn(programs.churner.path, [String(perSec), '/bin/true'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    async stop() {
      child.kill('SIGTERM');
      const code = await closed;
      const [execs, wallMs] = out.trim().split(/\s+/).map(Number);
      if (code !== 0 || execs === undefined || wallMs === undefined || !(wallMs > 0)) throw new Error(`running the churner: exit ${code}, output "${out.trim()}"`);
      return { execs, wallMs };
    },
  };
}
