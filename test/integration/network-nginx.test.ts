/**
 * `meshprof record --type network` against Debian's nginx (one worker)
 * proxying to a Node backend, on loopback, driven by wrk and curl: request
 * counts by status against what the clients got, HTTPS through libssl's
 * uprobes, a 150 ms upstream in the slow buckets and list, and bad input
 * (garbage bytes, a server killed mid-request) counted without a crash.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { fromBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportMetricsServiceRequestSchema } from '../../src/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import type { KeyValue } from '../../src/gen/opentelemetry/proto/common/v1/common_pb.js';
import type { NetworkView } from '../../src/encode/network-view.js';
import { bpfSkipReason, requirePrerequisites, toolSkipReason } from '../helpers/bpf-prerequisites.js';
import { recordNetwork } from '../helpers/record-network.js';
import { freePort, startNginxStack, type NginxStack } from '../helpers/start-nginx-stack.js';

const run = promisify(execFile);
const skip = bpfSkipReason() ?? toolSkipReason(['/usr/sbin/nginx', '/usr/bin/wrk', '/usr/bin/curl', '/usr/bin/openssl'], 'needs nginx, wrk, curl and openssl (apt)');


async function curl(url: string, extra: readonly string[] = []): Promise<number> {
  const { stdout } = await run('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', ...extra, url]);
  return Number(stdout);
}

type Attrs = Record<string, unknown>;
function attrs(kvs: readonly KeyValue[]): Attrs {
  return Object.fromEntries(kvs.map((kv) => [kv.key, kv.value?.value.value]));
}

interface Point { pid: bigint; metric: string; attrs: Attrs; count: number; buckets: number[]; bounds: number[] }

function histogramPoints(file: string): Point[] {
  const req = fromBinary(ExportMetricsServiceRequestSchema, readFileSync(file));
  const out: Point[] = [];
  for (const rm of req.resourceMetrics) {
    const pid = attrs(rm.resource?.attributes ?? [])['process.pid'] as bigint;
    for (const m of rm.scopeMetrics.flatMap((s) => s.metrics)) {
      if (m.data.case !== 'histogram') continue;
      for (const p of m.data.value.dataPoints) {
        out.push({ pid, metric: m.name, attrs: attrs(p.attributes), count: Number(p.count), buckets: p.bucketCounts.map(Number), bounds: p.explicitBounds });
      }
    }
  }
  return out;
}

function countOf(points: readonly Point[], pid: number, metric: string, match: Attrs): number {
  return points.filter((p) => p.pid === BigInt(pid) && p.metric === metric && Object.entries(match).every(([k, v]) => p.attrs[k] === v))
    .reduce((n, p) => n + p.count, 0);
}

describe('record --type network on nginx and a Node backend', () => {
  beforeAll(() => requirePrerequisites(skip));
  let stack: NginxStack;
  let dir = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshprof-net-test-'));
    stack = await startNginxStack();
  });
  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts requests by status as the clients saw them, HTTPS included, and puts a 150 ms upstream in the slow buckets', async () => {
    const out = join(dir, 'net.otlp.pb');
    let wrkRequests = 0;
    const sent = { notFound: 0, https200: 0, httpsPost404: 0, slow: 0 };
    await recordNetwork([stack.worker, stack.backend], out, async () => {
      const { stdout } = await run('wrk', ['-t1', '-c8', '-d3s', `http://127.0.0.1:${stack.httpPort}/ok`]);
      wrkRequests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
      for (let i = 0; i < 37; i++) if (await curl(`http://127.0.0.1:${stack.httpPort}/missing-${i}`) === 404) sent.notFound++;
      for (let i = 0; i < 12; i++) if (await curl(`https://127.0.0.1:${stack.httpsPort}/ok`) === 200) sent.https200++;
      for (let i = 0; i < 5; i++) if (await curl(`https://127.0.0.1:${stack.httpsPort}/nope`, ['-X', 'POST', '-d', 'x=1']) === 404) sent.httpsPost404++;
      for (let i = 0; i < 3; i++) if (await curl(`http://127.0.0.1:${stack.httpPort}/slow`) === 200) sent.slow++;
    });
    const points = histogramPoints(out);
    const nginx200 = countOf(points, stack.worker, 'http.server.request.duration', { 'http.response.status_code': 200n, 'url.scheme': 'http' });
    const backend200 = countOf(points, stack.backend, 'http.server.request.duration', { 'http.response.status_code': 200n });
    const proxied200 = countOf(points, stack.worker, 'http.client.request.duration', { 'http.response.status_code': 200n, 'server.port': BigInt(stack.backendPort) });
    console.log(`wrk ${wrkRequests} requests; nginx server 200 (http) ${nginx200}, nginx → backend 200 ${proxied200}, backend 200 ${backend200}; sent ${JSON.stringify(sent)}`);
    expect(wrkRequests).toBeGreaterThan(100);
    expect(sent).toEqual({ notFound: 37, https200: 12, httpsPost404: 5, slow: 3 });
    // wrk's requests plus the 3 slow ones, within 2%; wrk does not count the requests in flight on its
    // 8 connections when it stops, which on a loaded machine with few requests can be more than 2%
    const expected200 = wrkRequests + sent.slow;
    const slack = Math.max(0.02 * expected200, 8);
    for (const n of [nginx200, backend200]) expect(Math.abs(n - expected200)).toBeLessThanOrEqual(slack);
    // the backend answered the proxied HTTP and HTTPS requests: wrk's, the slow ones and the 12 over HTTPS
    expect(Math.abs(proxied200 - (expected200 + 12))).toBeLessThanOrEqual(slack);
    expect(countOf(points, stack.worker, 'http.server.request.duration', { 'http.response.status_code': 404n, 'url.scheme': 'http' })).toBe(37);
    expect(countOf(points, stack.backend, 'http.server.request.duration', { 'http.response.status_code': 404n })).toBe(42);
    expect(countOf(points, stack.worker, 'http.server.request.duration', { 'http.response.status_code': 200n, 'url.scheme': 'https', 'http.request.method': 'GET' })).toBe(12);
    expect(countOf(points, stack.worker, 'http.server.request.duration', { 'http.response.status_code': 404n, 'url.scheme': 'https', 'http.request.method': 'POST' })).toBe(5);
    const https = points.find((p) => p.pid === BigInt(stack.worker) && p.attrs['url.scheme'] === 'https')!;
    expect(https.attrs).toMatchObject({ 'server.address': '127.0.0.1', 'server.port': BigInt(stack.httpsPort), 'network.protocol.version': '1.1' });
    // only the targets: curl and wrk are not followed
    expect(new Set(points.map((p) => Number(p.pid)))).toEqual(new Set([stack.worker, stack.backend]));
    // the 150 ms upstream lands above 0.1 s, at the backend and at nginx on both sides
    expect(points[0]!.bounds).toEqual(expect.arrayContaining([0.1, 0.25]));
    for (const [pid, metric] of [[stack.backend, 'http.server.request.duration'], [stack.worker, 'http.server.request.duration'], [stack.worker, 'http.client.request.duration']] as const) {
      const above = points.filter((p) => p.pid === BigInt(pid) && p.metric === metric)
        .reduce((n, p) => n + p.buckets.slice(p.bounds.indexOf(0.1) + 1).reduce((a, b) => a + b, 0), 0);
      expect(above, `${metric} of ${pid}`).toBeGreaterThanOrEqual(3);
    }
  });

  it('lists the slow and failed requests, counts garbage, and survives a server killed mid-request', async () => {
    const out = join(dir, 'net.json');
    const hangPort = await freePort();
    // a server that reads a request and never answers, killed while the client waits
    const hanger: ChildProcess = spawn(process.execPath, ['-e',
      `require('node:net').createServer((s) => s.on('data', () => {})).listen(${hangPort}, '127.0.0.1', () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => hanger.stdout!.once('data', r));
    await recordNetwork([stack.worker, stack.backend, hanger.pid!], out, async () => {
      for (let i = 0; i < 2; i++) expect(await curl(`http://127.0.0.1:${stack.httpPort}/slow?i=${i}`)).toBe(200);
      expect(await curl(`https://127.0.0.1:${stack.httpsPort}/fail`)).toBe(500);
      // garbage: nginx answers 400 to bytes that are no request line; no request was seen, so it is a counted drop
      await new Promise<void>((resolve) => {
        const s = connect(stack.httpPort, '127.0.0.1', () => s.end(Buffer.from([0x16, 0x03, 0x01, 0xff, 0x00, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0xfe])));
        s.on('data', () => {});
        s.on('close', () => resolve());
        s.on('error', () => resolve());
      });
      const waiting = curl(`http://127.0.0.1:${hangPort}/hang`, ['--max-time', '20']).catch(() => 0);
      await sleep(1500);
      hanger.kill('SIGKILL');
      await waiting;
    });
    const view = JSON.parse(readFileSync(out, 'utf8')) as NetworkView;
    const notable = view.notable.map((n) => `${n.reason} ${n.pid} ${n.side} ${n.method} ${n.path} ${n.status}`);
    console.log(`notable:\n  ${notable.join('\n  ')}\ndrops ${JSON.stringify(view.drops)}`);
    expect(notable.filter((n) => n === `slow ${stack.backend} server GET /slow 200`)).toHaveLength(2);
    expect(notable.filter((n) => n === `slow ${stack.worker} server GET /slow 200`)).toHaveLength(2);
    expect(notable).toContain(`failed ${stack.worker} server GET /fail 500`);
    expect(notable).toContain(`failed ${stack.backend} server GET /fail 500`);
    expect(notable).toContain(`no_response ${hanger.pid} server GET /hang null`);
    const slow = view.notable.find((n) => n.path === '/slow' && n.pid === stack.backend)!;
    // a 150 ms Node timer can fire up to 1 ms early (its loop clock is read before the request's own read)
    expect(slow.durationSeconds).toBeGreaterThanOrEqual(0.149);
    expect(slow.local).toBe(`127.0.0.1:${stack.backendPort}`);
    expect(view.drops['response_without_request']).toBeGreaterThanOrEqual(1);
    // nginx still serves
    expect(await curl(`http://127.0.0.1:${stack.httpPort}/ok`)).toBe(200);
  });
});
