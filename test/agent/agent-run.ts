/**
 * Test helpers for `meshprof agent` as a child process: start it with an
 * environment, wait for log lines, stop it with SIGTERM; and read pprof
 * stacks of one process for comparisons.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import { cliPath } from '../helpers/cli.js';

/** A running agent. */
export interface AgentRun {
  readonly child: ChildProcess;
  /** Everything written so far (pino JSON lines on stdout, errors on stderr). */
  output(): string;
  /** Parsed JSON log lines so far. */
  logs(): Record<string, unknown>[];
  /** Resolves once `count` log lines' msg contain text (rejects after timeoutMs, or when the agent exits). */
  waitFor(text: string, timeoutMs?: number, count?: number): Promise<void>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  readonly done: Promise<number | null>;
}

/** Starts `meshprof agent` with env added to the test's environment. */
export function startAgent(env: Record<string, string>): AgentRun {
  const child = spawn('node', [cliPath, 'agent'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const logs = (): Record<string, unknown>[] =>
    out.split('\n').filter((l) => l.startsWith('{')).map((l) => {
      try { return JSON.parse(l) as Record<string, unknown>; } catch { return {}; }
    });
  return {
    child,
    output: () => out,
    logs,
    done,
    async waitFor(text, timeoutMs = 30_000, count = 1) {
      const until = Date.now() + timeoutMs;
      while (logs().filter((l) => String(l.msg ?? '').includes(text)).length < count) {
        if (Date.now() > until) throw new Error(`waiting for "${text}" in the agent's log; got:\n${out.slice(-3000)}`);
        if (child.exitCode !== null) throw new Error(`agent exited (${child.exitCode}) before "${text}":\n${out.slice(-3000)}`);
        await sleep(100);
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return done;
    },
  };
}

/** Resolves after ms. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One pprof's interval and the stacks of one pid: `sampleType|leaf;...;root` → summed value. */
export interface PprofStacks {
  readonly timeNanos: bigint;
  readonly durationNanos: bigint;
  readonly stacks: Record<string, number>;
}

/** Reads a (gzipped) pprof and keeps the samples whose `pid` label is pid. */
export function pprofStacksOf(bytes: Uint8Array, pid: number): PprofStacks {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const p = PprofProfile.decode(raw);
  const str = (i: number | bigint): string => p.stringTable.strings[Number(i)] ?? '';
  const fns = new Map(p.function.map((f) => [Number(f.id), str(f.name)]));
  const locs = new Map(p.location.map((l) => [Number(l.id), l.line.map((ln) => fns.get(Number(ln.functionId)) ?? '?')]));
  const types = p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`);
  const stacks: Record<string, number> = {};
  for (const s of p.sample) {
    const pidLabel = s.label.find((l) => str(l.key) === 'pid');
    if (Number(pidLabel?.num ?? -1) !== pid) continue;
    const key = s.locationId.flatMap((id) => locs.get(Number(id)) ?? ['?']).join(';');
    s.value.forEach((v, i) => {
      const k = `${types[i]}|${key}`;
      if (Number(v) !== 0) stacks[k] = (stacks[k] ?? 0) + Number(v);
    });
  }
  return { timeNanos: BigInt(p.timeNanos), durationNanos: BigInt(p.durationNanos), stacks };
}

/** pprofStacksOf for a file. */
export function pprofFileStacks(path: string, pid: number): PprofStacks {
  return pprofStacksOf(readFileSync(path), pid);
}

/** The value of a Prometheus sample line `name{labels} value` (0 when absent); labels must match exactly as listed. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum += Number(m[3]);
  }
  return sum;
}
