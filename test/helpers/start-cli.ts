import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './repo-root.js';

/** The CLI as users run it (compiled, through bin/meshprof.js). */
export const cliPath = join(repoRoot, 'bin', 'meshprof.js');

/** A running `meshprof` command; `started` resolves once it says it is recording. */
export interface CliRun {
  readonly child: ChildProcess;
  readonly started: Promise<void>;
  readonly done: Promise<{ code: number | null; stderr: string; stdout: string }>;
}

/** Starts `meshprof args...` and watches its stderr for the "recording" line. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = process.env): CliRun {
  const child = spawn('node', [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  let stdout = '';
  let onStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => { onStarted = resolve; });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.includes('recording ')) onStarted();
  });
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
  const done = new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
    child.on('close', (code) => { onStarted(); resolve({ code, stderr, stdout }); });
  });
  return { child, started, done };
}
