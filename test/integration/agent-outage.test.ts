/**
 * Issue 6's outage criterion, shortened to fit a test: the OTLP backend is
 * stopped (nothing listens on its port) or answers UNAVAILABLE for 12 s
 * (MESHPROF_TEST_OUTAGE_MS=60000 runs the issue's full minute; raise the
 * test timeout then), then starts or recovers.
 * The queue holds the oldest requests of the outage up to its bound, those
 * arrive after the recovery, the overflow is counted as dropped in the log
 * and in /metrics, sent + dropped equals everything collected, and the
 * agent's RSS does not keep growing once the queue is full.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES_EXPORT_METHOD } from '../../src/export/otlp-grpc-transport.js';
import { metricValue } from '../helpers/metric-value.js';
import { startAgent } from '../helpers/start-agent.js';
import { freePort } from '../helpers/start-fake-oap.js';
import { resolveRequest } from '../helpers/resolve-request.js';
import { startGrpcServer } from '../helpers/test-servers.js';
import { compileFixture } from '../helpers/compile-fixture.js';

/** A ProfilesService that accepts everything, on a given port (the stopped backend coming back). */
async function startProfilesServerOn(port: number): Promise<{ requests: { bytes: Buffer }[]; close(): Promise<void> }> {
  const server = new grpc.Server();
  const requests: { bytes: Buffer }[] = [];
  const pass = (b: Buffer): Buffer => b;
  server.addService(
    { Export: { path: PROFILES_EXPORT_METHOD, requestStream: false, responseStream: false, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass } },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        requests.push({ bytes: call.request });
        callback(null, Buffer.alloc(0)); // an empty ExportProfilesServiceResponse
      },
    },
  );
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return { requests, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

const outageMs = Number(process.env.MESHPROF_TEST_OUTAGE_MS ?? 12_000);
/** The outage also lasts until this many intervals were collected, so the queue overflows even on a slow machine. */
const outageIntervals = 8;
const queueBound = 3;

describe('meshprof agent through a backend outage (real BPF, as root)', () => {
  let fixture: ChildProcess;

  beforeAll(() => {
    const split = compileFixture('split.c', { name: 'split-O0', flags: ['-O0', '-fno-omit-frame-pointer', '-g'] });
    fixture = spawn(split, ['600'], { stdio: 'ignore' });
  });
  afterAll(() => { fixture.kill(); });

  it.each(['stopped', 'unavailable'] as const)('backend %s: delivers the outage window up to the queue bound, counts the rest as dropped, keeps memory bounded', async (mode) => {
    let down = true;
    const accepted: { bytes: Buffer }[] = [];
    const port = await freePort();
    // 'unavailable' answers every call with UNAVAILABLE; 'stopped' has nothing listening until the outage ends.
    const failing = mode === 'unavailable' ? await startGrpcServer(() => (down ? { code: grpc.status.UNAVAILABLE, details: 'backend is down' } : {})) : undefined;
    let server: { requests: { bytes: Buffer }[]; close(): Promise<void> } | undefined = failing;
    const address = failing?.address ?? `127.0.0.1:${port}`;
    const metricsPort = await freePort();
    const agent = startAgent({
      MESHPROF_INTERVAL: '1s',
      MESHPROF_OUTPUT_DIR: 'none',
      MESHPROF_METRICS_ADDR: `127.0.0.1:${metricsPort}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://${address}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      MESHPROF_EXPORT_QUEUE_MAX_REQUESTS: String(queueBound),
      MESHPROF_EXPORT_QUEUE_MAX_BYTES: '8MiB',
      MESHPROF_EXPORT_RETRY_INITIAL_BACKOFF: '100ms',
      MESHPROF_EXPORT_RETRY_MAX_BACKOFF: '500ms',
      // Only the fixture: the memory check is about the export queue, not the
      // symbol and unwind tables of whatever other test files start meanwhile.
      MESHPROF_TARGET_PIDS: String(fixture.pid),
    });
    const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    try {
      await agent.waitFor('agent started');
      const agentPid = agent.child.pid!;
      const outageStart = Date.now();
      const rss: number[] = [];
      const collectedSoFar = (): number => agent.logs().filter((l) => l.msg === 'collected interval').length;
      while (Date.now() - outageStart < outageMs || (collectedSoFar() < outageIntervals && Date.now() - outageStart < 40_000)) {
        rss.push(rssKiB(agentPid));
        await sleep(250);
      }
      const outageEndNs = BigInt(Date.now()) * 1_000_000n;
      const outageTook = Date.now() - outageStart;
      const failedDuringOutage = metricValue(await metrics(), 'meshprof_export_retries_total', { exporter: 'otlp-grpc' });
      down = false;
      server ??= await startProfilesServerOn(port);
      const recoveredAt = server.requests.length;

      // Wait until everything collected is accounted for: sent + dropped = collected stacks.
      let text = '';
      let sent = 0;
      let dropped = 0;
      let collected = 0;
      // grpc-js waits out its own reconnect backoff (1 s growing 1.6x) before it dials a stopped backend again.
      const recoveredAtMs = Date.now();
      let firstAcceptedMs: number | undefined;
      const deadline = Date.now() + 20_000 + outageTook / 2;
      do {
        await sleep(300);
        text = await metrics();
        sent = metricValue(text, 'meshprof_export_sent_records_total', { exporter: 'otlp-grpc' });
        dropped = metricValue(text, 'meshprof_export_dropped_records_total', { exporter: 'otlp-grpc' });
        collected = metricValue(text, 'meshprof_stacks_total', { kind: 'oncpu' });
        if (firstAcceptedMs === undefined && server.requests.length > recoveredAt) firstAcceptedMs = Date.now();
      } while ((sent + dropped !== collected || sent === 0) && Date.now() < deadline);
      expect(sent + dropped).toBe(collected);

      for (const r of server.requests.slice(recoveredAt)) accepted.push({ bytes: r.bytes });
      // An interval belongs to the outage when it ended before the backend came back.
      const ends = accepted.map((r) => {
        const p = resolveRequest(r.bytes).profiles[0];
        return p === undefined ? 0n : p.timeUnixNano + p.durationNano;
      });
      const fromOutage = ends.filter((e) => e <= outageEndNs).length;
      const queueFull = metricValue(text, 'meshprof_export_dropped_records_total', { exporter: 'otlp-grpc', reason: 'queue_full' });
      const droppedTotal = metricValue(text, 'meshprof_dropped_total', { stage: 'export', reason: 'queue_full' });
      // The first third warms up (BPF maps, symbol caches of the host's processes); by then the queue is full.
      const third = Math.floor(rss.length / 3);
      const middleMax = Math.max(...rss.slice(third, 2 * third));
      const lastMax = Math.max(...rss.slice(2 * third));
      const growth = lastMax - middleMax;
      const intervals = agent.logs().filter((l) => l.msg === 'collected interval').length;
      console.log(
        `${intervals} intervals collected, ${accepted.length} requests accepted; backend ${mode}, outage ${outageTook} ms: ${failedDuringOutage} retries, ${fromOutage} outage intervals delivered after recovery, the first ${(firstAcceptedMs ?? NaN) - recoveredAtMs} ms after it ` +
          `(queue bound ${queueBound} + 1 in flight), sent ${sent} + dropped ${dropped} (queue_full ${queueFull}) = collected ${collected} stacks; ` +
          `RSS KiB: start ${rss[0]}, max of middle third ${middleMax}, max of last third ${lastMax}`,
      );
      expect(failedDuringOutage).toBeGreaterThan(3);
      // The oldest outage requests (queued + the one in flight) arrive; newer ones were refused.
      expect(fromOutage).toBeGreaterThanOrEqual(queueBound);
      expect(fromOutage).toBeLessThanOrEqual(queueBound + 1);
      expect(queueFull).toBeGreaterThan(0);
      expect(droppedTotal).toBe(queueFull);
      expect(agent.logs().some((l) => l.reason === 'queue_full' && String(l.msg).includes('dropped'))).toBe(true);
      expect(agent.logs().some((l) => l.msg === 'drops so far' && JSON.stringify(l.exportDropped).includes('queue_full'))).toBe(true);
      // One line when the backend started failing and one when it came back, not one per retry.
      const health = agent.logs().map((l) => String(l.msg)).filter((m) => /^exporter otlp-grpc (is failing|recovered)/.test(m));
      console.log(`backend ${mode}: health lines: ${JSON.stringify(health)}`);
      expect(health).toHaveLength(2);
      expect(health[0]).toMatch(/^exporter otlp-grpc is failing: retrying/);
      expect(health[1]).toMatch(/^exporter otlp-grpc recovered after \d+ failed attempts$/);
      // Bounded: the queue (8 MiB at most) is full within the first third, so the last third must
      // not keep growing. The exact proof of the bound is the accounting above; this is a sanity
      // check whose allowance covers GC timing and the symbols of programs other jobs exec meanwhile
      // (exec tracking still prepares them; a control agent without exporters moves as much).
      expect(growth).toBeLessThan(64 * 1024);
      expect(lastMax).toBeLessThan(1024 * 1024);
    } finally {
      expect(await agent.stop(), agent.output().slice(-3000)).toBe(0);
      await server?.close();
    }
  });

  it('on SIGTERM with the backend down, stops within MESHPROF_SHUTDOWN_TIMEOUT and counts what was queued as dropped', async () => {
    const port = await freePort();
    const agent = startAgent({
      MESHPROF_INTERVAL: '1s',
      MESHPROF_OUTPUT_DIR: 'none',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      MESHPROF_SHUTDOWN_TIMEOUT: '2s',
      MESHPROF_EXPORT_RETRY_INITIAL_BACKOFF: '100ms',
      MESHPROF_EXPORT_RETRY_MAX_BACKOFF: '300ms',
    });
    await agent.waitFor('agent started');
    await agent.waitFor('collected interval', 30_000, 2);
    const t0 = Date.now();
    expect(await agent.stop(), agent.output().slice(-3000)).toBe(0);
    const took = Date.now() - t0;
    const stopped = agent.logs().find((l) => l.msg === 'agent stopped') as { exportDropped?: Record<string, Record<string, number>> } | undefined;
    const shutdownDrops = stopped?.exportDropped?.['otlp-grpc']?.shutdown ?? 0;
    console.log(`SIGTERM with the backend down: exited after ${took} ms (deadline 2 s), ${shutdownDrops} stacks counted as dropped (shutdown)`);
    // The deadline, plus the last collection and the process exit.
    expect(took).toBeLessThan(2000 + 4000);
    expect(shutdownDrops).toBeGreaterThan(0);
  });
});
