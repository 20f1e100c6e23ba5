/**
 * Benchmark (issue 17): the receiver offered 1,000 OTLP/gRPC requests a
 * second for 30 s (50 samples each), against a bare grpc-js ProfilesService
 * offered the same load in the same run. Reports CPU per request answered
 * (the ratio), the rate each side kept up,
 * and the receiver process's memory: RSS when the load starts, its peak,
 * and how much it grew over the last 20 s (bounded: it should not climb).
 */
import { spawn } from 'node:child_process';
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

interface Figures { rss: number; heapUsed: number; cpuMs: number; samples: number; dropped: number }

interface SideRun {
  readonly sent: number;
  readonly held: number;
  readonly ok: number;
  readonly failed: number;
  readonly cpuMsPerKRequests: number;
  readonly rssAtStartMiB: number;
  readonly rssPeakMiB: number;
  readonly rssGrowthLast20sMiB: number;
  readonly heapPeakMiB: number;
  readonly forwardedSamples: number;
  readonly exportDropped: number;
}

const MiB = 2 ** 20;

/** Starts the target, offers RATE requests/s for SECONDS, and reads its figures. */
async function runSide(mode: 'baseline' | 'receiver', body: Buffer): Promise<SideRun> {
  const target = join(fileURLToPath(new URL('.', import.meta.url)), 'receiver-target.js');
  const child = spawn(process.execPath, [...(process.env.BENCH_RECEIVER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_RECEIVER_CPU_PROF}`] : []), target, mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  const figures: { at: number; f: Figures }[] = [];
  let port = 0;
  const ready = new Promise<void>((resolve, reject) => {
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
    child.on('exit', (code) => reject(new Error(`receiver-target ${mode} exited with ${code}`)));
  });
  await ready;
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', 'Bearer bench');
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let inFlight = 0;
  let held = 0;
  const errors = new Map<number, number>();
  const send = (): void => {
    sent++;
    inFlight++;
    client.makeUnaryRequest(OTLP_PROFILES_EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, body, metadata, { deadline: Date.now() + 10_000 }, (err) => {
      inFlight--;
      if (err) { failed++; if (!errors.has(err.code)) process.stderr.write(`receiver-load: ${mode}: first ${grpc.status[err.code]}: ${err.details}\n`); errors.set(err.code, (errors.get(err.code) ?? 0) + 1); }
      else ok++;
    });
  };
  // Warm up (JIT, connections, the enrichment cache) before the figures count.
  for (let i = 0; i < 200; i++) send();
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 10));
  const startFigures = figures.at(-1)?.f;
  const t0 = Date.now();
  const warmSent = sent;
  // Paced by the clock, not the timer: a late tick sends what it owes.
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(RATE * SECONDS, Math.floor(((Date.now() - t0) / 1000) * RATE)) - (sent - warmSent) - held;
      for (let i = 0; i < due; i++) {
        if (inFlight < MAX_IN_FLIGHT) send();
        else held++;
      }
      if (sent - warmSent + held >= RATE * SECONDS) { clearInterval(tick); resolve(); }
    }, 5);
  });
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 1500));
  client.close();
  child.stdin.end();
  if (errors.size > 0) process.stderr.write(`receiver-load: ${mode}: errors by status ${JSON.stringify(Object.fromEntries([...errors].map(([c, n]) => [grpc.status[c], n])))}\n`);
  await new Promise((r) => child.once('exit', r));
  const during = figures.filter((x) => x.at >= t0);
  const last = figures.at(-1)!.f;
  const at = (s: number): Figures => (during.find((x) => x.at >= t0 + s * 1000) ?? figures.at(-1)!).f;
  const start = startFigures ?? during[0]!.f;
  return {
    sent: sent - warmSent,
    held,
    ok: ok - 200,
    failed,
    // Per request answered: a saturated side is not made cheap by the requests it never took.
    cpuMsPerKRequests: ((last.cpuMs - start.cpuMs) / Math.max(1, ok - 200)) * 1000,
    rssAtStartMiB: start.rss / MiB,
    rssPeakMiB: Math.max(...during.map((x) => x.f.rss)) / MiB,
    rssGrowthLast20sMiB: (at(SECONDS).rss - at(Math.max(0, SECONDS - 20)).rss) / MiB,
    heapPeakMiB: Math.max(...during.map((x) => x.f.heapUsed)) / MiB,
    forwardedSamples: last.samples,
    exportDropped: last.dropped,
  };
}

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
    unit: 'CPU ms per 1000 requests',
    baselineLabel: 'bare grpc-js ProfilesService (decode only)',
    measuredLabel: 'meshprof receiver: validate, enrich, forward over OTLP to the same service',
    samples: { baseline: baseline.map((s) => s.cpuMsPerKRequests), measured: measured.map((s) => s.cpuMsPerKRequests) },
    metrics: {
      requestBytes: body.length,
      offeredRequestsPerSecond: RATE,
      seconds: SECONDS,
      receiverRequestsOk: m.ok,
      receiverRequestsPerSecond: Math.round(m.ok / SECONDS),
      receiverRequestsHeld: m.held,
      receiverRequestsFailed: m.failed,
      forwardedSamples: m.forwardedSamples,
      expectedForwardedSamples: (m.ok + 200) * SAMPLES * 2,
      exportDropped: m.exportDropped,
      receiverRssAtStartMiB: round(m.rssAtStartMiB),
      receiverRssPeakMiB: round(m.rssPeakMiB),
      receiverRssGrowthLast20sMiB: round(m.rssGrowthLast20sMiB),
      receiverHeapPeakMiB: round(m.heapPeakMiB),
      baselineRssAtStartMiB: round(b.rssAtStartMiB),
      baselineRssPeakMiB: round(b.rssPeakMiB),
      baselineRssGrowthLast20sMiB: round(b.rssGrowthLast20sMiB),
      baselineHeapPeakMiB: round(b.heapPeakMiB),
      baselineRequestsOk: b.ok,
      baselineRequestsPerSecond: Math.round(b.ok / SECONDS),
      baselineRequestsHeld: b.held,
      baselineRequestsFailed: b.failed,
    },
    notes: [
      'both sides run in a child process of their own; the load generator is this process',
      `at most ${MAX_IN_FLIGHT} calls in flight: what a saturated side could not take is held back (RequestsHeld), not queued`,
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
