/**
 * `meshprof agent` evaluating Rover's continuous HTTP policies from the real
 * network sampler (BPF, as root): a server answering 500s crosses an
 * HTTP_ERROR_RATE policy (URIRegex) and gets an ON_CPU task; a server
 * answering slowly crosses an HTTP_AVG_RESPONSE_TIME policy (URIList) and
 * gets a NETWORK task, whose meters and sampled requests then reach OAP.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContinuousProfilingTriggeredMonitorType as Monitor } from '../../src/gen/skywalking/ebpf/profiling/Continuous_pb.js';
import { bpfSkipReason, requirePrerequisites, toolSkipReason } from '../helpers/bpf-prerequisites.js';
import { startAgent, type AgentRun } from '../helpers/start-agent.js';
import { startFakeOap, type FakeOap } from '../helpers/start-fake-oap.js';
import { startSlowErrServer } from '../helpers/slow-err-server.js';

const run = promisify(execFile);
const skip = bpfSkipReason() ?? toolSkipReason(['/usr/bin/curl'], 'needs curl (apt)');


function startServer(service: string): Promise<{ child: ChildProcess; port: number }> {
  return startSlowErrServer({ ...process.env, OTEL_SERVICE_NAME: service });
}

describe('meshprof agent with continuous HTTP policies (real BPF, as root)', () => {
  beforeAll(() => requirePrerequisites(skip));
  let oap: FakeOap;
  let errors: { child: ChildProcess; port: number };
  let slow: { child: ChildProcess; port: number };
  let agent: AgentRun;

  beforeAll(async () => {
    errors = await startServer('http-errors');
    slow = await startServer('http-slow');
    oap = await startFakeOap();
    oap.policies = [
      { ServiceName: 'http-errors', UUID: 'e1', Profiling: { ON_CPU: { HTTP_ERROR_RATE: { Threshold: '50', Period: 4, Count: 2, URIRegex: '^/err' } } } },
      { ServiceName: 'http-slow', UUID: 's1', Profiling: { NETWORK: { HTTP_AVG_RESPONSE_TIME: { Threshold: '100', Period: 4, Count: 2, URIList: ['/slow'] } } } },
    ];
    agent = startAgent({
      MESHPROF_SKYWALKING_ADDR: `127.0.0.1:${oap.port}`,
      MESHPROF_SKYWALKING_HEARTBEAT_PERIOD: '1s',
      MESHPROF_SKYWALKING_TASK_QUERY_INTERVAL: '1s',
      MESHPROF_SKYWALKING_CONTINUOUS_FETCH_INTERVAL: '1s',
      MESHPROF_SKYWALKING_CONTINUOUS_CHECK_INTERVAL: '1s',
      MESHPROF_SKYWALKING_CONTINUOUS_EXECUTE_DURATION: '60s',
      MESHPROF_SKYWALKING_NETWORK_REPORT_INTERVAL: '1s',
      MESHPROF_OUTPUT_DIR: 'none',
    });
  }, 60_000);

  afterAll(async () => {
    if (agent !== undefined) expect(await agent.stop()).toBe(0);
    errors?.child.kill();
    slow?.child.kill();
    await oap?.stop();
  });

  it('reports the error rate and the slow URI with Rover\'s URI causes, and runs the ON_CPU and NETWORK tasks', async () => {
    // Requests keep coming until both policies fired: each 1 s slot must hold some.
    const end = Date.now() + 120_000;
    const fired = (service: string): boolean => oap.record.continuousReports.some((r) => r.serviceName === service);
    while (!(fired('http-errors') && fired('http-slow'))) {
      if (Date.now() > end) throw new Error(`no continuous report for both services; agent log:\n${agent.output().slice(-4000)}`);
      await Promise.all([
        run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${errors.port}/err`]),
        run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${slow.port}/slow`]),
      ]);
    }
    const errorReport = oap.record.continuousReports.find((r) => r.serviceName === 'http-errors')!;
    expect(errorReport.targetTask.case).toBe('onCPU');
    expect(errorReport.causes.map((c) => c.type)).toEqual([Monitor.HTTPErrorRate]);
    expect(errorReport.causes[0]!.cause).toMatchObject({ case: 'uri', value: { uri: { case: 'regex', value: '^/err' }, threshold: 50, current: 100 } });

    const slowReport = oap.record.continuousReports.find((r) => r.serviceName === 'http-slow')!;
    expect(slowReport.targetTask).toMatchObject({ case: 'network', value: { samplingURIRegexes: ['/slow'] } });
    const cause = slowReport.causes[0]!;
    expect(cause.type).toBe(Monitor.HTTPAvgResponseTime);
    if (cause.cause.case !== 'uri') throw new Error('expected a URI cause');
    expect(cause.cause.value.uri).toEqual({ case: 'path', value: '/slow' });
    // Node's timers count from the loop's cached clock, so a 150 ms setTimeout can answer up to 1 ms sooner (149.8 seen in CI).
    expect(cause.cause.value.current).toBeGreaterThanOrEqual(149);
    expect(cause.cause.value.current).toBeLessThan(1000);

    await agent.waitFor('profiling task cont-', 30_000);
    await agent.waitFor('network task cont-', 30_000);
    // The NETWORK task samples every /slow request of the slow server.
    const slowId = `proc-${slow.child.pid!}`;
    const sampled = (): Record<string, unknown>[] => oap.record.logStreams.flat()
      .map((l) => JSON.parse(l.body?.content.case === 'json' ? l.body.content.value.json : '{}') as Record<string, unknown>)
      .filter((b) => (b.server_process as { process_id?: string } | undefined)?.process_id === slowId);
    const until = Date.now() + 60_000;
    while (sampled().length < 3) {
      if (Date.now() > until) throw new Error(`no sampled requests of ${slowId}; agent log:\n${agent.output().slice(-4000)}`);
      await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${slow.port}/slow`]);
      await sleep(300);
    }
    for (const b of sampled()) expect(b).toMatchObject({ uri: '/slow', reason: 'slow', status: 200, detect_point: 'server' });
    const meters = oap.record.meterBatches.flat().flatMap((c) => c.meterData)
      .filter((m) => m.metric.value?.labels.some((l) => l.name === 'server_process_id' && l.value === slowId));
    expect(meters.some((m) => m.metric.value?.name === 'rover_net_p_http1_request_counter')).toBe(true);
  }, 300_000);
});
