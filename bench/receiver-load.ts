/**
 * Benchmark (issue 17): the receiver offered 1,000 OTLP/gRPC requests a
 * second for 30 s (BENCH_RECEIVER_SECONDS to shorten; 50 samples, ~4 KB
 * each), against a bare grpc-js ProfilesService (reflective decode only)
 * offered the same load in the same run. The ratio is CPU per request
 * answered OK; the metrics add what each side answered each second (OK,
 * refused with RESOURCE_EXHAUSTED, failed, held back by the generator), CPU
 * per answer of any kind, and the process's RSS every 5 s, its peak and its
 * growth over the last 20 s (bounded: it should not climb).
 * BENCH_RECEIVER_CPU_PROF=<dir> writes a --cpu-prof of every child.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { encodeOtlpBinary } from '../src/encode/otlp.js';
import type { Frame, Profile, ProfileSample } from '../src/profile/model.js';
import { OTLP_PROFILES_EXPORT_PATH } from '../src/receive/index.js';
import { benchResult, benchRuns, isBenchScript, runBenchScript, type Benchmark, type BenchResult } from './harness.js';

const RATE = 1000;
const SECONDS = Number(process.env.BENCH_RECEIVER_SECONDS ?? 30);
const SAMPLES = 50;
/** Calls in flight at most: past it the generator holds back (counted as `held`) rather than queue without bound in the client. */
const MAX_IN_FLIGHT = 256;

/** One producer's request: this process's pid, SAMPLES stacks of 12 frames. */
function producerRequest(): Buffer {
  const frame = (name: string, i: number): Frame => ({ functionName: name, kind: 'native', address: BigInt(0x400000 + i * 64), mapping: undefined, symbolized: true });
  const samples: ProfileSample[] = Array.from({ length: SAMPLES }, (_, s) => ({
    pid: process.pid, tid: process.pid + (s % 4), threadName: `worker-${s % 4}`,
    frames: Array.from({ length: 12 }, (_, d) => frame(`fn_${(s * 7 + d) % 60}`, (s * 7 + d) % 60)),
    values: [s + 1, (s + 1) * 10_000_000],
  }));
  const profile: Profile = {
    sampleTypes: [{ type: 'samples', unit: 'count' }, { type: 'cpu', unit: 'nanoseconds' }],
    periodType: { type: 'cpu', unit: 'nanoseconds' }, period: 10_000_000,
    startTimeNs: BigInt(Date.now()) * 1_000_000n, durationNs: 1_000_000_000n,
    samples, processes: new Map([[process.pid, { pid: process.pid, name: 'producer', attributes: { 'service.name': 'bench-producer' } }]]), drops: {},
  };
  return Buffer.from(encodeOtlpBinary([profile], { hostName: 'bench' }));
}

interface Figures { rss: number; heapUsed: number; cpuMs: number; samples: number; dropped: number; rejected: Record<string, number> }

/** Answers the generator got in one second of the run. */
interface Second { ok: number; rejected: number; failed: number; held: number }

interface SideRun {
  readonly sent: number;
  readonly held: number;
  readonly ok: number;
  /** Warm-up requests answered OK (their samples are forwarded too). */
  readonly warmOk: number;
  /** Answered RESOURCE_EXHAUSTED or UNAVAILABLE: the side shed load and said so. */
  readonly rejected: number;
  /** Any other error, deadlines included. */
  readonly failed: number;
  readonly perSecond: readonly Second[];
  readonly cpuMsPerKRequests: number;
  /** CPU per request answered, whether OK or rejected. */
  readonly cpuMsPerKAnswered: number;
  readonly rssAtStartMiB: number;
  readonly rssPeakMiB: number;
  readonly rssGrowthLast20sMiB: number;
  /** RSS every 5 s of the run. */
  readonly rssEvery5sMiB: readonly number[];
  readonly heapPeakMiB: number;
  readonly forwardedSamples: number;
  readonly exportDropped: number;
  readonly receiverRejected: Record<string, number>;
}

const MiB = 2 ** 20;
const WARMUP = 200;

/** A target child: `ready <port>`, then a figures line every 500 ms until its stdin closes. */
interface Target {
  readonly port: number;
  readonly figures: { at: number; f: Figures }[];
  stop(): Promise<void>;
}

async function startTarget(args: readonly string[]): Promise<Target> {
  const script = join(fileURLToPath(new URL('.', import.meta.url)), 'receiver-target.js');
  const profile = process.env.BENCH_RECEIVER_CPU_PROF;
  const child = spawn(process.execPath, [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const figures: { at: number; f: Figures }[] = [];
  let port = 0;
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('ready ')) { port = Number(line.slice(6)); resolve(); } else if (line.startsWith('{')) figures.push({ at: Date.now(), f: JSON.parse(line) as Figures });
      }
    });
    child.on('exit', (code) => reject(new Error(`receiver-target ${args.join(' ')} exited with ${code}`)));
  });
  return {
    port,
    figures,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      await exited;
    },
  };
}

/** Starts the side (the receiver with its bare backend in a process of its own), offers RATE requests/s for SECONDS, and reads its figures. */
async function runSide(mode: 'baseline' | 'receiver', body: Buffer): Promise<SideRun> {
  const backend = mode === 'receiver' ? await startTarget(['baseline']) : undefined;
  const target = await startTarget(backend ? ['receiver', String(backend.port)] : ['baseline']);
  const { figures } = target;
  const client = new grpc.Client(`127.0.0.1:${target.port}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', 'Bearer bench');
  let sent = 0;
  let inFlight = 0;
  let t0 = 0;
  const totals = { ok: 0, rejected: 0, failed: 0, held: 0 };
  const perSecond: Second[] = [];
  const second = (): Second => {
    const i = t0 === 0 ? -1 : Math.floor((Date.now() - t0) / 1000);
    if (i < 0) return { ok: 0, rejected: 0, failed: 0, held: 0 };
    while (perSecond.length <= i) perSecond.push({ ok: 0, rejected: 0, failed: 0, held: 0 });
    return perSecond[i]!;
  };
  const errors = new Map<number, number>();
  const send = (): void => {
    sent++;
    inFlight++;
    client.makeUnaryRequest(OTLP_PROFILES_EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, body, metadata, { deadline: Date.now() + 10_000 }, (err) => {
      inFlight--;
      const s = second();
      if (!err) { totals.ok++; s.ok++; return; }
      if (!errors.has(err.code)) process.stderr.write(`receiver-load: ${mode}: first ${grpc.status[err.code]}: ${err.details}\n`);
      errors.set(err.code, (errors.get(err.code) ?? 0) + 1);
      if (err.code === grpc.status.RESOURCE_EXHAUSTED || err.code === grpc.status.UNAVAILABLE) { totals.rejected++; s.rejected++; } else { totals.failed++; s.failed++; }
    });
  };
  // Warm up (JIT, connections, the enrichment cache) before the figures count.
  for (let i = 0; i < WARMUP; i++) send();
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 10));
  const startFigures = figures.at(-1)?.f;
  // Forwarded samples count the warm-up's accepted requests too.
  const warmOk = totals.ok;
  Object.assign(totals, { ok: 0, rejected: 0, failed: 0, held: 0 });
  t0 = Date.now();
  const warmSent = sent;
  // Paced by the clock, not the timer: a late tick sends what it owes.
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(RATE * SECONDS, Math.floor(((Date.now() - t0) / 1000) * RATE)) - (sent - warmSent) - totals.held;
      for (let i = 0; i < due; i++) {
        if (inFlight < MAX_IN_FLIGHT) send();
        else { totals.held++; second().held++; }
      }
      if (sent - warmSent + totals.held >= RATE * SECONDS) { clearInterval(tick); resolve(); }
    }, 5);
  });
  const tEnd = Date.now();
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
  // The backend's count settles once the receiver's last forward has gone out.
  await new Promise((r) => setTimeout(r, 1500));
  client.close();
  if (errors.size > 0) process.stderr.write(`receiver-load: ${mode}: errors by status ${JSON.stringify(Object.fromEntries([...errors].map(([c, n]) => [grpc.status[c], n])))}\n`);
  await target.stop();
  const sinkFigures = backend?.figures ?? figures;
  await backend?.stop();
  const during = figures.filter((x) => x.at >= t0 && x.at <= tEnd);
  const last = figures.at(-1)!.f;
  const at = (s: number): Figures => (during.find((x) => x.at >= t0 + s * 1000) ?? during.at(-1) ?? figures.at(-1)!).f;
  const start = startFigures ?? during[0]!.f;
  const cpuMs = last.cpuMs - start.cpuMs;
  return {
    sent: sent - warmSent,
    held: totals.held,
    ok: totals.ok,
    warmOk,
    rejected: totals.rejected,
    failed: totals.failed,
    perSecond: perSecond.slice(0, SECONDS),
    // Per request answered OK: a saturated side is not made cheap by the requests it never took.
    cpuMsPerKRequests: (cpuMs / Math.max(1, totals.ok)) * 1000,
    cpuMsPerKAnswered: (cpuMs / Math.max(1, totals.ok + totals.rejected)) * 1000,
    rssAtStartMiB: start.rss / MiB,
    rssPeakMiB: Math.max(...during.map((x) => x.f.rss)) / MiB,
    rssGrowthLast20sMiB: (at(SECONDS).rss - at(Math.max(0, SECONDS - 20)).rss) / MiB,
    rssEvery5sMiB: Array.from({ length: Math.floor(SECONDS / 5) + 1 }, (_, i) => Math.round(at(i * 5).rss / MiB)),
    heapPeakMiB: Math.max(...during.map((x) => x.f.heapUsed)) / MiB,
    forwardedSamples: sinkFigures.at(-1)!.f.samples,
    exportDropped: last.dropped,
    receiverRejected: last.rejected,
  };
}

/** `ok/rejected/failed/held` of each second, for the notes. */
const secondsLine = (r: SideRun): string => r.perSecond.map((s) => `${s.ok}/${s.rejected}/${s.failed}/${s.held}`).join(' ');

async function run(): Promise<BenchResult> {
  const body = producerRequest();
  const runs = benchRuns(1);
  const baseline: SideRun[] = [];
  const measured: SideRun[] = [];
  for (let i = 0; i < runs; i++) {
    baseline.push(await runSide('baseline', body));
    measured.push(await runSide('receiver', body));
  }
  const m = measured.at(-1)!;
  const b = baseline.at(-1)!;
  const round = (x: number): number => Math.round(x * 10) / 10;
  return benchResult({
    name: 'receiver-load',
    unit: 'CPU ms per 1000 requests answered OK',
    baselineLabel: 'bare grpc-js ProfilesService (decode only)',
    measuredLabel: 'meshprof receiver: validate, enrich, forward over OTLP to a bare service in another process',
    samples: { baseline: baseline.map((s) => s.cpuMsPerKRequests), measured: measured.map((s) => s.cpuMsPerKRequests) },
    metrics: {
      requestBytes: body.length,
      offeredRequestsPerSecond: RATE,
      seconds: SECONDS,
      loadAverage1m: round(loadavg()[0]!),
      receiverRequestsOk: m.ok,
      receiverOkPerSecond: Math.round(m.ok / SECONDS),
      receiverRejected: m.rejected,
      receiverRejectedPerSecond: Math.round(m.rejected / SECONDS),
      receiverFailed: m.failed,
      receiverHeld: m.held,
      receiverCpuMsPerKAnswered: round(m.cpuMsPerKAnswered),
      receiverRejectedByReason: JSON.stringify(m.receiverRejected),
      forwardedSamples: m.forwardedSamples,
      expectedForwardedSamples: (m.ok + m.warmOk) * SAMPLES * 2,
      exportDropped: m.exportDropped,
      receiverRssAtStartMiB: round(m.rssAtStartMiB),
      receiverRssPeakMiB: round(m.rssPeakMiB),
      receiverRssGrowthLast20sMiB: round(m.rssGrowthLast20sMiB),
      receiverRssEvery5sMiB: m.rssEvery5sMiB.join(' '),
      receiverHeapPeakMiB: round(m.heapPeakMiB),
      receiverSeconds: secondsLine(m),
      baselineRequestsOk: b.ok,
      baselineOkPerSecond: Math.round(b.ok / SECONDS),
      baselineRejected: b.rejected,
      baselineFailed: b.failed,
      baselineHeld: b.held,
      baselineCpuMsPerKAnswered: round(b.cpuMsPerKAnswered),
      baselineRssAtStartMiB: round(b.rssAtStartMiB),
      baselineRssPeakMiB: round(b.rssPeakMiB),
      baselineRssGrowthLast20sMiB: round(b.rssGrowthLast20sMiB),
      baselineRssEvery5sMiB: b.rssEvery5sMiB.join(' '),
      baselineHeapPeakMiB: round(b.heapPeakMiB),
      baselineSeconds: secondsLine(b),
    },
    notes: [
      'each side runs in a child process of its own (the receiver\'s backend in a third); the load generator is this process',
      `at most ${MAX_IN_FLIGHT} calls in flight: what a saturated side could not take is held back (Held), not queued`,
      'Seconds: ok/rejected/failed/held per second of the run; rejected = RESOURCE_EXHAUSTED or UNAVAILABLE answers',
      'forwarded samples count both OTLP profiles (samples and cpu) of each request',
    ],
  });
}

/** The benchmark, for run.ts. */
export const receiverLoad: Benchmark = {
  name: 'receiver-load',
  description: `receiver at ${RATE} OTLP requests/s for ${SECONDS}s vs a bare grpc-js service: CPU per request, RSS`,
  run,
};

if (isBenchScript(import.meta.url)) runBenchScript(receiverLoad);
