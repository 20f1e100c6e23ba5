/**
 * The receiver end to end on loopback: a grpc-js client and HTTP clients
 * send hand-built OTLP requests and Pyroscope pushes; the real exporters
 * forward them to test OTLP and Pyroscope servers, which must get the same
 * stacks and values, with this process's node attributes added. Refusals
 * (token, malformed, oversized, gzip bombs) must forward nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { create, fromBinary, toBinary, toJsonString } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startReceiverService, type ReceiverService } from '../../src/agent/receiver-service.js';
import { readExportersEnv } from '../../src/config/exporters-env.js';
import { readReceiverEnv } from '../../src/config/receiver-env.js';
import { encodePprof } from '../../src/encode/pprof.js';
import { exporterSink } from '../../src/export/exporter-sinks.js';
import { createExportMetrics } from '../../src/export/export-metrics.js';
import { createExporters } from '../../src/export/exporters-from-env.js';
import type { ProfileSink } from '../../src/export/profile-sink.js';
import type { ExportProfilesServiceRequest } from '../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import {
  ExportProfilesServiceRequestSchema,
  ExportProfilesServiceResponseSchema,
} from '../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { PushRequestSchema } from '../../src/gen/pyroscope/push/v1/push_pb.js';
import { silentLogger } from '../../src/log/logger.js';
import type { Profile } from '../../src/profile/model.js';
import { StatusSchema } from '../../src/gen/google/rpc/status_pb.js';
import { retryDelayFromMetadata } from '../../src/export/grpc-retry-info.js';
import { OTLP_PROFILES_EXPORT_PATH, type LoadShedderOptions } from '../../src/receive/index.js';
import { buildOtlpRequest, otlpStacks, resourceAttributes, resourcesOf } from '../helpers/build-otlp-request.js';
import { metricValue } from '../helpers/metric-value.js';
import { onCpuProfile } from '../helpers/on-cpu-profile.js';
import { pprofStacksOf } from '../helpers/pprof-stacks.js';
import { startGrpcServer, startHttpServer, type GrpcTestServer, type HttpTestServer } from '../helpers/test-servers.js';

const TOKEN = 's3cret-token';
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Rig {
  receiver: ReceiverService;
  otlp: GrpcTestServer;
  pyroscope: HttpTestServer;
  registry: Registry;
  consumed: { kind: string; profile: Profile }[];
  flush(): Promise<void>;
}

/** Shedding off: this process's loop also runs the clients, 100 MB bodies and gzip bombs; the shedding test turns it on. */
const NO_SHEDDING: LoadShedderOptions = { maxUtilization: 1 };

async function rig(extraEnv: Record<string, string> = {}, shedding: LoadShedderOptions = NO_SHEDDING): Promise<Rig> {
  const otlp = await startGrpcServer();
  const pyroscope = await startHttpServer();
  cleanup.push(() => otlp.close(), () => pyroscope.close());
  const registry = new Registry();
  const exporters = createExporters(readExportersEnv({
    OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT: `http://${otlp.address}`,
    OTEL_EXPORTER_OTLP_PROFILES_PROTOCOL: 'grpc',
    MESHPROF_PYROSCOPE_URL: pyroscope.url,
    MESHPROF_PYROSCOPE_API: 'push',
  }), { logger: silentLogger, metrics: createExportMetrics(registry), retry: { maxAttempts: 1 } }, 'test-host');
  const consumed: Rig['consumed'] = [];
  const files: ProfileSink = { name: 'local-files', consume: async (kind, profile) => { consumed.push({ kind, profile }); }, shutdown: async () => {} };
  const config = readReceiverEnv({
    MESHPROF_RECEIVER_GRPC_ENDPOINT: '127.0.0.1:0',
    MESHPROF_RECEIVER_HTTP_ENDPOINT: '127.0.0.1:0',
    MESHPROF_RECEIVER_AUTH_TOKEN: TOKEN,
    MESHPROF_RECEIVER_MAX_BYTES: '1MiB',
    ...extraEnv,
  })!;
  const receiver = await startReceiverService(config, {
    procRoot: '/proc',
    // Discovery's part, as it would name a pod's process; the executable comes from /proc.
    naming: {
      describeProcess: (base) => ({ ...base, attributes: { ...base.attributes, 'k8s.pod.name': 'checkout-7d9', 'k8s.namespace.name': 'shop', 'service.name': 'node-said-checkout' } }),
      describeContainer: (id) => (id === 'c0ffee' ? { 'k8s.pod.name': 'cart-1', 'k8s.container.name': 'cart' } : undefined),
    },
    sinks: [...exporters.map(exporterSink), files],
    registry,
    log: silentLogger,
    shedding,
  });
  cleanup.push(() => receiver.close(), async () => { await Promise.all(exporters.map((e) => e.shutdown(2000))); });
  return { receiver, otlp, pyroscope, registry, consumed, flush: async () => { await Promise.all(exporters.map((e) => e.flush(10_000))); } };
}

/** One producer's request: this test process's pid, its own service.name, two stacks. */
function producerRequest(): ExportProfilesServiceRequest {
  return buildOtlpRequest([{
    attributes: { 'process.pid': process.pid, 'service.name': 'checkout' },
    stacks: [
      { frames: ['crc32', 'handle', 'main'], value: 30_000_000, thread: 'worker-1' },
      { frames: ['parse', 'handle', 'main'], value: 10_000_000, thread: 'worker-2' },
    ],
  }]);
}

function grpcExport(address: string, request: Uint8Array, token?: string, options: grpc.ChannelOptions = {}): Promise<{ error: grpc.ServiceError | null; response?: Buffer }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), options);
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest(OTLP_PROFILES_EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(request), metadata, (error, response) => {
      client.close();
      resolve({ error, response });
    });
  });
}

async function post(url: string, body: Uint8Array | string, headers: Record<string, string>): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(url, { method: 'POST', body, headers });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

/** Streams `total` bytes with node's http client; resolves with the status, or the socket error when the server hangs up first. */
function postStream(url: string, total: number, headers: Record<string, string>): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', headers });
    req.on('response', (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    const chunk = Buffer.alloc(1 << 20, 7);
    let sent = 0;
    const write = (): void => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) { req.once('drain', write); return; }
      }
      req.end();
    };
    write();
  });
}

const forwardedRequests = (r: Rig): ExportProfilesServiceRequest[] => r.otlp.requests.map((q) => fromBinary(ExportProfilesServiceRequestSchema, q.bytes));
const metrics = async (r: Rig): Promise<string> => r.registry.metrics();

describe('profile receiver', () => {
  it('forwards a grpc-js request to OTLP and Pyroscope with the same stacks and values, node attributes added', async () => {
    const r = await rig();
    const { error, response } = await grpcExport(r.receiver.grpcAddress!, toBinary(ExportProfilesServiceRequestSchema, producerRequest()), TOKEN);
    expect(error).toBeNull();
    expect(fromBinary(ExportProfilesServiceResponseSchema, response!).partialSuccess).toBeUndefined();
    await r.flush();

    const [forwarded, ...more] = forwardedRequests(r);
    expect(more).toEqual([]);
    expect(otlpStacks(forwarded!)).toEqual(otlpStacks(producerRequest()));
    const attrs = resourceAttributes(forwarded!);
    // The producer's own service.name stays; what only the node knows is added.
    expect(attrs['service.name']).toBe('checkout');
    expect(attrs['k8s.pod.name']).toBe('checkout-7d9');
    expect(attrs['process.executable.path']).toBe(process.execPath);
    expect(attrs['process.executable.name']).toBe('node');
    expect(attrs['process.pid']).toBe(String(process.pid));

    expect(r.pyroscope.requests).toHaveLength(1);
    const push = fromBinary(PushRequestSchema, r.pyroscope.requests[0]!.body);
    expect(push.series).toHaveLength(1);
    const labels = Object.fromEntries(push.series[0]!.labels.map((l) => [l.name, l.value]));
    expect(labels).toMatchObject({ __name__: 'process_cpu', service_name: 'checkout', pod: 'checkout-7d9', namespace: 'shop' });
    expect(pprofStacksOf(push.series[0]!.samples[0]!.rawProfile, process.pid).stacks).toEqual({
      'cpu/nanoseconds|crc32;handle;main': 30_000_000,
      'cpu/nanoseconds|parse;handle;main': 10_000_000,
    });

    const m = await metrics(r);
    expect(metricValue(m, 'meshprof_receiver_received_profiles_total', { protocol: 'otlp-grpc' })).toBe(1);
    expect(metricValue(m, 'meshprof_receiver_received_samples_total', { protocol: 'otlp-grpc' })).toBe(2);
    expect(metricValue(m, 'meshprof_receiver_forwarded_samples_total', { sink: 'otlp-grpc' })).toBe(2);
    expect(metricValue(m, 'meshprof_receiver_forwarded_samples_total', { sink: 'pyroscope' })).toBe(2);

    // Local files get the interval's received profiles merged, at the interval's end.
    const interval = r.receiver.takeInterval();
    expect(interval.map((i) => i.kind)).toEqual(['received-process_cpu']);
    expect(interval[0]!.profile.samples.map((s) => s.values[0])).toEqual([30_000_000, 10_000_000]);
  });

  it('takes OTLP/HTTP protobuf (gzip) and JSON, and names a container.id-only resource', async () => {
    const r = await rig();
    const url = `http://${r.receiver.httpAddress}/v1development/profiles`;
    const proto = await post(url, gzipSync(toBinary(ExportProfilesServiceRequestSchema, producerRequest())), {
      'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip', Authorization: `Bearer ${TOKEN}`,
    });
    expect(proto.status).toBe(200);
    const containerOnly = buildOtlpRequest([{ attributes: { 'container.id': 'c0ffee' }, stacks: [{ frames: ['poll', 'loop'], value: 5 }] }]);
    const json = await post(url, toJsonString(ExportProfilesServiceRequestSchema, containerOnly), { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` });
    expect(json.status).toBe(200);
    expect(JSON.parse(json.body.toString())).toEqual({});
    await r.flush();
    // Requests arriving together may be forwarded merged: compare resource by resource.
    const [a, b, ...more] = resourcesOf(forwardedRequests(r));
    expect(more).toEqual([]);
    expect(a!.stacks).toEqual(otlpStacks(producerRequest()));
    expect(b!.stacks).toEqual(['poll;loop 5']);
    expect(b!.attributes).toEqual({ 'container.id': 'c0ffee', 'k8s.pod.name': 'cart-1', 'k8s.container.name': 'cart' });
  });

  it('takes Pyroscope /ingest (multipart pprof) and push.v1 Push, and forwards them as OTLP', async () => {
    const r = await rig();
    const whole = onCpuProfile();
    const pid = whole.samples[0]!.pid;
    const profile: Profile = { ...whole, samples: whole.samples.filter((s) => s.pid === pid) };
    const pprof = encodePprof(profile);
    const form = new FormData();
    form.append('profile', new Blob([pprof]), 'profile.pprof');
    const ingest = await fetch(`http://${r.receiver.httpAddress}/ingest?name=${encodeURIComponent('billing.cpu{env=prod}')}`, {
      method: 'POST', body: form, headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(ingest.status).toBe(200);
    const push = await post(`http://${r.receiver.httpAddress}/push.v1.PusherService/Push`, toBinary(PushRequestSchema, create(PushRequestSchema, {
      series: [{ labels: [{ name: '__name__', value: 'process_cpu' }, { name: 'service_name', value: 'ledger' }], samples: [{ rawProfile: pprof }] }],
    })), { 'Content-Type': 'application/proto', 'Connect-Protocol-Version': '1', Authorization: `Bearer ${TOKEN}` });
    expect(push.status).toBe(200);
    await r.flush();
    const forwarded = forwardedRequests(r);
    const resources = forwarded.flatMap((f) => f.resourceProfiles.map((rp) => ({ f, rp })));
    expect(resources).toHaveLength(2);
    expect(resourceAttributes(forwarded[0]!)).toMatchObject({ 'service.name': 'billing', env: 'prod' });
    expect(resourcesOf(forwarded)[1]!.attributes).toMatchObject({ 'service.name': 'ledger' });
    // Same stacks and values as the pprof sent, through the OTLP dictionary.
    const sent = pprofStacksOf(pprof, pid).stacks;
    for (const { f, rp } of resources) {
      const got: Record<string, number> = {};
      const d = f.dictionary!;
      for (const p of rp.scopeProfiles[0]!.profiles) {
        const type = `${d.stringTable[p.sampleType!.typeStrindex]}/${d.stringTable[p.sampleType!.unitStrindex]}`;
        for (const s of p.samples) {
          const key = `${type}|${d.stackTable[s.stackIndex]!.locationIndices.map((l) => d.stringTable[d.functionTable[d.locationTable[l]!.lines[0]!.functionIndex]!.nameStrindex]).join(';')}`;
          got[key] = (got[key] ?? 0) + Number(s.values[0]);
        }
      }
      expect(got).toEqual(sent);
    }
    const m = await metrics(r);
    // One OTLP profile per pprof sample type.
    expect(metricValue(m, 'meshprof_receiver_received_profiles_total', { protocol: 'pyroscope-ingest' })).toBe(profile.sampleTypes.length);
    expect(metricValue(m, 'meshprof_receiver_received_profiles_total', { protocol: 'pyroscope-push' })).toBe(profile.sampleTypes.length);
  });

  it('refuses a missing or wrong token: UNAUTHENTICATED and 401, nothing forwarded', async () => {
    const r = await rig();
    const bytes = toBinary(ExportProfilesServiceRequestSchema, producerRequest());
    expect((await grpcExport(r.receiver.grpcAddress!, bytes)).error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await grpcExport(r.receiver.grpcAddress!, bytes, 'wrong')).error?.code).toBe(grpc.status.UNAUTHENTICATED);
    const url = `http://${r.receiver.httpAddress}/v1development/profiles`;
    expect((await post(url, bytes, { 'Content-Type': 'application/x-protobuf' })).status).toBe(401);
    expect((await post(url, bytes, { 'Content-Type': 'application/x-protobuf', Authorization: 'Bearer s3cret-tokem' })).status).toBe(401);
    await r.flush();
    expect(r.otlp.requests).toEqual([]);
    expect(r.pyroscope.requests).toEqual([]);
    const m = await metrics(r);
    expect(metricValue(m, 'meshprof_receiver_rejected_total', { protocol: 'otlp-grpc', reason: 'unauthenticated' })).toBe(2);
    expect(metricValue(m, 'meshprof_receiver_rejected_total', { protocol: 'otlp-http', reason: 'unauthenticated' })).toBe(2);
  });

  it('refuses bad indices and truncated protobuf, and answers partial success for one bad profile of two', async () => {
    const r = await rig();
    const badStack = producerRequest();
    badStack.dictionary!.stackTable[1]!.locationIndices.push(999);
    const g = await grpcExport(r.receiver.grpcAddress!, toBinary(ExportProfilesServiceRequestSchema, badStack), TOKEN);
    expect(g.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(g.error?.details).toContain('stack_table[1].location_indices[3] 999 is outside location_table');

    const truncated = toBinary(ExportProfilesServiceRequestSchema, producerRequest()).subarray(0, 40);
    expect((await grpcExport(r.receiver.grpcAddress!, truncated, TOKEN)).error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const url = `http://${r.receiver.httpAddress}/v1development/profiles`;
    const h = await post(url, truncated, { 'Content-Type': 'application/x-protobuf', Authorization: `Bearer ${TOKEN}` });
    expect(h.status).toBe(400);
    const noEmptyString = producerRequest();
    noEmptyString.dictionary!.stringTable[0] = 'x';
    expect((await post(url, toBinary(ExportProfilesServiceRequestSchema, noEmptyString), { 'Content-Type': 'application/x-protobuf', Authorization: `Bearer ${TOKEN}` })).status).toBe(400);

    const twoResources = buildOtlpRequest([
      { attributes: { 'service.name': 'good' }, stacks: [{ frames: ['a', 'main'], value: 3 }] },
      { attributes: { 'service.name': 'bad' }, stacks: [{ frames: ['b', 'main'], value: 4 }] },
    ]);
    twoResources.resourceProfiles[1]!.scopeProfiles[0]!.profiles[0]!.samples[0]!.stackIndex = 77;
    const partial = await grpcExport(r.receiver.grpcAddress!, toBinary(ExportProfilesServiceRequestSchema, twoResources), TOKEN);
    expect(partial.error).toBeNull();
    const success = fromBinary(ExportProfilesServiceResponseSchema, partial.response!).partialSuccess!;
    expect(success.rejectedProfiles).toBe(1n);
    expect(success.errorMessage).toContain('resource_profiles[1].scope_profiles[0].profiles[0]: samples[0].stack_index 77 is outside stack_table');
    await r.flush();
    const forwarded = forwardedRequests(r);
    expect(forwarded).toHaveLength(1);
    expect(otlpStacks(forwarded[0]!)).toEqual(['a;main 3']);
    const m = await metrics(r);
    expect(metricValue(m, 'meshprof_receiver_rejected_total', { protocol: 'otlp-grpc', reason: 'invalid' })).toBe(1);
    expect(metricValue(m, 'meshprof_receiver_rejected_total', { protocol: 'otlp-grpc', reason: 'malformed' })).toBe(1);
    expect(metricValue(m, 'meshprof_receiver_rejected_total', { protocol: 'otlp-grpc', reason: 'invalid_profile' })).toBe(1);
    expect(metricValue(m, 'meshprof_receiver_rejected_total', { protocol: 'otlp-http', reason: 'malformed' })).toBe(1);
    expect(metricValue(m, 'meshprof_receiver_rejected_total', { protocol: 'otlp-http', reason: 'invalid' })).toBe(1);
  });

  it('refuses a 100 MB body and gzip bombs on both protocols, forwarding nothing', async () => {
    const r = await rig();
    const url = `http://${r.receiver.httpAddress}/v1development/profiles`;
    const auth = { 'Content-Type': 'application/x-protobuf', Authorization: `Bearer ${TOKEN}` };
    // Declared: refused before a byte is read.
    expect(await postStream(url, 100 * 2 ** 20, { ...auth, 'Content-Length': String(100 * 2 ** 20) })).toBe(413);
    // Chunked: cut off once past the limit (the server may hang up before the client reads the answer).
    expect([413, 'ECONNRESET', 'EPIPE']).toContain(await postStream(url, 100 * 2 ** 20, { ...auth, 'Transfer-Encoding': 'chunked' }));
    // 64 MiB of zeros gzip to ~64 KiB, well under the 1 MiB limit.
    const bomb = gzipSync(Buffer.alloc(64 * 2 ** 20));
    expect(bomb.length).toBeLessThan(2 ** 20);
    expect((await post(url, bomb, { ...auth, 'Content-Encoding': 'gzip' })).status).toBe(413);
    // gRPC: a message over the limit, and one that inflates past it.
    const big = buildOtlpRequest([{ attributes: { 'service.name': 'x'.repeat(2 * 2 ** 20) }, stacks: [{ frames: ['a'], value: 1 }] }]);
    const bytes = toBinary(ExportProfilesServiceRequestSchema, big);
    expect((await grpcExport(r.receiver.grpcAddress!, bytes, TOKEN)).error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const compressed = await grpcExport(r.receiver.grpcAddress!, bytes, TOKEN, { 'grpc.default_compression_algorithm': 2 });
    expect(compressed.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // The receiver is still up and takes the next good request.
    expect((await grpcExport(r.receiver.grpcAddress!, toBinary(ExportProfilesServiceRequestSchema, producerRequest()), TOKEN)).error).toBeNull();
    await r.flush();
    expect(forwardedRequests(r).map(otlpStacks)).toEqual([otlpStacks(producerRequest())]);
    const m = await metrics(r);
    expect(metricValue(m, 'meshprof_receiver_rejected_total', { protocol: 'otlp-http', reason: 'too_large' })).toBeGreaterThanOrEqual(2);
    expect(metricValue(m, 'meshprof_receiver_rejected_total', { protocol: 'otlp-grpc', reason: 'too_large' })).toBe(2);
  });

  it('serves TLS on both endpoints with the configured certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-receiver-tls-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const r = await rig({ MESHPROF_RECEIVER_TLS_CERT_FILE: cert, MESHPROF_RECEIVER_TLS_KEY_FILE: key });
    const ca = readFileSync(cert);
    const bytes = toBinary(ExportProfilesServiceRequestSchema, producerRequest());
    // A plaintext client gets nothing through.
    expect((await grpcExport(r.receiver.grpcAddress!, bytes, TOKEN, { 'grpc.max_reconnect_backoff_ms': 100 } as grpc.ChannelOptions).then((x) => x.error?.code))).toBe(grpc.status.UNAVAILABLE);
    const client = new grpc.Client(r.receiver.grpcAddress!, grpc.credentials.createSsl(ca));
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${TOKEN}`);
    const error = await new Promise<grpc.ServiceError | null>((resolve) => client.makeUnaryRequest(OTLP_PROFILES_EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(bytes), metadata, (err) => resolve(err)));
    client.close();
    expect(error).toBeNull();
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.request(`https://${r.receiver.httpAddress}/v1development/profiles`, {
        method: 'POST', ca, headers: { 'Content-Type': 'application/x-protobuf', Authorization: `Bearer ${TOKEN}` },
      }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.end(Buffer.from(bytes));
    });
    expect(status).toBe(200);
    await r.flush();
    expect(resourcesOf(forwardedRequests(r)).map((x) => x.stacks)).toEqual([otlpStacks(producerRequest()), otlpStacks(producerRequest())]);
  });

  it('sheds load while its event loop is saturated: RESOURCE_EXHAUSTED and 429 with a retry hint, counted, and takes requests again after', async () => {
    const r = await rig({}, { maxUtilization: 0.5, minReceiverShare: 0, windowMs: 20, busyWindows: 2, retryAfterMs: 1500 });
    const bytes = toBinary(ExportProfilesServiceRequestSchema, producerRequest());
    const url = `http://${r.receiver.httpAddress}/v1development/profiles`;
    // Busy 40 ms of every 50: the loop is saturated however loaded the machine is (counted as the receiver's: minReceiverShare 0).
    const spin = setInterval(() => { const end = performance.now() + 40; while (performance.now() < end); }, 50);
    let grpcRefusal: grpc.ServiceError | undefined;
    let httpRefusal: Response | undefined;
    try {
      for (let i = 0; i < 500 && (grpcRefusal === undefined || httpRefusal === undefined); i++) {
        if (grpcRefusal === undefined) {
          const { error } = await grpcExport(r.receiver.grpcAddress!, bytes, TOKEN);
          if (error !== null) grpcRefusal = error;
        }
        if (httpRefusal === undefined) {
          const res = await fetch(url, { method: 'POST', body: bytes, headers: { 'Content-Type': 'application/x-protobuf', Authorization: `Bearer ${TOKEN}` } });
          if (res.status !== 200) httpRefusal = res;
          else await res.arrayBuffer();
        }
      }
    } finally {
      clearInterval(spin);
    }
    expect(grpcRefusal?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(retryDelayFromMetadata(grpcRefusal?.metadata)).toBe(1500);
    expect(httpRefusal?.status).toBe(429);
    expect(httpRefusal?.headers.get('retry-after')).toBe('2');
    expect(fromBinary(StatusSchema, new Uint8Array(await httpRefusal!.arrayBuffer())).code).toBe(8);
    const m = await metrics(r);
    const shed = metricValue(m, 'meshprof_receiver_rejected_total', { protocol: 'otlp-grpc', reason: 'overloaded' })
      + metricValue(m, 'meshprof_receiver_rejected_total', { protocol: 'otlp-http', reason: 'overloaded' });
    expect(shed).toBeGreaterThanOrEqual(2);
    // Every request is either forwarded or counted as shed: nothing is lost unseen.
    await r.flush();
    const received = metricValue(m, 'meshprof_receiver_received_profiles_total', {});
    expect(resourcesOf(forwardedRequests(r))).toHaveLength(received);
    // Idle again, the receiver takes everything: poll, the share grows back step by step.
    let error: grpc.ServiceError | null = null;
    for (let i = 0; i < 200; i++) {
      ({ error } = await grpcExport(r.receiver.grpcAddress!, bytes, TOKEN));
      if (error === null) break;
      await new Promise((done) => setTimeout(done, 50));
    }
    expect(error).toBeNull();
  });
});
