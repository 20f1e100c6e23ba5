/**
 * `meshprof agent` as a child process: start it with an environment, wait
 * for log lines, stop it with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliPath } from './start-cli.js';

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

/** Waits for `cond` (polled every 200 ms) at most `ms`; the error names `what` and ends with the agent's log. */
export async function untilAgent(cond: () => boolean, ms: number, what: string, agent: AgentRun): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`waiting for ${what}; agent log:\n${agent.output().slice(-4000)}`);
    await sleep(200);
  }
}
