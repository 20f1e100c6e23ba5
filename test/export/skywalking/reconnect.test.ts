import { afterAll, describe, expect, it } from 'vitest';
import { createSkyWalkingExporter, type SkyWalkingExporter } from '../../../src/export/skywalking/skywalking-exporter.js';
import { freePort, startFakeOap, type FakeOap } from '../../helpers/start-fake-oap.js';
import { fakeSamplerFactory, memoryLogger, until, fakeTasks } from '../../helpers/fake-sampler-factory.js';

describe('skywalking exporter when OAP is away', () => {
  const log = memoryLogger();
  let exporter: SkyWalkingExporter | undefined;
  let oap: FakeOap | undefined;

  afterAll(async () => {
    await exporter?.stop();
    await oap?.stop();
  });

  it('survives an OAP that is down at start, and re-reports after OAP restarts', async () => {
    const port = await freePort();
    const samplers = fakeSamplerFactory({ oncpu: [], offcpu: [] });
    exporter = createSkyWalkingExporter({
      config: {
        addr: `127.0.0.1:${port}`,
        authentication: undefined,
        clusterName: 'prod',
        hostProcPath: undefined,
        // Full re-reports by beat count would hide the reconnect path: make them rare.
        periods: { heartbeatMs: 150, reportEveryBeats: 1_000, taskQueryMs: 150, flushMs: 200 },
      },
      source: { list: () => [{ pid: 77, name: 'app', executablePath: '/srv/app', attributes: {} }] },
      tasks: fakeTasks(samplers.factory),
      logger: log,
      hostIp: '10.0.0.9',
      continuous: false,
      reconnectBackoffMs: { initial: 100, max: 300 },
    });
    exporter.start();
    await until(() => log.lines.some((l) => l.includes('reporting processes:')), 5_000, 'a failed report');

    oap = await startFakeOap(port);
    await until(() => oap!.record.reports.length > 0, 8_000, 'report after OAP came up');
    expect(oap.record.reports[0]!.processes[0]!.metadata.value?.entity?.serviceName).toBe('prod::app');
    await until(() => oap!.record.keepAlives.length > 1, 5_000, 'keepalives');

    // OAP crashes and comes back with an empty memory: the agent must register again.
    const before = oap.record;
    oap.kill();
    oap = await startFakeOap(port);
    expect(oap.record).not.toBe(before);
    await until(() => oap!.record.reports.length > 0, 8_000, 're-report after restart');
    expect(oap.record.reports[0]!.ebpfAgentID).toBe(exporter.agentId);

    // Tasks flow again after the restart.
    oap.tasks = [
      { taskId: 'after', processId: 'proc-77', targetType: 'ON_CPU', startTime: Date.now() - 50, updateTime: 5, durationS: 1 },
    ];
    await until(() => samplers.created.length === 1, 5_000, 'task after restart');
    expect(samplers.created[0]!.pids).toEqual([77]);
  });
});
