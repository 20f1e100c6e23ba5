/**
 * How long the CLI takes to start: `meshprof --help` from exec to exit, and
 * `meshprof record --all` from exec to its "recording ..." line (the first
 * moment a sample can be taken), each against a bare `node -e 0` run in
 * the same loop. And what a CLI costs in CPU and memory (measureCliCost):
 * --help, a short record and the agent's first 30 s, for builds side by side
 * (the bundle, the same code unbundled, another checkout).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseWrapperRusage } from './peer-programs.js';
import { readDescendants } from './proc-tree.js';
import type { CliCostResult, CliCostRun, StartupResult } from './peers-table.js';
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

/**
 * Runs the three start-ups `runs` times, in turn, so load from other jobs
 * falls on all three; with `baseline` (another checkout's launcher), its two
 * in the same rounds.
 */
export async function measureStartup(cli: string, runs: number, outDir: string, env: NodeJS.ProcessEnv, baseline?: { label: string; cli: string }): Promise<StartupResult> {
  const out = { runs, nodeBareMs: [] as number[], helpMs: [] as number[], recordReadyMs: [] as number[] };
  const base = { helpMs: [] as number[], recordReadyMs: [] as number[] };
  const record = ['record', '--all', '-d', '1s', '-o', join(outDir, 'startup.pb.gz')];
  for (let i = 0; i < runs; i++) {
    out.nodeBareMs.push((await runChild(process.execPath, ['-e', '0'])).wallMs);
    out.helpMs.push((await runChild(cli, ['--help'])).wallMs);
    out.recordReadyMs.push(await recordReady(cli, record, env));
    if (baseline === undefined) continue;
    base.helpMs.push((await runChild(baseline.cli, ['--help'])).wallMs);
    base.recordReadyMs.push(await recordReady(baseline.cli, record, env));
  }
  return baseline === undefined ? out : { ...out, baseline: { label: baseline.label, ...base } };
}

/** One build of the CLI to measure: how to start it. */
export interface CliUnderTest {
  /** Row name: "this checkout (bundle)", "main". */
  readonly label: string;
  readonly command: string;
  /** Before the meshprof arguments (e.g. node flags and a launcher). */
  readonly args: readonly string[];
}

interface Rusage {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly maxRssKb: number;
  readonly stderr: string;
}

/** Runs `command args` under the rusage wrapper (bench/peer-programs.ts) to its end. */
function underWrapper(wrapper: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Rusage> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(wrapper, [command, ...args], { env, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let usage = '';
    child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.stdio[3]!.on('data', (b: Buffer) => { usage += b.toString(); });
    child.on('error', (e) => reject(new Error(`running ${command}: ${e.message}`)));
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      const rusage = parseWrapperRusage(usage);
      if (code !== 0 || rusage === undefined) {
        reject(new Error(`running ${command} ${args.join(' ')}: exit ${code}: ${stderr.trim().slice(-300)}`));
      } else {
        resolve({ wallMs, cpuMs: rusage.cpuMs, maxRssKb: rusage.maxRssKb, stderr });
      }
    });
  });
}

/** The agent for `ms`, then its CPU and memory from /proc just before SIGTERM. */
async function agentFirst(cli: CliUnderTest, ms: number, env: NodeJS.ProcessEnv): Promise<{ cpuMs: number; rssKb: number; hwmKb: number }> {
  const child = spawn(cli.command, [...cli.args, 'agent'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const ended = await Promise.race([sleep(ms).then(() => false), closed.then(() => true)]);
  if (ended) throw new Error(`running ${cli.label} agent: it exited before ${ms} ms: ${stderr.trim().slice(-300)}`);
  const own = readDescendants(process.pid).find((p) => p.pid === child.pid);
  child.kill('SIGTERM');
  await closed;
  if (own === undefined) throw new Error(`running ${cli.label} agent: no /proc figures for pid ${child.pid}`);
  return { cpuMs: own.cpuMs, rssKb: own.rssKb, hwmKb: own.hwmKb };
}

/**
 * `meshprof --help`, `record --all -d 5s` and the agent's first `agentMs`
 * for each CLI, the CLIs interleaved within each round so load from other
 * jobs falls on all of them. CPU time is the figure: it stretches less than
 * wall time on a shared machine.
 */
export async function measureCliCost(
  clis: readonly CliUnderTest[], rounds: number, outDir: string, env: NodeJS.ProcessEnv,
  programs: { readonly wrapper: string; readonly spinner: string },
  agentMs = 30_000, progress: (line: string) => void = () => {},
): Promise<CliCostResult> {
  const loadavgBefore = loadavg();
  const runs: CliCostRun[] = [];
  const agentEnv = { ...env, MESHPROF_PROFILES: 'oncpu', MESHPROF_OUTPUT_DIR: join(outDir, 'agent-profiles'), MESHPROF_LOCAL_FORMATS: 'pprof' };
  for (let round = 0; round < rounds; round++) {
    for (const cli of clis) {
      const wrapper = programs.wrapper;
      const help = await underWrapper(wrapper, cli.command, [...cli.args, '--help'], env);
      const spinner = spawn(programs.spinner, ['6000'], { stdio: 'ignore' });
      let pidRecord: Rusage;
      try {
        pidRecord = await underWrapper(wrapper, cli.command, [...cli.args, 'record', '--pid', String(spinner.pid), '-d', '2s', '-o', join(outDir, 'pid.pb.gz')], env);
      } finally {
        spinner.kill();
      }
      const record = await underWrapper(wrapper, cli.command, [...cli.args, 'record', '--all', '-d', '5s', '-o', join(outDir, 'cost.pb.gz')], env);
      const samples = Number(/wrote .*?: (\d+) samples/.exec(record.stderr)?.[1] ?? NaN);
      const agent = await agentFirst(cli, agentMs, agentEnv);
      const run: CliCostRun = {
        label: cli.label, helpWallMs: help.wallMs, helpCpuMs: help.cpuMs,
        recordCpuMs: record.cpuMs, recordPeakRssMb: record.maxRssKb / 1024, recordSamples: samples,
        pidRecordCpuMs: pidRecord.cpuMs, pidRecordPeakRssMb: pidRecord.maxRssKb / 1024,
        agentCpuMs: agent.cpuMs, agentRssMb: agent.rssKb / 1024, agentHwmMb: agent.hwmKb / 1024,
      };
      runs.push(run);
      progress(`round ${round + 1}/${rounds} ${cli.label}: help ${help.wallMs.toFixed(0)} ms wall ${help.cpuMs.toFixed(0)} ms CPU; ` +
        `record --pid ${pidRecord.cpuMs.toFixed(0)} ms CPU ${run.pidRecordPeakRssMb.toFixed(0)} MB; ` +
        `record --all ${record.cpuMs.toFixed(0)} ms CPU ${run.recordPeakRssMb.toFixed(0)} MB (${samples} samples); ` +
        `agent ${agent.cpuMs.toFixed(0)} ms CPU ${run.agentRssMb.toFixed(0)} MB RSS ${run.agentHwmMb.toFixed(0)} MB HWM; load ${loadavg()[0]!.toFixed(2)}`);
    }
  }
  return { runs, loadavgBefore, loadavgAfter: loadavg() };
}

/**
 * A launcher for this checkout's compiled TypeScript without the bundle:
 * bin/meshprof.js as it was before dist/bundle, same V8 flags, for an A/B of
 * the bundle alone on the same code.
 */
export function unbundledCli(root: string, dir: string): CliUnderTest {
  const launcher = join(dir, 'meshprof-unbundled.mjs');
  writeFileSync(launcher, `import { main } from ${JSON.stringify(pathToFileURL(join(root, 'dist', 'src', 'cli', 'main.js')).href)};
main(process.argv).then((code) => { process.exitCode = code; }, (err) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; });
`);
  return { label: 'this checkout, dist/src', command: process.execPath, args: ['--max-semi-space-size=1', launcher] };
}
