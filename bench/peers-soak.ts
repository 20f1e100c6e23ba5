/**
 * The agent's memory over a long run with heavy exec churn: its RSS (summed
 * over its processes) and CPU every minute, and how much RSS grew from the
 * first minute to the last. An hour at 50 execs/s is the issue-13 soak;
 * --soak-minutes shortens it.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { PeerPrograms } from './peer-programs.js';
import { readDescendants } from './proc-tree.js';

/** One minute of the soak. */
export interface SoakPoint {
  readonly minute: number;
  readonly rssMb: number;
  readonly hwmMb: number;
  /** The part of rssMb that is anonymous memory (heaps, stacks): where a leak shows. */
  readonly anonMb: number;
  /** The part of rssMb that is mapped files' pages (node's binary, mostly). */
  readonly fileMb: number;
  /** CPU over the minute just ended, % of one core. */
  readonly cpuPct: number;
}

/** The whole soak. */
export interface SoakResult {
  readonly minutes: number;
  readonly churnPerSec: number;
  readonly hz: number;
  readonly points: readonly SoakPoint[];
  /** RSS at the last minute minus RSS at the first, MB. */
  readonly growthMb: number;
  /** The same for the anonymous part. */
  readonly anonGrowthMb: number;
}

/** Runs the agent (`agent` spec: command, args, env) for `minutes`, with a churner at `churnPerSec`; `onPoint` sees each minute. */
export async function runSoak(
  programs: PeerPrograms,
  agent: { command: string; args: readonly string[]; env: NodeJS.ProcessEnv; hz: number },
  minutes: number,
  churnPerSec: number,
  logDir: string,
  onPoint: (p: SoakPoint) => void,
): Promise<SoakResult> {
  const churner = spawn(programs.churner.path, [String(churnPerSec)], { stdio: 'ignore' });
  const log = openSync(join(logDir, 'soak-agent.log'), 'w');
  const child = spawn(programs.wrapper.path, [agent.command, ...agent.args], { env: agent.env, stdio: ['ignore', log, log, 'ignore'] });
  closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const points: SoakPoint[] = [];
  let lastCpuMs = 0;
  let lastT = performance.now();
  try {
    for (let m = 1; m <= minutes; m++) {
      const ended = await Promise.race([new Promise((r) => setTimeout(() => r(false), 60_000)), exited.then(() => true)]);
      if (ended) throw new Error(`soak: the agent exited in minute ${m}; see ${join(logDir, 'soak-agent.log')}`);
      const procs = readDescendants(child.pid ?? 0);
      const cpuMs = procs.reduce((a, p) => a + p.cpuMs, 0);
      const now = performance.now();
      const point = {
        minute: m,
        rssMb: procs.reduce((a, p) => a + p.rssKb, 0) / 1024,
        hwmMb: procs.reduce((a, p) => a + p.hwmKb, 0) / 1024,
        anonMb: procs.reduce((a, p) => a + p.anonKb, 0) / 1024,
        fileMb: procs.reduce((a, p) => a + p.fileKb, 0) / 1024,
        cpuPct: ((cpuMs - lastCpuMs) / (now - lastT)) * 100,
      };
      lastCpuMs = cpuMs;
      lastT = now;
      points.push(point);
      onPoint(point);
    }
  } finally {
    child.kill('SIGTERM');
    churner.kill('SIGTERM');
    await exited;
  }
  const first = points[0]!;
  const last = points[points.length - 1]!;
  return { minutes, churnPerSec, hz: agent.hz, points, growthMb: last.rssMb - first.rssMb, anonGrowthMb: last.anonMb - first.anonMb };
}
