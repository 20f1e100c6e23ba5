import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSkyWalkingExporter, type SkyWalkingExporter } from '../../../src/export/skywalking/skywalking-exporter.js';
import { EBPFProfilingStackType, type EBPFProfilingData } from '../../../src/gen/skywalking/ebpf/profiling/Profile_pb.js';
import type { ProcessMetadata } from '../../../src/profile/model.js';
import { startFakeOap, type FakeOap } from '../../helpers/start-fake-oap.js';
import { batch, fakeSamplerFactory, memoryLogger, until, fakeTasks } from '../../helpers/fake-sampler-factory.js';

const K1 = 0xffffffff81000010n; // finish_task_switch
const K2 = 0xffffffff81000020n; // __schedule
const STACK_A = { kernelStack: [K1, K2], userStack: [0x401010n, 0x401020n, 0x401030n] };
const STACK_B = { kernelStack: [], userStack: [0x401020n, 0x401030n] };
const STACK_SLEEP = { kernelStack: [K1, K2, 0xffffffff81000030n], userStack: [0x402010n, 0x401030n] };
const sample = (tid: number, stack: { kernelStack: bigint[]; userStack: bigint[] }, values: number[]) => ({
  tgid: 4242,
  tid,
  comm: 'fixture',
  ...stack,
  values,
});

const processes: ProcessMetadata[] = [
  {
    pid: 4242,
    name: 'fixture',
    executablePath: '/usr/bin/fixture-app',
    commandLine: '/usr/bin/fixture-app --serve',
    attributes: { 'service.name': 'checkout' },
  },
  { pid: 4343, name: 'other', executablePath: '/opt/bin/other', attributes: {} },
];

/** Splits the streams into per-task groups: a group starts at a message with metadata. */
function groupsOf(streams: EBPFProfilingData[][], taskId: string): EBPFProfilingData[][] {
  const groups: EBPFProfilingData[][] = [];
  for (const stream of streams) {
    let current: string | undefined;
    for (const m of stream) {
      if (m.task !== undefined) {
        current = m.task.taskId;
        if (current === taskId) groups.push([]);
      }
      if (current === taskId) groups[groups.length - 1]?.push(m);
    }
  }
  return groups;
}

describe('skywalking exporter against a test OAP', () => {
  let oap: FakeOap;
  let exporter: SkyWalkingExporter;
  const log = memoryLogger();
  const samplers = fakeSamplerFactory({
    oncpu: [
      batch('oncpu', [sample(1, STACK_A, [3, 30e6]), sample(2, STACK_A, [2, 20e6]), sample(1, STACK_B, [1, 10e6])]),
      batch('oncpu', [sample(1, STACK_A, [4, 40e6])]),
    ],
    offcpu: [batch('offcpu', [sample(3, STACK_SLEEP, [5, 5e9])]), batch('offcpu', [sample(3, STACK_SLEEP, [2, 1e9])])],
  });
  const startedAt = Date.now();

  beforeAll(async () => {
    oap = await startFakeOap();
    const now = Date.now();
    oap.tasks = [
      { taskId: 't-old', processId: 'proc-4242', targetType: 'ON_CPU', startTime: now - 600_000, updateTime: 900, durationS: 60 },
      { taskId: 't-on', processId: 'proc-4242', targetType: 'ON_CPU', startTime: now - 100, updateTime: 1000, durationS: 2 },
      { taskId: 't-off', processId: 'proc-4242', targetType: 'OFF_CPU', startTime: now - 100, updateTime: 1001, durationS: 2 },
      { taskId: 't-net', processId: 'proc-4242', targetType: 'NETWORK', startTime: now, updateTime: 1002, durationS: 2 },
    ];
    exporter = createSkyWalkingExporter({
      config: {
        addr: `127.0.0.1:${oap.port}`,
        tls: { enabled: false, caPath: undefined, clientCertPath: undefined, clientKeyPath: undefined, insecureSkipVerify: false },
        authentication: 'secret-token',
        clusterName: undefined,
        hostProcPath: undefined,
        periods: { heartbeatMs: 150, reportEveryBeats: 4, taskQueryMs: 100, flushMs: 300 },
      },
      source: { list: () => processes },
      tasks: fakeTasks(samplers.factory),
      logger: log,
      hostIp: '10.1.2.3',
      continuous: false,
    });
    exporter.start();
  });

  afterAll(async () => {
    await exporter.stop();
    await oap.stop();
  });

  it('reports host processes under its agent id and remembers their process ids', async () => {
    await until(() => oap.record.reports.length > 0, 5_000, 'process report');
    const report = oap.record.reports[0]!;
    expect(report.ebpfAgentID).toBe(exporter.agentId);
    expect(exporter.agentId).toMatch(/^[0-9a-f-]{36}$/);
    expect(report.processes).toHaveLength(2);
    const first = report.processes[0]!.metadata;
    expect(first.case).toBe('hostProcess');
    expect(first.value?.pid).toBe(4242);
    expect(first.value?.entity).toMatchObject({
      layer: 'OS_LINUX',
      serviceName: 'checkout',
      instanceName: '10.1.2.3',
      processName: 'fixture-app',
    });
    const props = Object.fromEntries(first.value!.properties.map((p) => [p.key, p.value]));
    expect(props).toMatchObject({
      host_ip: '10.1.2.3',
      pid: '4242',
      command_line: '/usr/bin/fixture-app --serve',
      support_ebpf_profiling: 'true',
    });
    expect(report.processes[1]!.metadata.value?.entity?.serviceName).toBe('other');
    await until(
      () => exporter.processes().length === 2 && exporter.processes().every((p) => p.processId !== undefined),
      5_000,
      'process ids',
    );
    expect(exporter.processes().map((p) => p.processId).sort()).toEqual(['proc-4242', 'proc-4343']);
    expect(oap.record.authHeaders).toContain('secret-token');
  });

  it('keeps processes alive between full reports, and re-reports every N beats', async () => {
    await until(() => oap.record.keepAlives.length >= 3 && oap.record.reports.length >= 2, 5_000, 'keepalives');
    const ping = oap.record.keepAlives[0]!;
    expect(ping.ebpfAgentID).toBe(exporter.agentId);
    expect(ping.processes[0]!.entityMetadata?.serviceName).toBe('checkout');
    expect(ping.processes[0]!.properties).toContainEqual(
      expect.objectContaining({ key: 'support_ebpf_profiling', value: 'true' }),
    );
  });

  it('runs ON_CPU and OFF_CPU tasks and streams deltas with first-message metadata', async () => {
    await until(() => samplers.created.length === 2 && samplers.created.every((s) => s.stopped), 8_000, 'tasks to end');
    expect(samplers.created.map((s) => [s.kind, s.pids])).toEqual(
      expect.arrayContaining([
        ['oncpu', [4242]],
        ['offcpu', [4242]],
      ]),
    );
    await until(() => groupsOf(oap.record.streams, 't-on').length >= 2, 5_000, 'on-cpu data');

    const on = groupsOf(oap.record.streams, 't-on');
    expect(on).toHaveLength(2);
    for (const group of on) {
      const meta = group[0]!.task!;
      expect(meta.processId).toBe('proc-4242');
      expect(Number(meta.profilingStartTime)).toBeGreaterThanOrEqual(startedAt);
      expect(Number(meta.currentTime)).toBeGreaterThanOrEqual(Number(meta.profilingStartTime));
      expect(Number(meta.currentTime)).toBeLessThanOrEqual(Date.now());
      expect(group.slice(1).every((m) => m.task === undefined)).toBe(true);
    }
    const counts = (group: EBPFProfilingData[]) =>
      group.map((m) => {
        if (m.profiling.case !== 'onCPU') throw new Error('expected onCPU');
        return [m.profiling.value.stacks.map((s) => s.stackSymbols.join(';')).join(' | '), m.profiling.value.dumpCount];
      });
    // Threads 1 and 2 share stack A: merged. The second flush carries only what happened since the first.
    expect(counts(on[0]!)).toEqual([
      ['finish_task_switch;__schedule | fixture_leaf;fixture_middle;main', 5],
      ['fixture_middle;main', 1],
    ]);
    expect(counts(on[1]!)).toEqual([['finish_task_switch;__schedule | fixture_leaf;fixture_middle;main', 4]]);
    const stacks = on[0]![0]!.profiling.value!.stacks;
    expect(stacks.map((s) => s.stackType)).toEqual([
      EBPFProfilingStackType.PROCESS_KERNEL_SPACE,
      EBPFProfilingStackType.PROCESS_USER_SPACE,
    ]);
    expect(stacks[0]!.stackId).not.toBe(stacks[1]!.stackId);

    const off = groupsOf(oap.record.streams, 't-off');
    expect(off).toHaveLength(2);
    const offValues = off.map((g) =>
      g.map((m) => {
        if (m.profiling.case !== 'offCPU') throw new Error('expected offCPU');
        return [m.profiling.value.stacks[0]!.stackSymbols[2], m.profiling.value.switchCount, m.profiling.value.duration];
      }),
    );
    expect(offValues).toEqual([[['do_nanosleep', 5, 5_000_000_000n]], [['do_nanosleep', 2, 1_000_000_000n]]]);
  });

  it('skips ended tasks, refuses network tasks when the agent runs none, and advances TaskUpdateTime', async () => {
    expect(groupsOf(oap.record.streams, 't-old')).toHaveLength(0);
    expect(samplers.created).toHaveLength(2);
    expect(log.lines.some((l) => l.includes('network profiling is not enabled in this agent') && l.includes('t-net'))).toBe(true);
    const last = oap.record.taskQueries[oap.record.taskQueries.length - 1]!;
    expect(last.latestUpdateTime).toBe(1002n);
    expect(last.roverInstanceId).toBe(exporter.agentId);
  });
});
