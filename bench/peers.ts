/**
 * Benchmark (issue 13): what the meshprof agent and `meshprof record` cost
 * against `perf record -g` and bpftrace doing the same whole-host sampling,
 * side by side in one run, one tool at a time, each beside two CPU-bound
 * spinners: CPU (total, and steady state for the agent), peak RSS and the
 * spinners' lost work, at 99 and 19 Hz, with and without exec churn. Also
 * the CLI's start-up, and a soak of the agent's memory.
 *
 *   node dist/bench/peers.js                      the comparison (~12 min) and start-up
 *   node dist/bench/peers.js --quick              5 s runs, 99 Hz with churn only: a smoke run
 *   node dist/bench/peers.js --hz 19              only the settings at these frequencies
 *   node dist/bench/peers.js --tools agent        only these tools (and the no-tool runs): agent, record, perf, bpftrace
 *   node dist/bench/peers.js --soak [--soak-minutes N]   the agent for an hour (or N min) at 50 execs/s
 *   node dist/bench/peers.js --startup [--baseline DIR]   only the start-up figures, DIR's build's in the same rounds
 *   node dist/bench/peers.js --cli-cost [--baseline DIR]  --help, record -d 5s and the agent's first 30 s:
 *                                                 the bundle, the same code unbundled, DIR's build (~4 min a build)
 *   node dist/bench/peers.js --cli-cost --node-flags '--no-opt' [--node-flags ...]   the bundle with the launcher's
 *                                                 V8 flags, and with these added: V8 flags as a measured choice
 *   node dist/bench/run.js peers [--quick]        the same through the runner (peers-soak for the soak)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/kernel/index.js';
import { benchResult, isBenchScript, median, type Benchmark, type BenchResult } from './harness.js';
import { compilePeerPrograms, type PeerPrograms } from './peer-programs.js';
import { runSoak, type SoakResult } from './peers-soak.js';
import { measureCliCost, measureStartup, unbundledCli, type CliUnderTest } from './peers-startup.js';
import { baselineSpinRate, configName, cpuPerProfiledSecondPct, formatCliCost, formatPeerConfig, formatStartup, type CliCostResult, type CliCostRun, type PeerConfigResult, type StartupResult } from './peers-table.js';
import { startChurner } from './churner.js';
import { runTool, type ToolRun, type ToolSpec } from './tool-run.js';

/** Flags of the peers benchmark, from the script's or the runner's argv. */
export interface PeersOptions {
  readonly quick: boolean;
  readonly soak: boolean;
  readonly soakMinutes: number;
  /** Frequencies to compare (--hz 99,19); all by default. */
  readonly hz: readonly number[];
  /**
   * Another checkout of meshprof (--baseline DIR, built), whose agent and
   * record run beside this one's in the same settings: before/after in one run.
   */
  readonly baseline?: string | undefined;
  /** Only the CLI cost comparison (measureCliCost). */
  readonly cliCost: boolean;
  /** Only the start-up figures (--startup), this checkout's and the baseline's. */
  readonly startupOnly: boolean;
  /** With cliCost: node flag sets (--node-flags '--a --b', repeatable) to compare the bundle under, instead of the other builds. */
  readonly nodeFlags: readonly (readonly string[])[];
  /** Tools to run (--tools agent,record); all by default. A baseline's rows follow its tool's. */
  readonly tools?: readonly string[] | undefined;
}

/** Reads --quick, --soak, --soak-minutes N and --hz 99,19 (or =value); ignores everything else. */
export function parsePeersOptions(argv: readonly string[]): PeersOptions {
  let soakMinutes = 60;
  let hz = [99, 19];
  argv.forEach((a, i) => {
    const v = a.startsWith('--hz=') ? a.slice('--hz='.length) : a === '--hz' ? argv[i + 1] : undefined;
    if (v === undefined) return;
    hz = v.split(',').map(Number);
    if (hz.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`reading --hz: "${v}" is not a list of whole frequencies`);
  });
  argv.forEach((a, i) => {
    const v = a.startsWith('--soak-minutes=') ? a.slice('--soak-minutes='.length) : a === '--soak-minutes' ? argv[i + 1] : undefined;
    if (v === undefined) return;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`reading --soak-minutes: "${v}" is not a whole number of minutes`);
    soakMinutes = n;
  });
  let baseline: string | undefined;
  argv.forEach((a, i) => {
    const v = a.startsWith('--baseline=') ? a.slice('--baseline='.length) : a === '--baseline' ? argv[i + 1] : undefined;
    if (v !== undefined) baseline = v;
  });
  let tools: string[] | undefined;
  argv.forEach((a, i) => {
    const v = a.startsWith('--tools=') ? a.slice('--tools='.length) : a === '--tools' ? argv[i + 1] : undefined;
    if (v === undefined) return;
    tools = v.split(',').filter((t) => t !== '');
    const unknown = tools.filter((t) => !TOOL_NAMES.includes(t));
    if (unknown.length > 0) throw new Error(`reading --tools: "${unknown.join(',')}" is not one of ${TOOL_NAMES.join(', ')}`);
  });
  const nodeFlags: string[][] = [];
  argv.forEach((a, i) => {
    const v = a.startsWith('--node-flags=') ? a.slice('--node-flags='.length) : a === '--node-flags' ? argv[i + 1] : undefined;
    if (v !== undefined) nodeFlags.push(v.split(/\s+/).filter((f) => f !== ''));
  });
  return { quick: argv.includes('--quick'), cliCost: argv.includes('--cli-cost'), startupOnly: argv.includes('--startup'), nodeFlags, soak: argv.includes('--soak') || argv.some((a) => a.startsWith('--soak-minutes')), soakMinutes, hz, baseline, tools };
}

/**
 * Durations of one setting: one-shot tools and the baseline run `toolMs`, the
 * agent `agentMs` and is measured steady from `steadyFromMs` to its end. The
 * agent's work comes in 15 s intervals: a 20 s window held one or two of their
 * ends and swung by ±1 point between runs of the same build, so the window is
 * three whole intervals (their ends at ~30.5, 45.5 and 60.5 s).
 */
function durations(quick: boolean): { toolMs: number; agentMs: number; steadyFromMs: number } {
  return quick ? { toolMs: 5000, agentMs: 10_000, steadyFromMs: 5000 } : { toolMs: 20_000, agentMs: 75_000, steadyFromMs: 30_000 };
}

/** The environment without any MESHPROF_*, OTEL_* or ROVER_* setting, so no exporter or target rule leaks in. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MESHPROF_|OTEL_|ROVER_)/.test(k)));
}

/** The agent as the comparison runs it: on-CPU only (what perf and bpftrace do), whole host, local pprof/HTML files. */
function agentSpec(hz: number, outDir: string, agentMs: number, steadyFromMs: number, root = packageRoot(), name = 'agent'): ToolSpec {
  return {
    name,
    // The launcher itself, as users run it: its shebang carries the V8 flags.
    command: join(root, 'bin', 'meshprof.js'),
    args: ['agent'],
    env: { ...cleanEnv(), MESHPROF_FREQUENCY: String(hz), MESHPROF_PROFILES: 'oncpu', MESHPROF_OUTPUT_DIR: join(outDir, 'agent-profiles') },
    stopAfterMs: agentMs,
    steadyWindowMs: [steadyFromMs, agentMs],
    profileMs: agentMs,
  };
}

/** The tools --tools can pick; the no-tool runs always run, as the spinners' reference. */
const TOOL_NAMES = ['agent', 'record', 'perf', 'bpftrace'];

function toolSpecs(hz: number, outDir: string, quick: boolean, baseline?: string, tools?: readonly string[]): ToolSpec[] {
  return allToolSpecs(hz, outDir, quick, baseline).filter((t) => tools === undefined || t.name === 'no tool' || tools.includes(t.name.replace(/ \(baseline\)$/, '')));
}

function allToolSpecs(hz: number, outDir: string, quick: boolean, baseline?: string): ToolSpec[] {
  const { toolMs, agentMs, steadyFromMs } = durations(quick);
  const s = toolMs / 1000;
  const env = cleanEnv();
  const noTool: ToolSpec = { name: 'no tool', command: 'sleep', args: [String(s)], env, profileMs: toolMs };
  const record = (root: string, name: string): ToolSpec => ({
    name, command: join(root, 'bin', 'meshprof.js'), args: ['record', '--all', '-d', `${s}s`, '-F', String(hz), '-o', join(outDir, 'x.pb.gz')], env, profileMs: toolMs,
  });
  return [
    noTool,
    ...(baseline !== undefined ? [agentSpec(hz, join(outDir, 'baseline'), agentMs, steadyFromMs, baseline, 'agent (baseline)'), record(baseline, 'record (baseline)')] : []),
    agentSpec(hz, outDir, agentMs, steadyFromMs),
    record(packageRoot(), 'record'),
    { name: 'perf', command: 'perf', args: ['record', '-g', '-F', String(hz), '-a', '-o', join(outDir, 'x.data'), '--', 'sleep', String(s)], env, profileMs: toolMs },
    {
      name: 'bpftrace',
      command: 'bpftrace',
      args: ['-o', join(outDir, 'bpftrace.out'), '-e', `profile:hz:${hz} { @[ustack, kstack, comm] = count(); } interval:s:${s} { exit(); }`],
      // Under ASLR bpftrace 0.17 rebuilds a process's symbol table for every stack it prints unless told to cache
      // them: minutes of CPU on a host with many node processes. Compare against it at its best.
      env: { ...env, BPFTRACE_CACHE_USER_SYMBOLS: '1' },
      profileMs: toolMs,
    },
    // A second baseline at the end, so a change in other jobs' load over the run shows.
    noTool,
  ];
}

/** Runs every tool of one setting, one at a time, with the churner on throughout when churnPerSec > 0. */
export async function runPeerConfig(programs: PeerPrograms, hz: number, churnPerSec: number, quick: boolean, baseline?: string, tools?: readonly string[]): Promise<PeerConfigResult> {
  const outDir = mkdtempSync(join(tmpdir(), 'meshprof-bench-peers-'));
  const churner = churnPerSec > 0 ? startChurner(programs, churnPerSec) : undefined;
  const runs: ToolRun[] = [];
  let churned: { execs: number; wallMs: number } | undefined;
  try {
    for (const spec of toolSpecs(hz, outDir, quick, baseline, tools)) {
      process.stderr.write(`bench: peers: ${hz} Hz, churn ${churnPerSec}/s: ${spec.name}\n`);
      runs.push(await runTool(programs, spec, outDir));
    }
  } finally {
    churned = await churner?.stop();
    rmSync(outDir, { recursive: true, force: true });
  }
  return { hz, churnPerSec, churnMeasuredPerSec: churned === undefined ? 0 : churned.execs / (churned.wallMs / 1000), runs };
}

/** The settings compared: each frequency without and with 10 execs/s of churn. */
const SETTINGS: readonly { hz: number; churnPerSec: number }[] = [
  { hz: 99, churnPerSec: 0 },
  { hz: 99, churnPerSec: 10 },
  { hz: 19, churnPerSec: 0 },
  { hz: 19, churnPerSec: 10 },
];

const KEYS: Record<string, string> = { 'no tool': 'none', agent: 'agent', record: 'record', perf: 'perf', bpftrace: 'bpftrace' };

/** One setting as a runner result: record's total CPU against bpftrace's (the issue's goal), every figure in metrics. */
export function peerConfigResult(c: PeerConfigResult): BenchResult {
  const cpu = (name: string): number[] => c.runs.filter((r) => r.name === name).map(cpuPerProfiledSecondPct);
  const base = baselineSpinRate(c.runs);
  const metrics: Record<string, number | string> = { hz: c.hz, churnPerSec: c.churnPerSec, churnMeasuredPerSec: Number(c.churnMeasuredPerSec.toFixed(1)) };
  c.runs.forEach((r, i) => {
    const k = r.name === 'no tool' ? `none${i === 0 ? '' : 'End'}` : KEYS[r.name] ?? r.name;
    if (r.name !== 'no tool') {
      metrics[`${k}CpuS`] = Number((r.cpuMs / 1000).toFixed(2));
      metrics[`${k}WallS`] = Number((r.wallMs / 1000).toFixed(1));
      metrics[`${k}CpuPerProfiledSecondPct`] = Number(cpuPerProfiledSecondPct(r).toFixed(2));
      if (r.samplingCpuPct !== undefined) metrics[`${k}CpuWhileProfilingPct`] = Number(r.samplingCpuPct.toFixed(2));
      metrics[`${k}PeakRssMb`] = Number(r.peakRssMb.toFixed(1));
    }
    if (r.steadyCpuPct !== undefined) metrics[`${k}SteadyCpuPct`] = Number(r.steadyCpuPct.toFixed(2));
    if (r.steadyMaxSecondPct !== undefined) metrics[`${k}SteadyMaxSecondPct`] = Number(r.steadyMaxSecondPct.toFixed(1));
    metrics[`${k}SpinWork`] = Number((r.spinIterPerSec / base).toFixed(4));
    metrics[`${k}HostForksPerSec`] = Math.round(r.hostForksPerSec);
  });
  return benchResult({
    name: configName(c),
    unit: '% core per profiled s',
    baselineLabel: `bpftrace profile:hz:${c.hz}, whole host, all its CPU over the profile's length`,
    measuredLabel: 'meshprof record --all, the same',
    samples: { baseline: cpu('bpftrace'), measured: cpu('record') },
    metrics,
    notes: [
      'CPU is utime+stime of the tool and its reaped children (wait4 rusage) from spawn to exit, over the seconds profiled (20 s; the agent 75 s); CpuWhileProfiling stops at that length, so leaves out writing and printing; steady is /proc from 30 s to the end of the agent\'s run (three whole 15 s intervals)',
      'SpinWork is the two spinners\' iterations per wall second over the mean of the no-tool runs: 1 means no work lost',
      'peak RSS is VmHWM summed over the tool\'s processes, sampled each second, the main process also from rusage',
    ],
  });
}

/** Start-up as a runner result: record's exec → "recording" line against a bare node start. */
export function startupResult(s: StartupResult): BenchResult {
  return benchResult({
    name: 'peers:startup',
    unit: 'ms',
    baselineLabel: 'node -e 0, exec to exit',
    measuredLabel: 'meshprof record --all, exec to its "recording" line',
    samples: { baseline: s.nodeBareMs, measured: s.recordReadyMs },
    metrics: { helpMs: Math.round(median(s.helpMs)), helpRatio: Number((median(s.helpMs) / median(s.nodeBareMs)).toFixed(2)) },
    notes: ['wall times: a busy machine stretches them, the ratio to node -e 0 less so'],
  });
}

async function withPrograms<T>(fn: (p: PeerPrograms) => Promise<T>): Promise<T> {
  const programs = compilePeerPrograms();
  try {
    return await fn(programs);
  } finally {
    programs.dispose();
  }
}

async function startup(quick: boolean, baseline?: string): Promise<StartupResult> {
  const dir = mkdtempSync(join(tmpdir(), 'meshprof-bench-startup-'));
  try {
    const base = baseline !== undefined ? { label: `baseline ${baseline}`, cli: join(baseline, 'bin', 'meshprof.js') } : undefined;
    return await measureStartup(join(packageRoot(), 'bin', 'meshprof.js'), quick ? 3 : 7, dir, cleanEnv(), base);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The CLIs side by side: this checkout's bundle, the same code unbundled, and the baseline checkout's bin/meshprof.js. */
async function cliCost(quick: boolean, baseline: string | undefined, nodeFlags: readonly (readonly string[])[] = []): Promise<CliCostResult> {
  const dir = mkdtempSync(join(tmpdir(), 'meshprof-bench-cli-cost-'));
  try {
    const bin = join(packageRoot(), 'bin', 'meshprof.js');
    const clis: CliUnderTest[] = nodeFlags.length > 0
      ? [
        { label: 'bundle', command: bin, args: [] },
        // node FLAGS bin skips the shebang: its flags are given again.
        ...nodeFlags.map((f) => ({ label: `bundle ${f.join(' ')}`, command: process.execPath, args: [...launcherNodeFlags(bin), ...f, bin] })),
      ]
      : [
        { label: 'this checkout (bin: dist/bundle)', command: bin, args: [] },
        unbundledCli(packageRoot(), dir),
        ...(baseline !== undefined ? [{ label: `baseline ${baseline}`, command: join(baseline, 'bin', 'meshprof.js'), args: [] }] : []),
      ];
    return await withPrograms((p) => measureCliCost(clis, quick ? 3 : 5, dir, cleanEnv(), { wrapper: p.wrapper.path, spinner: p.spinner.path }, quick ? 10_000 : 30_000,
      (line) => process.stderr.write(`bench: cli-cost: ${line}\n`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The node flags of a launcher's `#!/usr/bin/env -S node ...` line. */
function launcherNodeFlags(bin: string): string[] {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!.*?\bnode\b(.*)$/.exec(first);
  return (m?.[1] ?? '').split(/\s+/).filter((f) => f !== '');
}

function cliCostResult(r: CliCostResult): BenchResult {
  const of = (label: string, f: (x: CliCostRun) => number): number[] => r.runs.filter((x) => x.label === label).map(f);
  const [bundled, unbundled] = [...new Set(r.runs.map((x) => x.label))];
  return benchResult({
    name: 'peers-cli-cost',
    unit: 'ms CPU',
    baselineLabel: `record --pid SPINNER -d 2s, CPU: ${unbundled!}`,
    measuredLabel: `the same: ${bundled!}`,
    samples: { baseline: of(unbundled!, (x) => x.pidRecordCpuMs), measured: of(bundled!, (x) => x.pidRecordCpuMs) },
    metrics: {
      recordAllCpuRatio: Number((median(of(bundled!, (x) => x.recordCpuMs)) / median(of(unbundled!, (x) => x.recordCpuMs))).toFixed(2)),
      helpCpuRatio: Number((median(of(bundled!, (x) => x.helpCpuMs)) / median(of(unbundled!, (x) => x.helpCpuMs))).toFixed(2)),
      agentCpuRatio: Number((median(of(bundled!, (x) => x.agentCpuMs)) / median(of(unbundled!, (x) => x.agentCpuMs))).toFixed(2)),
      agentRssRatio: Number((median(of(bundled!, (x) => x.agentRssMb)) / median(of(unbundled!, (x) => x.agentRssMb))).toFixed(2)),
    },
    notes: [formatCliCost(r).replace(/\*\*/g, '')],
  });
}

/** The agent at 99 Hz for `minutes` with 50 execs/s; prints a line a minute to stderr. */
async function soak(minutes: number): Promise<SoakResult> {
  const dir = mkdtempSync(join(tmpdir(), 'meshprof-bench-soak-'));
  try {
    return await withPrograms((programs) => {
      const spec = agentSpec(99, dir, 0, 0);
      return runSoak(programs, { command: spec.command, args: spec.args, env: spec.env, hz: 99 }, minutes, 50, dir, (p) => {
        process.stderr.write(`bench: peers soak: minute ${p.minute}: RSS ${p.rssMb.toFixed(1)} MB (anon ${p.anonMb.toFixed(1)}, file ${p.fileMb.toFixed(1)}), HWM ${p.hwmMb.toFixed(1)} MB, CPU ${p.cpuPct.toFixed(2)}%\n`);
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function formatSoak(s: SoakResult): string {
  const series = s.points.map((p) => `${p.minute}:${p.rssMb.toFixed(1)}`).join(' ');
  const anon = s.points.map((p) => `${p.minute}:${p.anonMb.toFixed(1)}`).join(' ');
  const signed = (mb: number): string => `${mb >= 0 ? '+' : ''}${mb.toFixed(1)}`;
  return `**Soak: agent at ${s.hz} Hz, ${s.churnPerSec} execs/s, ${s.minutes} min**\n\nRSS (MB) by minute: ${series}\n\n` +
    `of which anonymous (heaps, stacks): ${anon}\n\n` +
    `growth first → last minute: ${signed(s.growthMb)} MB (anonymous ${signed(s.anonGrowthMb)} MB); ` +
    `CPU per minute ${Math.min(...s.points.map((p) => p.cpuPct)).toFixed(2)}–${Math.max(...s.points.map((p) => p.cpuPct)).toFixed(2)}% of a core`;
}

function soakResult(s: SoakResult): BenchResult {
  return benchResult({
    name: 'peers-soak',
    unit: 'MB RSS',
    baselineLabel: 'agent RSS after the first minute',
    measuredLabel: `agent RSS after ${s.minutes} minutes at ${s.churnPerSec} execs/s`,
    samples: { baseline: [s.points[0]!.rssMb], measured: [s.points[s.points.length - 1]!.rssMb] },
    metrics: {
      growthMb: Number(s.growthMb.toFixed(1)),
      anonGrowthMb: Number(s.anonGrowthMb.toFixed(1)),
      rssMbByMinute: s.points.map((p) => p.rssMb.toFixed(1)).join(','),
      anonMbByMinute: s.points.map((p) => p.anonMb.toFixed(1)).join(','),
    },
    notes: [formatSoak(s).replace(/\*\*/g, '').replace(/\n+/g, '; ')],
  });
}

const RUNNER_FLAGS = (): PeersOptions => parsePeersOptions(process.argv.slice(2));

/** One runner benchmark per setting, plus start-up; selected only by name (`run.js peers`), as they take minutes. */
export const peersBenchmarks: readonly Benchmark[] = [
  ...SETTINGS.map((s): Benchmark => ({
    name: configName(s),
    description: `agent, record --all, perf record -g, bpftrace at ${s.hz} Hz${s.churnPerSec > 0 ? ` with ${s.churnPerSec} execs/s` : ''}: CPU, RSS, spinner work`,
    onlyWhenNamed: true,
    run: async () => {
      const c = await withPrograms((p) => runPeerConfig(p, s.hz, s.churnPerSec, RUNNER_FLAGS().quick));
      process.stderr.write(`${formatPeerConfig(c)}\n`);
      return peerConfigResult(c);
    },
  })),
  {
    name: 'peers:startup',
    description: 'meshprof --help and record\'s exec → "recording" line against node -e 0',
    onlyWhenNamed: true,
    run: async () => {
      const s = await startup(RUNNER_FLAGS().quick);
      process.stderr.write(`${formatStartup(s)}\n`);
      return startupResult(s);
    },
  },
];

/** The CLI's CPU and memory, bundled against unbundled; only when named. */
export const peersCliCost: Benchmark = {
  name: 'peers-cli-cost',
  description: '--help, record --all -d 5s and the agent\'s first 30 s: dist/bundle against dist/src (and --baseline=DIR)',
  onlyWhenNamed: true,
  run: async () => cliCostResult(await cliCost(RUNNER_FLAGS().quick, RUNNER_FLAGS().baseline, RUNNER_FLAGS().nodeFlags)),
};

/** The agent's memory soak (an hour, or --soak-minutes=N); only when named. */
export const peersSoak: Benchmark = {
  name: 'peers-soak',
  description: 'agent at 99 Hz with 50 execs/s for an hour (--soak-minutes=N): RSS every minute',
  onlyWhenNamed: true,
  run: async () => soakResult(await soak(RUNNER_FLAGS().soakMinutes)),
};

/** `node dist/bench/peers.js [--quick] [--soak [--soak-minutes N]]`: markdown on stdout, JSON in bench/results/peers-*.json. */
async function main(argv: readonly string[]): Promise<number> {
  const opts = parsePeersOptions(argv);
  const started = new Date();
  const host = { kernel: release(), arch: arch(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version, loadavgAtStart: loadavg() };
  const out: Record<string, unknown> = { startedAt: started.toISOString(), host, options: opts };
  try {
    if (opts.cliCost) {
      const r = await cliCost(opts.quick, opts.baseline, opts.nodeFlags);
      out.cliCost = r;
      console.log(formatCliCost(r));
    } else if (opts.startupOnly) {
      const st = await startup(opts.quick, opts.baseline);
      out.startup = st;
      console.log(formatStartup(st));
    } else if (opts.soak) {
      const s = await soak(opts.soakMinutes);
      out.soak = s;
      console.log(formatSoak(s));
    } else {
      const settings = opts.quick ? SETTINGS.filter((s) => s.hz === 99 && s.churnPerSec > 0) : SETTINGS.filter((s) => opts.hz.includes(s.hz));
      const configs: PeerConfigResult[] = [];
      out.configs = configs;
      for (const s of settings) {
        const c = await withPrograms((p) => runPeerConfig(p, s.hz, s.churnPerSec, opts.quick, opts.baseline, opts.tools));
        configs.push(c);
        console.log(`${formatPeerConfig(c)}\n`);
      }
      const st = await startup(opts.quick, opts.baseline);
      out.startup = st;
      console.log(formatStartup(st));
    }
  } catch (err) {
    // A tool failing in the last setting should not cost the settings already measured.
    out.error = (err as Error).message;
    console.error(`bench: peers: ${(err as Error).message}`);
  }
  out.loadavgAtEnd = loadavg();
  const dir = join(packageRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `peers-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nresults: ${file}`);
  return out.error === undefined ? 0 : 1;
}

if (isBenchScript(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  });
}
