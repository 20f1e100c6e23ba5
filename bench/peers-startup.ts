/**
 * How long the CLI takes to start: `meshprof --help` from exec to exit, and
 * `meshprof record --all` from exec to its "recording ..." line (the first
 * moment a sample can be taken), each against a bare `node -e 0` run in
 * the same loop.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { StartupResult } from './peers-table.js';
import { runChild } from './run-child.js';

/** Wall ms from spawn to the first stderr line starting "recording "; waits for the exit too. */
function recordReady(cli: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cli, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    let readyMs: number | undefined;
    child.stderr.on('data', (b: Buffer) => {
      text += b.toString();
      if (readyMs === undefined && /^recording /m.test(text)) readyMs = performance.now() - started;
    });
    child.on('error', (e) => reject(new Error(`running meshprof record: ${e.message}`)));
    child.on('close', (code) => {
      if (code !== 0 || readyMs === undefined) reject(new Error(`running meshprof record: exit ${code}: ${text.trim().slice(-300)}`));
      else resolve(readyMs);
    });
  });
}

/** Runs the three start-ups `runs` times, in turn, so load from other jobs falls on all three. */
export async function measureStartup(cli: string, runs: number, outDir: string, env: NodeJS.ProcessEnv): Promise<StartupResult> {
  const out = { runs, nodeBareMs: [] as number[], helpMs: [] as number[], recordReadyMs: [] as number[] };
  for (let i = 0; i < runs; i++) {
    out.nodeBareMs.push((await runChild(process.execPath, ['-e', '0'])).wallMs);
    out.helpMs.push((await runChild(cli, ['--help'])).wallMs);
    out.recordReadyMs.push(await recordReady(cli, ['record', '--all', '-d', '1s', '-o', join(outDir, 'startup.pb.gz')], env));
  }
  return out;
}
