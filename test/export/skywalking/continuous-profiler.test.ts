import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createSkyWalkingExporter, type SkyWalkingExporter } from '../../../src/export/skywalking/skywalking-exporter.js';
import { ContinuousProfilingTriggeredMonitorType } from '../../../src/gen/skywalking/ebpf/profiling/Continuous_pb.js';
import { readProcfsProcess } from '../../../src/export/skywalking/procfs-process-source.js';
import type { ProcessMetadata } from '../../../src/profile/model.js';
import { startFakeOap, type FakeOap } from '../../helpers/start-fake-oap.js';
import { fakeSamplerFactory, memoryLogger, until, fakeTasks } from '../../helpers/fake-sampler-factory.js';

describe('continuous profiling', () => {
  const children: ChildProcess[] = [];
  let exporter: SkyWalkingExporter | undefined;
  let oap: FakeOap | undefined;

  afterAll(async () => {
    await exporter?.stop();
    await oap?.stop();
    for (const c of children) c.kill('SIGKILL');
  });

  it('reports a task when a spinning process crosses the PROCESS_CPU threshold, and runs it', async () => {
    // Three spinning threads, so the process stays above the threshold on a busy machine.
    const spin = "const { Worker } = require('worker_threads'); for (let i = 0; i < 2; i++) new Worker('for(;;){}', { eval: true }); for(;;){}";
    const spinner = spawn(process.execPath, ['-e', spin], { stdio: 'ignore', env: { OTEL_SERVICE_NAME: 'spinner' } });
    const idle = spawn('sleep', ['60'], { stdio: 'ignore', env: { OTEL_SERVICE_NAME: 'spinner' } });
    children.push(spinner, idle);
    const pids = [spinner.pid!, idle.pid!];
    await until(() => pids.every((pid) => readProcfsProcess('/proc', pid)?.attributes['service.name'] === 'spinner'), 5_000, 'children');

    oap = await startFakeOap();
    oap.policies = [
      {
        ServiceName: 'spinner',
        UUID: 'v1',
        Profiling: {
          // Low enough for a loaded CI machine; the idle process stays at 0.
          ON_CPU: { PROCESS_CPU: { Threshold: '15', Period: 4, Count: 2 } },
          // Never reached: 100000 threads.
          OFF_CPU: { PROCESS_THREAD_COUNT: { Threshold: '100000', Period: 4, Count: 1 } },
        },
      },
    ];
    const samplers = fakeSamplerFactory({ oncpu: [], offcpu: [] });
    const log = memoryLogger();
    exporter = createSkyWalkingExporter({
      config: {
        addr: `127.0.0.1:${oap.port}`,
        tls: undefined,
        authentication: undefined,
        clusterName: undefined,
        hostProcPath: '/proc',
        periods: {
          heartbeatMs: 200,
          taskQueryMs: 200,
          flushMs: 200,
          continuousFetchMs: 250,
          continuousCheckMs: 400,
          continuousExecuteMs: 1_000,
          continuousSilenceMs: 60_000,
        },
      },
      source: {
        list: () => pids.map((pid) => readProcfsProcess('/proc', pid)).filter((p): p is ProcessMetadata => p !== undefined),
      },
      tasks: fakeTasks(samplers.factory),
      logger: log,
      hostIp: '10.0.0.5',
      policyQueryMs: 200,
    });
    exporter.start();

    await until(() => oap!.record.continuousReports.length > 0, 10_000, 'continuous report');
    const report = oap.record.continuousReports[0]!;
    expect(report).toMatchObject({ layer: 'OS_LINUX', serviceName: 'spinner', instanceName: '10.0.0.5', processName: 'node' });
    expect(report.duration).toBe(1);
    expect(report.targetTask.case).toBe('onCPU');
    expect(report.causes).toHaveLength(1);
    const cause = report.causes[0]!;
    expect(cause.type).toBe(ContinuousProfilingTriggeredMonitorType.ProcessCPU);
    if (cause.cause.case !== 'singleValue') throw new Error('expected a single value cause');
    expect(cause.cause.value.threshold).toBe(15);
    // Three threads on two cores: at most 200 percent over the last interval.
    expect(cause.cause.value.current).toBeGreaterThanOrEqual(15);
    expect(cause.cause.value.current).toBeLessThanOrEqual(210);
    expect(oap.record.policyQueries[0]!.policies).toEqual([expect.objectContaining({ serviceName: 'spinner', uuid: '' })]);

    // The returned task runs on the spinning process only, for the execute duration.
    await until(() => samplers.created.length === 1 && samplers.created[0]!.stopped, 5_000, 'continuous task');
    expect(samplers.created[0]!.kind).toBe('oncpu');
    expect(samplers.created[0]!.pids).toEqual([spinner.pid]);

    // Silence period: no second task for the same process, none for the idle one.
    await new Promise((r) => setTimeout(r, 1_200));
    expect(oap.record.continuousReports).toHaveLength(1);
    expect(samplers.created).toHaveLength(1);
  });
});
