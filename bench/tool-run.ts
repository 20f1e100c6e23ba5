/**
 * Runs one profiler (or `sleep`, the no-tool baseline) beside two CPU-bound
 * spinners and measures what it cost: its CPU time and its children's, its
 * peak memory, and the spinners' iterations. CPU time, not wall time, is the
 * figure, since other jobs on a shared machine stretch wall time.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseWrapperRusage, type PeerPrograms } from './peer-programs.js';
import { isBelow, readDescendants, readProcTable, readThreads, type ProcTable } from './proc-tree.js';
import { runChild } from './run-child.js';

/** What to run and for how long. */
export interface ToolSpec {
  /** Row name: `agent`, `record`, `perf`, `bpftrace`, `no tool`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The whole environment of the tool. */
  readonly env: NodeJS.ProcessEnv;
  /** SIGTERM this many ms after spawn; unset: the tool ends by itself. */
  readonly stopAfterMs?: number;
  /** [from, to) ms after spawn over which steady-state CPU is taken. */
  readonly steadyWindowMs?: readonly [number, number];
  /** How long the tool profiles (its -d, sleep or stop time); the spinners run as long, from just before its spawn. */
  readonly profileMs: number;
}

/** One point of a tool's series: ms since spawn, CPU used so far, RSS summed over its processes. */
export interface ToolSample {
  readonly tMs: number;
  readonly cpuMs: number;
  readonly rssKb: number;
  /**
   * CPU so far of every live thread of the tool's processes, ms, keyed
   * `TID NAME`: the root's main thread is `main`, another process's main
   * thread its command (`c++filt`), a thread its comm (the agent names its
   * workers; V8's and libuv's stay `node`).
   */
  readonly threads?: Readonly<Record<string, number>>;
  /**
   * Processes that appeared on the host since the last point, by command
   * (`sh ×2`), leaving out the tool's own and the bench's (spinners,
   * churner): other jobs' programs, new to a whole-host profiler, whose
   * symbols and tables it then loads. One-second scans miss most of the
   * short-lived.
   */
  readonly newHostProcesses?: readonly string[];
}

/** One step of the series, split by thread name. */
export interface ThreadSplit {
  /** The step's end, s since spawn. */
  readonly atS: number;
  /** The whole tree's CPU over the step (/proc/PID/stat, 10 ms ticks), ms. */
  readonly cpuMs: number;
  /**
   * ms by thread name over the step (ns precise); `exited threads` is the
   * rest of cpuMs: threads that ended within the step, and tick rounding.
   */
  readonly byThread: Readonly<Record<string, number>>;
  /** Processes new on the host over the step (ToolSample.newHostProcesses), by command. */
  readonly newHostProcesses?: readonly string[];
}

/** What one tool run cost. */
export interface ToolRun {
  readonly name: string;
  /** Spawn to exit. */
  readonly wallMs: number;
  /** utime + stime of the tool and every descendant it reaped (wait4 rusage). */
  readonly cpuMs: number;
  /** cpuMs over wallMs, in % of one core. */
  readonly cpuPct: number;
  /** The spec's profileMs: CPU per profiled second (cpuMs / profileMs) compares tools that end at different times. */
  readonly profileMs: number;
  /** CPU from spawn to profileMs (start and sampling, not what comes after, e.g. writing), % of one core. */
  readonly samplingCpuPct?: number;
  /** CPU over the steady window, % of one core; only with steadyWindowMs. */
  readonly steadyCpuPct?: number;
  /** The busiest one-second step inside the steady window, % of one core. */
  readonly steadyMaxSecondPct?: number;
  /** That step, by thread: what the steady figure's worst second was spent on. */
  readonly steadyMaxSecond?: ThreadSplit;
  /** The whole steady window by thread. */
  readonly steadyByThread?: ThreadSplit;
  /** VmHWM summed over the tool's processes (the root's also from rusage), MB. */
  readonly peakRssMb: number;
  /** Both spinners' iterations per second of wall time, summed. */
  readonly spinIterPerSec: number;
  /** Both spinners' iterations per second of their own CPU time. */
  readonly spinIterPerCpuSec: number;
  /** Forks a second on the whole host during the run (/proc/stat `processes`): other jobs' churn besides ours. */
  readonly hostForksPerSec: number;
  readonly exitCode: number;
  readonly series: readonly ToolSample[];
}

/** Processes created since boot, from /proc/stat. */
function forksSinceBoot(): number {
  return Number(/^processes (\d+)/m.exec(readFileSync('/proc/stat', 'latin1'))?.[1] ?? 0);
}

interface Spin {
  readonly iterations: number;
  readonly wallMs: number;
  readonly cpuMs: number;
}

async function spin(programs: PeerPrograms, ms: number): Promise<Spin> {
  const r = await runChild(programs.spinner.path, [String(ms)]);
  const [iterations, wallMs, cpuMs] = r.stdout.trim().split(/\s+/).map(Number);
  if (!(iterations! > 0) || !(wallMs! > 0)) throw new Error(`reading spinner output: "${r.stdout.trim()}"`);
  return { iterations: iterations!, wallMs: wallMs!, cpuMs: cpuMs! };
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
}

/** Runs `spec` under the rusage wrapper with two spinners beside it; logs go to `logDir`. */
export async function runTool(programs: PeerPrograms, spec: ToolSpec, logDir: string): Promise<ToolRun> {
  const logPath = join(logDir, `${spec.name.replace(/\W+/g, '-')}.log`);
  const log = openSync(logPath, 'w');
  const spinners = [spin(programs, spec.profileMs), spin(programs, spec.profileMs)];
  const forksBefore = forksSinceBoot();
  const started = performance.now();
  const child = spawn(programs.wrapper.path, [spec.command, ...spec.args], { env: spec.env, stdio: ['ignore', log, log, 'pipe'] });
  closeSync(log);
  const wrapperPid = child.pid ?? 0;
  const rusage: Buffer[] = [];
  child.stdio[3]!.on('data', (b: Buffer) => rusage.push(b));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', (e) => reject(new Error(`running ${spec.command}: ${e.message}`)));
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : 15)));
  });

  const series: ToolSample[] = [];
  const hwm = new Map<number, number>();
  let rootPid = 0;
  let seen: ProcTable | undefined;
  const sample = (): void => {
    const tMs = performance.now() - started;
    const table = readProcTable();
    const procs = readDescendants(wrapperPid, table);
    const newcomers = new Map<string, number>();
    if (seen !== undefined) {
      for (const [pid, p] of table) {
        // A pid seen before with the same command is no news; one that exec'ed another program is.
        // Kernel threads (kthreadd's children) rename themselves after their work: never a program.
        if (seen.get(pid)?.comm === p.comm || pid === 2 || p.ppid === 2 || pid === wrapperPid || isBelow(table, pid, wrapperPid) || isBelow(table, pid, process.pid)) continue;
        newcomers.set(p.comm, (newcomers.get(p.comm) ?? 0) + 1);
      }
    }
    seen = table;
    const newHostProcesses = [...newcomers].map(([comm, n]) => (n > 1 ? `${comm} ×${n}` : comm));
    let cpuMs = 0;
    let rssKb = 0;
    const threads: Record<string, number> = {};
    for (const p of procs) {
      cpuMs += p.cpuMs;
      rssKb += p.rssKb;
      hwm.set(p.pid, Math.max(hwm.get(p.pid) ?? 0, p.hwmKb));
      if (p.ppid === wrapperPid) rootPid = p.pid;
      for (const t of readThreads(p.pid)) {
        const name = t.name === 'main' && p.ppid !== wrapperPid ? p.comm : t.name;
        threads[`${t.tid} ${name}`] = Number(t.cpuMs.toFixed(3));
      }
    }
    if (procs.length > 0) series.push({ tMs, cpuMs, rssKb, threads, ...(newHostProcesses.length > 0 ? { newHostProcesses } : {}) });
  };
  const timers = [setInterval(sample, 1000)];
  const edges = [...(spec.steadyWindowMs ?? [])];
  const oneShots = edges.map((ms) => setTimeout(sample, ms));
  if (spec.stopAfterMs !== undefined) {
    oneShots.push(setTimeout(() => { sample(); child.kill('SIGTERM'); }, spec.stopAfterMs));
  }
  let exitCode: number;
  try {
    exitCode = await exited;
  } finally {
    for (const t of timers) clearInterval(t);
    for (const t of oneShots) clearTimeout(t);
  }
  const wallMs = performance.now() - started;
  const hostForksPerSec = (forksSinceBoot() - forksBefore) / (wallMs / 1000);
  const spun = await Promise.all(spinners);

  const usage = parseWrapperRusage(Buffer.concat(rusage).toString());
  if (usage === undefined) {
    throw new Error(`running ${spec.name}: no rusage from the wrapper (exit ${exitCode}): ${tail(logPath)}`);
  }
  // SIGTERM is how the agent is stopped; anything else non-zero is a failure.
  if (exitCode !== 0 && !(spec.stopAfterMs !== undefined && exitCode === 143)) {
    throw new Error(`running ${spec.name}: exit ${exitCode}: ${tail(logPath)}`);
  }
  if (rootPid !== 0) hwm.set(rootPid, Math.max(hwm.get(rootPid) ?? 0, usage.maxRssKb));
  const cpuMs = usage.cpuMs;
  const spinWall = spun.reduce((a, s) => a + s.iterations / (s.wallMs / 1000), 0);
  const spinCpu = spun.reduce((a, s) => a + s.iterations / (s.cpuMs / 1000), 0);
  return {
    name: spec.name,
    wallMs,
    cpuMs,
    cpuPct: (cpuMs / wallMs) * 100,
    profileMs: spec.profileMs,
    ...samplingFigure(series, spec.profileMs),
    ...steadyFigures(series, spec.steadyWindowMs),
    peakRssMb: [...hwm.values()].reduce((a, b) => a + b, 0) / 1024,
    spinIterPerSec: spinWall,
    spinIterPerCpuSec: spinCpu,
    hostForksPerSec,
    exitCode,
    series,
  };
}

/** CPU % between the samples nearest the window's edges, and the busiest step between, each split by thread. */
export function steadyFigures(series: readonly ToolSample[], window: readonly [number, number] | undefined): Pick<ToolRun, 'steadyCpuPct' | 'steadyMaxSecondPct' | 'steadyMaxSecond' | 'steadyByThread'> {
  if (window === undefined) return {};
  const inside = series.filter((s) => s.tMs >= window[0] - 100 && s.tMs <= window[1] + 100);
  const first = inside[0];
  const last = inside[inside.length - 1];
  if (first === undefined || last === undefined || last.tMs - first.tMs < 1000) return {};
  let max = 0;
  let maxAt = 0;
  for (let i = 1; i < inside.length; i++) {
    const dt = inside[i]!.tMs - inside[i - 1]!.tMs;
    // Edge samples land a few ms from a periodic one: only steps near a second say something.
    const pct = ((inside[i]!.cpuMs - inside[i - 1]!.cpuMs) / dt) * 100;
    if (dt >= 500 && pct > max) [max, maxAt] = [pct, i];
  }
  return {
    steadyCpuPct: ((last.cpuMs - first.cpuMs) / (last.tMs - first.tMs)) * 100,
    steadyMaxSecondPct: max,
    // What appeared on the host in the step before counts too: its tables are loaded when it is first sampled.
    ...(maxAt > 0 ? { steadyMaxSecond: splitByThread(inside[maxAt - 1]!, inside[maxAt]!, inside.slice(Math.max(1, maxAt - 1), maxAt + 1)) } : {}),
    steadyByThread: splitByThread(first, last, inside.slice(1)),
  };
}

/**
 * What each thread name used from `a` to `b`: a thread in both counts its
 * difference, one started between counts all it has. What threads ended in
 * between used is left in `exited threads`, with the ticks' rounding. The
 * processes new on the host are those of `steps`.
 */
export function splitByThread(a: ToolSample, b: ToolSample, steps: readonly ToolSample[] = [b]): ThreadSplit {
  const byThread: Record<string, number> = {};
  let named = 0;
  for (const [key, ms] of Object.entries(b.threads ?? {})) {
    const d = ms - (a.threads?.[key] ?? 0);
    const name = key.slice(key.indexOf(' ') + 1);
    byThread[name] = (byThread[name] ?? 0) + d;
    named += d;
  }
  const cpuMs = b.cpuMs - a.cpuMs;
  byThread['exited threads'] = cpuMs - named;
  for (const k of Object.keys(byThread)) byThread[k] = Number(byThread[k]!.toFixed(1));
  const newHostProcesses = steps.flatMap((x) => x.newHostProcesses ?? []);
  return { atS: Number((b.tMs / 1000).toFixed(1)), cpuMs, byThread, ...(newHostProcesses.length > 0 ? { newHostProcesses } : {}) };
}

/** CPU over [0, profileMs], the series interpolated at profileMs; none when the tool ended before it. */
export function samplingFigure(series: readonly ToolSample[], profileMs: number): { samplingCpuPct?: number } {
  const after = series.findIndex((s) => s.tMs >= profileMs);
  if (after < 0) return {};
  const b = series[after]!;
  const a = after > 0 ? series[after - 1]! : { tMs: 0, cpuMs: 0 };
  const cpuAt = b.tMs === a.tMs ? b.cpuMs : a.cpuMs + ((b.cpuMs - a.cpuMs) * (profileMs - a.tMs)) / (b.tMs - a.tMs);
  return { samplingCpuPct: (cpuAt / profileMs) * 100 };
}
