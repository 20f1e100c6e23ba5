/**
 * Continuous HTTP_ERROR_RATE / HTTP_AVG_RESPONSE_TIME policies, stepped by
 * hand against a test OAP with crafted exchanges: which processes are
 * watched, the per-fetch slot values, URI filters, Rover's URI causes and
 * the NETWORK task a NETWORK-target policy starts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContinuousProfiler, httpSlotValue, type WatchedExchange } from '../../../src/export/skywalking/continuous-profiler.js';
import { createOapConnection, type OapConnection } from '../../../src/export/skywalking/oap-connection.js';
import type { ReportedProcess } from '../../../src/export/skywalking/process-reporter.js';
import type { ProfilingTask } from '../../../src/export/skywalking/task-command.js';
import { ContinuousProfilingTriggeredMonitorType as Monitor } from '../../../src/gen/skywalking/ebpf/profiling/Continuous_pb.js';
import { startFakeOap, type FakeOap } from '../../helpers/start-fake-oap.js';
import { memoryLogger } from '../../helpers/fake-sampler-factory.js';

const proc = (pid: number, serviceName: string): ReportedProcess => ({
  pid, processId: `proc-${pid}`, kubernetes: false,
  entity: { layer: 'OS_LINUX', serviceName, instanceName: 'host', processName: serviceName, labels: [] },
  metadata: { pid, name: serviceName, attributes: {} },
});
const ex = (pid: number, path: string, statusCode: number, ms: number): WatchedExchange => ({ pid, path, statusCode, durationNs: ms * 1e6 + 400_000 });

describe('continuous HTTP policies', () => {
  let oap: FakeOap;
  let connection: OapConnection;
  beforeAll(async () => {
    oap = await startFakeOap();
    connection = createOapConnection({ addr: `127.0.0.1:${oap.port}` });
  });
  afterAll(async () => {
    connection.close();
    await oap.stop();
  });

  it('reads Rover\'s slot values: 5xx share in percent, mean whole milliseconds', () => {
    expect(httpSlotValue('HTTP_ERROR_RATE', [])).toBe(0);
    expect(httpSlotValue('HTTP_ERROR_RATE', [ex(1, '/', 500, 1), ex(1, '/', 404, 1), ex(1, '/', 200, 1), ex(1, '/', 503, 1)])).toBe(50);
    expect(httpSlotValue('HTTP_AVG_RESPONSE_TIME', [ex(1, '/', 200, 10), ex(1, '/', 200, 21)])).toBe(15.5);
    expect(httpSlotValue('HTTP_AVG_RESPONSE_TIME', [])).toBeNaN();
  });

  it('watches the processes with HTTP policies, and triggers on a regex error rate and a listed slow URI', async () => {
    oap.policies = [
      { ServiceName: 'errors', UUID: 'e1', Profiling: { ON_CPU: { HTTP_ERROR_RATE: { Threshold: '50', Period: 3, Count: 2, URIRegex: '^/api/' } } } },
      { ServiceName: 'slow', UUID: 's1', Profiling: { NETWORK: { HTTP_AVG_RESPONSE_TIME: { Threshold: '100', Period: 3, Count: 2, URIList: ['/slow', '/other'] } } } },
      { ServiceName: 'cpu', UUID: 'c1', Profiling: { ON_CPU: { PROCESS_CPU: { Threshold: '1000', Period: 3, Count: 1 } } } },
    ];
    const processes = [proc(10, 'errors'), proc(20, 'slow'), proc(30, 'cpu')];
    const watched: number[][] = [];
    let next: WatchedExchange[] = [];
    const started: ProfilingTask[] = [];
    const profiler = createContinuousProfiler({
      connection,
      processes: () => processes,
      metrics: { readProcess: () => ({ cpuPercent: 0, threads: 1 }), systemLoad: () => 0, retain: () => undefined },
      http: { watch: (pids) => watched.push([...pids]), drain: () => { const out = next; next = []; return out; }, stop: () => undefined },
      run: (t) => { started.push(t); return true; },
      busy: () => new Set(),
      logger: memoryLogger(),
      executeMs: 30_000,
    });
    await profiler.refreshPolicies();
    const slot = async (exchanges: WatchedExchange[]): Promise<string[]> => {
      next = exchanges;
      profiler.fetch();
      return profiler.check();
    };
    // errors: 1 of 3 /api/ requests failed (33%), the 500s on /static do not count
    expect(await slot([ex(10, '/api/a', 500, 1), ex(10, '/api/a', 200, 1), ex(10, '/api/b', 200, 1), ex(10, '/static', 500, 1), ex(10, '/static', 500, 1)])).toEqual([]);
    expect(watched).toEqual([[10, 20]]);
    // slow: /slow at 150 ms once, /other quick
    expect(await slot([ex(10, '/api/a', 500, 1), ex(10, '/api/b', 500, 1), ex(20, '/slow', 200, 150), ex(20, '/other', 200, 5)])).toEqual([]);
    const ids = await slot([ex(10, '/api/a', 500, 1), ex(10, '/api/a', 200, 1), ex(20, '/slow', 200, 149), ex(20, '/slow', 200, 120), ex(20, '/other', 200, 101)]);
    expect(ids).toHaveLength(2);
    expect(watched).toEqual([[10, 20]]);

    const reports = oap.record.continuousReports;
    const errors = reports.find((r) => r.serviceName === 'errors')!;
    expect(errors.targetTask.case).toBe('onCPU');
    expect(errors.causes).toHaveLength(1);
    expect(errors.causes[0]!.type).toBe(Monitor.HTTPErrorRate);
    expect(errors.causes[0]!.cause).toMatchObject({ case: 'uri', value: { uri: { case: 'regex', value: '^/api/' }, threshold: 50, current: 50 } });

    const slow = reports.find((r) => r.serviceName === 'slow')!;
    // only /slow reached 100 ms in 2 of the 3 slots (/other once)
    expect(slow.causes.map((c) => [c.type, c.cause.case === 'uri' ? c.cause.value.uri.value : '', c.cause.value?.current])).toEqual([
      [Monitor.HTTPAvgResponseTime, '/slow', 134.5],
    ]);
    expect(slow.targetTask).toMatchObject({ case: 'network', value: { samplingURIRegexes: ['/slow'] } });
    const task = started.find((t) => t.targetType === 'NETWORK')!;
    expect(task.processIds).toEqual(['proc-20']);
    expect(task.durationMs).toBe(30_000);
    expect(task.networkSamplings).toHaveLength(1);
    expect(task.networkSamplings[0]).toMatchObject({ minDurationMs: 0, when4xx: true, when5xx: true });
    expect(task.networkSamplings[0]!.uriRegex?.test('/slow')).toBe(true);
    expect(started.find((t) => t.targetType === 'ON_CPU')?.processIds).toEqual(['proc-10']);
    // the cpu-only service is never watched over HTTP
    expect(watched.flat()).not.toContain(30);
  });
});
