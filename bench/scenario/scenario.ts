/**
 * One configuration of the scenario, measured: the mesh started in its CPU
 * budget, warmed up, then loaded with wrk while `meshprof record` takes
 * on-CPU and off-CPU profiles of the proxy and the service; the profiles
 * are kept beside the table with their flame graphs.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeHtml } from '../../src/encode/html.js';
import { packageRoot } from '../../src/kernel/package-root.js';
import type { Profile } from '../../src/profile/model.js';
import { parseProfileFile } from '../../src/receive/profile-file-input.js';
import {
  offCpuAccessLogWriteShare, offCpuAccessLogWriteTimeShare, onCpuAccessLogWriteShare, onCpuCallbackRunnerShare, onCpuGcShare, onCpuShares, tracingSamples,
} from './classify.js';
import type { CpuBudget } from './cpu-budget.js';
import { startMesh, type AccessLog } from './mesh.js';
import type { SpanReceiver } from './span-receiver.js';

const run = promisify(execFile);

/** One row of --out, in the shape (shares in percent). */
export interface ScenarioRow {
  name: string;
  tracingSampling: 1 | 0.01 | 0;
  accessLog: AccessLog;
  qps: number;
  /** gc: V8's collector, which tracing's spans feed but no stack charges to them. */
  onCpuShare: { tracing: number; accessLog: number; gc: number };
  /** accessLogWrite in switches, as the article counts; accessLogWriteTime in off-CPU time. */
  offCpuShare: { accessLogWrite: number; accessLogWriteTime: number };
  /** Tracing's CPU per request in microseconds: unlike its share, not squeezed as tracing grows. */
  tracingUsPerRequest: number;
}

/** A configuration; `sdk: false` starts the service without the OpenTelemetry SDK (its row says sampling 0). */
export type Configuration = Pick<ScenarioRow, 'name' | 'tracingSampling' | 'accessLog'> & { readonly sdk?: false };

/**
 * The configurations, in the article's order: tracing turned down, then the
 * access log. Sampling 0 keeps the SDK and its HTTP instrumentation running
 * (spans made, not recorded); one more row has no SDK at all, to show what
 * sampling 0 still costs.
 */
export const CONFIGURATIONS: readonly Configuration[] = [
  { name: 'tracing 100%, access log long', tracingSampling: 1, accessLog: 'default' },
  { name: 'tracing 1%, access log long', tracingSampling: 0.01, accessLog: 'default' },
  { name: 'tracing 0%, access log long', tracingSampling: 0, accessLog: 'default' },
  { name: 'tracing off (no SDK), access log long', tracingSampling: 0, accessLog: 'default', sdk: false },
  { name: 'tracing 0%, access log short', tracingSampling: 0, accessLog: 'short' },
  { name: 'tracing 0%, access log off', tracingSampling: 0, accessLog: 'off' },
];

/** What a run shares between configurations. */
export interface ScenarioContext {
  readonly dir: string;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly budget: CpuBudget;
  readonly receiver: SpanReceiver;
  readonly log: (line: string) => void;
}

/** A measured row, with what the table shows beside the fields. */
export interface Measured {
  readonly row: ScenarioRow;
  /** Requests per CPU-second the proxy and service used: QPS without the noise of a shared machine. */
  readonly requestsPerCpuSecond: number;
  /** The part of onCpuShare.accessLog spent in write(2); the rest is formatting. */
  readonly accessLogWriteCpu: number;
}

const slug = (name: string): string => name.replace(/%/g, 'pct').replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();

/** Starts `meshprof record` and resolves `started` once it is sampling. */
function startRecord(args: readonly string[]): { started: Promise<void>; stop(): Promise<string> } {
  const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'meshprof.js'), 'record', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let onStart: () => void = () => {};
  const started = new Promise<void>((r) => { onStart = r; });
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => { onStart(); resolve(code); }));
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); if (stderr.includes('recording ')) onStart(); });
  return {
    started,
    stop: async () => {
      child.kill('SIGINT');
      const code = await done;
      if (code !== 0) throw new Error(`meshprof record ${args.join(' ')} failed (${code}): ${stderr}`);
      return stderr.trim().split('\n').pop() ?? '';
    },
  };
}

/** wrk's requests per second and request count. */
async function wrk(port: number, seconds: number): Promise<{ qps: number; requests: number }> {
  const { stdout } = await run('wrk', ['-t1', '-c32', `-d${seconds}s`, `http://127.0.0.1:${port}/items`], { maxBuffer: 1 << 20 });
  const qps = /Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1];
  const requests = /(\d+) requests in/.exec(stdout)?.[1];
  if (qps === undefined || requests === undefined) throw new Error(`reading wrk's output: no request figures in ${stdout}`);
  return { qps: Number(qps), requests: Number(requests) };
}

/** CPU seconds a process (all its threads) has used: utime + stime of /proc/PID/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

/** The on-CPU sampling rate: a sample is 1/199 s of CPU. */
const FREQUENCY_HZ = 199;

const readProfile = (path: string): Profile => parseProfileFile(readFileSync(path), path);

/** Runs one configuration and returns its row; its profiles and flame graphs go to ctx.dir. */
export async function runConfiguration(config: Configuration, ctx: ScenarioContext): Promise<Measured> {
  const serviceScript = join(packageRoot(), 'dist', 'bench', 'scenario', 'traced-service.js');
  const shipperScript = join(packageRoot(), 'dist', 'bench', 'scenario', 'log-shipper.js');
  const mesh = await startMesh({ sampling: config.sdk === false ? 'off' : config.tracingSampling, accessLog: config.accessLog, otlpPort: ctx.receiver.port, budget: ctx.budget, serviceScript, shipperScript });
  const before = ctx.receiver.received();
  try {
    await wrk(mesh.proxyPort, ctx.warmupSeconds);
    const base = join(ctx.dir, slug(config.name));
    const pids = `${mesh.proxyPid},${mesh.servicePid}`;
    const oncpu = startRecord(['--pid', pids, '--duration', '10m', '--frequency', String(FREQUENCY_HZ), '-o', `${base}.oncpu.pb.gz`]);
    const offcpu = startRecord(['--pid', pids, '--duration', '10m', '--type', 'offcpu', '-o', `${base}.offcpu.pb.gz`]);
    await Promise.all([oncpu.started, offcpu.started]);
    const cpuBefore = cpuSeconds(mesh.proxyPid) + cpuSeconds(mesh.servicePid);
    const load = await wrk(mesh.proxyPort, ctx.seconds);
    const cpu = cpuSeconds(mesh.proxyPid) + cpuSeconds(mesh.servicePid) - cpuBefore;
    const summaries = await Promise.all([oncpu.stop(), offcpu.stop()]);
    const on = readProfile(`${base}.oncpu.pb.gz`);
    const off = readProfile(`${base}.offcpu.pb.gz`);
    writeFileSync(`${base}.oncpu.html`, encodeHtml(on, { title: `${config.name}: on-CPU` }));
    writeFileSync(`${base}.offcpu.html`, encodeHtml(off, { title: `${config.name}: off-CPU` }));
    const row: ScenarioRow = {
      name: config.name, tracingSampling: config.tracingSampling, accessLog: config.accessLog, qps: Math.round(load.qps),
      onCpuShare: { ...onCpuShares(on), gc: onCpuGcShare(on) },
      offCpuShare: { accessLogWrite: offCpuAccessLogWriteShare(off), accessLogWriteTime: offCpuAccessLogWriteTimeShare(off) },
      // The recordings span the wrk run, so its requests are theirs.
      tracingUsPerRequest: load.requests > 0 ? Math.round((tracingSamples(on) / FREQUENCY_HZ / load.requests) * 1e6) : 0,
    };
    const requestsPerCpuSecond = cpu > 0 ? Math.round(load.requests / cpu) : 0;
    const accessLogWriteCpu = onCpuAccessLogWriteShare(on);
    const spans = ctx.receiver.received();
    ctx.log(`${config.name}: ${row.qps} req/s, ${requestsPerCpuSecond} req per CPU-second (${cpu.toFixed(1)} CPU-s), ` +
      `tracing ${row.onCpuShare.tracing.toFixed(1)}% (${row.tracingUsPerRequest} us/request; ` +
      `${onCpuCallbackRunnerShare(on).toFixed(1)}% named startActiveSpan/with, maybe the app's callback inlined), GC ${row.onCpuShare.gc.toFixed(1)}%, access log ${row.onCpuShare.accessLog.toFixed(1)}% of CPU (write(2) ${accessLogWriteCpu.toFixed(1)}%), ` +
      `access-log writes ${row.offCpuShare.accessLogWrite.toFixed(1)}% of the proxy's switches (${row.offCpuShare.accessLogWriteTime.toFixed(1)}% of its off-CPU time); ` +
      `${spans.requests - before.requests} OTLP exports (${((spans.bytes - before.bytes) / 1e6).toFixed(1)} MB), access log ${(mesh.accessLogBytes() / 1e6).toFixed(1)} MB; ` +
      `${summaries.map((s) => s.replace(/^wrote \S+ /, '')).join(' / ')}`);
    return { row, requestsPerCpuSecond, accessLogWriteCpu };
  } finally {
    await mesh.stop();
  }
}

/** The seed's table: configuration, QPS, CPU shares, off-CPU shares; and what a request costs. */
export function formatTable(measured: readonly Measured[]): string {
  const head = ['configuration', 'QPS', 'req/CPU-s', 'tracing CPU %', 'tracing us/req', 'GC CPU %', 'access log CPU %', 'of which write(2)',
    'access-log writes % of proxy switches', '% of proxy off-CPU time'];
  const body = measured.map(({ row: r, requestsPerCpuSecond, accessLogWriteCpu }) => [r.name, String(r.qps), String(requestsPerCpuSecond),
    r.onCpuShare.tracing.toFixed(1), String(r.tracingUsPerRequest), r.onCpuShare.gc.toFixed(1), r.onCpuShare.accessLog.toFixed(1), accessLogWriteCpu.toFixed(1),
    r.offCpuShare.accessLogWrite.toFixed(1), r.offCpuShare.accessLogWriteTime.toFixed(1)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}
