/**
 * `meshprof agent` with MESHPROF_METRICS_ADDR (real BPF, as root): /healthz
 * answers from the start, /readyz answers 503 while the samplers attach and
 * 200 once they sample; the exporter's queue and request latency show on
 * /metrics; log lines carry level names.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { metricValue } from '../helpers/metric-value.js';
import { freePort } from '../helpers/start-fake-oap.js';
import { startAgent } from '../helpers/start-agent.js';
import { startHttpServer, type HttpTestServer } from '../helpers/test-servers.js';
import { startFakeKubeApi, type FakeKubeApi } from '../helpers/start-fake-kube-api.js';

/** A GET's status, or 0 when nothing answers yet. */
async function status(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(5000) })).status;
  } catch {
    return 0;
  }
}

describe('meshprof agent health endpoints (real BPF, as root)', () => {
  let backend: HttpTestServer;
  let api: FakeKubeApi;
  let dir: string;
  let kubeconfig: string;
  beforeAll(async () => {
    requirePrerequisites(bpfSkipReason());
    backend = await startHttpServer();
    api = await startFakeKubeApi();
    dir = mkdtempSync(join(tmpdir(), 'meshprof-health-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: test',
      'clusters:', '- name: test', '  cluster:', `    server: ${api.url}`,
      'contexts:', '- name: test', '  context:', '    cluster: test', '    user: test',
      'users:', '- name: test', '  user: {}', '',
    ].join('\n'));
  });
  afterAll(async () => {
    await backend?.close();
    await api?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('answers /healthz at once, /readyz with 503 until sampling and 200 after, and reports the exporter queue and latency', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // A slow API server keeps the agent before its samplers until the test has seen it unready.
    const release = api.hold();
    const agent = startAgent({
      KUBECONFIG: kubeconfig,
      MESHPROF_KUBERNETES: 'on',
      MESHPROF_NODE_NAME: 'node-a',
      MESHPROF_INTERVAL: '1s',
      MESHPROF_OUTPUT_DIR: 'none',
      MESHPROF_METRICS_ADDR: `127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: backend.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      // Only this test process: the agent's tables stay small whatever else runs.
      MESHPROF_TARGET_PIDS: String(process.pid),
    });
    try {
      // The server listens before discovery lists pods: alive, not ready.
      const deadline = Date.now() + 60_000;
      while (await status(`${base}/healthz`) !== 200 && Date.now() < deadline && agent.child.exitCode === null) await sleep(50);
      expect(await status(`${base}/healthz`), agent.output().slice(-2000)).toBe(200);
      const unready = await fetch(`${base}/readyz`);
      expect(unready.status).toBe(503);
      expect(await unready.json()).toEqual({ ready: false, conditions: { samplers: false, exporters: true } });
      release();
      // Then ready once the samplers are attached; alive all along.
      while (await status(`${base}/readyz`) !== 200 && Date.now() < deadline && agent.child.exitCode === null) {
        expect(await status(`${base}/healthz`)).toBe(200);
        await sleep(50);
      }
      expect(await status(`${base}/readyz`), agent.output().slice(-2000)).toBe(200);
      await agent.waitFor('agent started');
      const body = await (await fetch(`${base}/readyz`)).json();
      expect(body).toEqual({ ready: true, conditions: { samplers: true, exporters: true } });

      // Two intervals exported: one request each at least, each timed.
      await agent.waitFor('collected interval', 30_000, 2);
      let text = '';
      const until = Date.now() + 30_000;
      do {
        await sleep(200);
        text = await (await fetch(`${base}/metrics`)).text();
      } while (metricValue(text, 'meshprof_export_duration_seconds_count', { exporter: 'otlp-http', outcome: 'sent' }) < 1 && Date.now() < until);
      expect(metricValue(text, 'meshprof_export_duration_seconds_count', { exporter: 'otlp-http', outcome: 'sent' })).toBeGreaterThanOrEqual(1);
      expect(text).toMatch(/^meshprof_export_queue_requests\{exporter="otlp-http"\} \d+$/m);
      expect(backend.requests.filter((r) => r.path === '/v1development/profiles').length).toBeGreaterThanOrEqual(1);
      expect(await status(`${base}/healthz`)).toBe(200);

      // JSON lines off a terminal, with level names.
      const started = agent.logs().find((l) => l.msg === 'agent started');
      expect(started?.level).toBe('info');
      expect(agent.logs().every((l) => typeof l.level === 'string')).toBe(true);
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  });
});
