/**
 * `meshprof agent` in SkyWalking Rover's place (real BPF, as root): against
 * the test OAP it reports the fixtures as host processes, runs an ON_CPU
 * task on split.c and an OFF_CPU task on offcpu.c with the real samplers,
 * and streams their stacks with sane counts and durations; profiles another
 * producer sends its receiver for a task's process go to OAP with the task.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportProfilesServiceRequestSchema } from '../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { OTLP_PROFILES_EXPORT_PATH } from '../../src/receive/index.js';
import { buildOtlpRequest } from '../helpers/build-otlp-request.js';
import type { EBPFProfilingData } from '../../src/gen/skywalking/ebpf/profiling/Profile_pb.js';
import { EBPFProfilingStackType } from '../../src/gen/skywalking/ebpf/profiling/Profile_pb.js';
import { startAgent, type AgentRun, untilAgent } from '../helpers/start-agent.js';
import { startFakeOap, type FakeOap } from '../helpers/start-fake-oap.js';
import { compileFixture, OMIT_FRAME_POINTER } from '../helpers/compile-fixture.js';

/** The messages of one task, in order; a task's group starts at its metadata message. */
function messagesOf(streams: readonly EBPFProfilingData[][], taskId: string): { groups: number; messages: EBPFProfilingData[] } {
  let groups = 0;
  const messages: EBPFProfilingData[] = [];
  for (const stream of streams) {
    let current: string | undefined;
    for (const m of stream) {
      if (m.task !== undefined) {
        current = m.task.taskId;
        if (current === taskId) groups++;
      }
      if (current === taskId) messages.push(m);
    }
  }
  return { groups, messages };
}

const symbolsOf = (m: EBPFProfilingData, type: EBPFProfilingStackType): string[] =>
  (m.profiling.value?.stacks ?? []).filter((s) => s.stackType === type).flatMap((s) => s.stackSymbols);

describe('meshprof agent against a SkyWalking OAP (real BPF, as root)', () => {
  let oap: FakeOap;
  let split: ChildProcess;
  let offcpu: ChildProcess;
  let chain: ChildProcess;
  let sleeper: ChildProcess;
  let splitPath: string;
  let agent: AgentRun;
  const started = Date.now();

  beforeAll(async () => {
    splitPath = compileFixture('split.c', { name: 'split-O0', flags: ['-O0', '-fno-omit-frame-pointer', '-g'] });
    const offcpuPath = compileFixture('offcpu.c', { name: 'offcpu', flags: ['-O0', '-g', '-fno-omit-frame-pointer', '-pthread'] });
    split = spawn(splitPath, ['60'], { stdio: 'ignore' });
    offcpu = spawn(offcpuPath, [], { stdio: ['pipe', 'ignore', 'ignore'] });
    // No frame pointers anywhere: only the .eh_frame walker gets from leaf to main.
    const chainPath = compileFixture('unwind-chain.c', { flags: OMIT_FRAME_POINTER });
    chain = spawn(chainPath, ['spin', '12'], { stdio: 'ignore' });
    // a process that never runs: what its task streams comes from the receiver
    sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
    oap = await startFakeOap();
    agent = startAgent({
      MESHPROF_SKYWALKING_ADDR: `127.0.0.1:${oap.port}`,
      MESHPROF_SKYWALKING_HEARTBEAT_PERIOD: '1s',
      MESHPROF_SKYWALKING_TASK_QUERY_INTERVAL: '1s',
      MESHPROF_SKYWALKING_FLUSH_INTERVAL: '1s',
      MESHPROF_OUTPUT_DIR: 'none',
      MESHPROF_LOG_LEVEL: 'debug',
      MESHPROF_RECEIVER_GRPC_ENDPOINT: '127.0.0.1:0',
    });
    await agent.waitFor('agent started');
  });

  afterAll(async () => {
    expect(await agent.stop(), agent.output().slice(-3000)).toBe(0);
    split.kill();
    offcpu.kill();
    chain.kill();
    sleeper.kill();
    await oap.stop();
  });

  it('reports the fixtures as host processes', async () => {
    await untilAgent(() => oap.record.reports.some((r) => r.processes.some((p) => p.metadata.value?.pid === split.pid)), 20_000, 'process report', agent);
    const report = oap.record.reports.find((r) => r.processes.some((p) => p.metadata.value?.pid === split.pid))!;
    const proc = report.processes.find((p) => p.metadata.value?.pid === split.pid)!;
    expect(proc.metadata.case).toBe('hostProcess');
    expect(proc.metadata.value?.entity).toMatchObject({ layer: 'OS_LINUX', serviceName: basename(splitPath), processName: basename(splitPath) });
    const props = Object.fromEntries(proc.metadata.value!.properties.map((p) => [p.key, p.value]));
    expect(props).toMatchObject({ pid: String(split.pid), support_ebpf_profiling: 'true' });
    expect(props.command_line).toContain(basename(splitPath));
    // Kernel threads are not reported.
    expect(report.processes.some((p) => p.metadata.value?.pid === 2)).toBe(false);
  });

  it('runs an ON_CPU task on split.c and streams hot_a/hot_b stacks with sane dump counts', async () => {
    // As a user would: the task is created once the process shows up in OAP.
    oap.tasks.push({ taskId: 't-on', processId: `proc-${split.pid}`, targetType: 'ON_CPU', startTime: Date.now(), updateTime: 1000, durationS: 4 });
    await agent.waitFor('profiling task t-on finished', 30_000);
    await untilAgent(() => messagesOf(oap.record.streams, 't-on').messages.length > 0 && oap.record.streams.length > 0, 5_000, 't-on data', agent);
    await sleep(2500); // the data drained at the end of the task goes out with the next flush
    const { groups, messages } = messagesOf(oap.record.streams, 't-on');
    // One stream per flush that had data, each starting with the task's metadata.
    expect(groups).toBeGreaterThanOrEqual(1);
    expect(messages.filter((m) => m.task !== undefined)).toHaveLength(groups);
    const meta = messages[0]!.task!;
    expect(meta.processId).toBe(`proc-${split.pid}`);
    expect(Number(meta.profilingStartTime)).toBeGreaterThanOrEqual(started - 1000);
    expect(Number(meta.profilingStartTime)).toBeLessThanOrEqual(Date.now());
    let total = 0;
    let a = 0;
    let b = 0;
    for (const m of messages) {
      expect(m.profiling.case).toBe('onCPU');
      if (m.profiling.case !== 'onCPU') continue;
      const user = symbolsOf(m, EBPFProfilingStackType.PROCESS_USER_SPACE);
      const n = m.profiling.value.dumpCount;
      expect(n).toBeGreaterThan(0);
      total += n;
      // Leaf first: hot_x, then work, then main.
      if (user[0] === 'hot_a' && user[1] === 'work' && user[2] === 'main') a += n;
      if (user[0] === 'hot_b' && user[1] === 'work' && user[2] === 'main') b += n;
    }
    console.log(`ON_CPU task: ${messages.length} messages in ${groups} streams, dumpCount ${total} (hot_a ${a}, hot_b ${b}) over 4 s at 99 Hz`);
    // 4 s at 99 Hz is at most ~400 samples of one busy thread; a noisy 2-core machine gives less.
    expect(total).toBeGreaterThan(40);
    expect(total).toBeLessThanOrEqual(99 * 4 * 1.15);
    expect(a).toBeGreaterThan(b);
    expect(b).toBeGreaterThan(0);
    expect(a + b).toBeGreaterThan(0.9 * total);
  });

  it('runs an OFF_CPU task on offcpu.c and streams the sleeper with switchCount and duration', async () => {
    oap.tasks.push({ taskId: 't-off', processId: `proc-${offcpu.pid}`, targetType: 'OFF_CPU', startTime: Date.now(), updateTime: 1001, durationS: 5 });
    await agent.waitFor('profiling task t-off started', 30_000);
    await sleep(300); // let the sampler settle before the fixture's threads start
    offcpu.stdin!.write('g');
    await agent.waitFor('profiling task t-off finished', 30_000);
    await sleep(2500);
    const { messages } = messagesOf(oap.record.streams, 't-off');
    let switches = 0;
    let duration = 0n;
    for (const m of messages) {
      expect(m.profiling.case).toBe('offCPU');
      if (m.profiling.case !== 'offCPU') continue;
      const user = symbolsOf(m, EBPFProfilingStackType.PROCESS_USER_SPACE);
      const kernel = symbolsOf(m, EBPFProfilingStackType.PROCESS_KERNEL_SPACE);
      expect(m.profiling.value.stacks[0]?.stackType).toBe(
        kernel.length > 0 ? EBPFProfilingStackType.PROCESS_KERNEL_SPACE : EBPFProfilingStackType.PROCESS_USER_SPACE,
      );
      // Leaf first: the inline syscall helper, then the fixture's own frames.
      const i = user.indexOf('sleep_100ms');
      if (i >= 0 && user[i + 1] === 'sleeper' && kernel.includes('do_nanosleep')) {
        switches += m.profiling.value.switchCount;
        duration += m.profiling.value.duration;
      }
    }
    console.log(`OFF_CPU task: ${messages.length} messages, sleeper switchCount ${switches}, duration ${Number(duration) / 1e6} ms`);
    // 20 sleeps of 100 ms; the first may fall before the task's sampler sees
    // the thread, and a spurious wake-up inside do_nanosleep splits a sleep
    // into two switches with the same stack (seen: 20 switches, 1.91 s).
    expect(switches).toBeGreaterThanOrEqual(18);
    expect(switches).toBeLessThanOrEqual(22);
    // At least 18 whole sleeps; off-CPU time also holds the wait for a CPU
    // after each wake-up, which a loaded 2-core machine stretches.
    expect(Number(duration)).toBeGreaterThanOrEqual(18 * 99e6);
    expect(Number(duration)).toBeLessThan(20 * 150e6);
  });

  it('walks an FP-less program of an ON_CPU task from leaf to main with the agent\'s unwind tables', async () => {
    oap.tasks.push({ taskId: 't-chain', processId: `proc-${chain.pid}`, targetType: 'ON_CPU', startTime: Date.now(), updateTime: 1002, durationS: 4 });
    await agent.waitFor('profiling task t-chain finished', 30_000);
    await sleep(2500);
    const { messages } = messagesOf(oap.record.streams, 't-chain');
    const want = ['leaf', ...Array.from({ length: 12 }, (_, i) => `f${12 - i}`), 'main'];
    let total = 0;
    let complete = 0;
    for (const m of messages) {
      if (m.profiling.case !== 'onCPU') continue;
      const user = symbolsOf(m, EBPFProfilingStackType.PROCESS_USER_SPACE);
      total += m.profiling.value.dumpCount;
      if (want.every((name, i) => user[i] === name)) complete += m.profiling.value.dumpCount;
    }
    console.log(`ON_CPU task on unwind-chain spin 12 (no frame pointers): ${complete}/${total} samples leaf -> f12..f1 -> main`);
    expect(total).toBeGreaterThan(40);
    // The tables are built while the task runs: its first ~0.5 s may be walked by frame pointers.
    expect(complete / total).toBeGreaterThan(0.75);
  });

  it('streams on-CPU profiles another producer sends the receiver for a task\'s process, with that task', async () => {
    await untilAgent(() => oap.record.reports.some((r) => r.processes.some((p) => p.metadata.value?.pid === sleeper.pid)), 20_000, 'sleeper report', agent);
    oap.tasks.push({ taskId: 't-recv', processId: `proc-${sleeper.pid}`, targetType: 'ON_CPU', startTime: Date.now(), updateTime: 1003, durationS: 6 });
    await agent.waitFor('profiling task t-recv started', 30_000);
    const listening = agent.logs().find((l) => l.msg === 'receiver listening')!;
    const client = new grpc.Client(String(listening.grpc), grpc.credentials.createInsecure());
    const send = (resources: Parameters<typeof buildOtlpRequest>[0]): Promise<grpc.ServiceError | null> =>
      new Promise((resolve) => client.makeUnaryRequest(OTLP_PROFILES_EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b,
        Buffer.from(toBinary(ExportProfilesServiceRequestSchema, buildOtlpRequest(resources))), new grpc.Metadata(), (err) => resolve(err)));
    try {
      // by time (cpu ns, 10 ms period): 300 ms and 100 ms are 30 and 10 samples; another pid's stack is not the task's
      expect(await send([
        { attributes: { 'process.pid': sleeper.pid!, 'service.name': 'checkout' }, stacks: [{ frames: ['crc32', 'handle', 'main'], value: 300_000_000 }, { frames: ['parse', 'handle', 'main'], value: 100_000_000 }] },
        { attributes: { 'process.pid': split.pid! }, stacks: [{ frames: ['not_this_task', 'main'], value: 500_000_000 }] },
      ])).toBeNull();
      // by count: 5 more samples of crc32
      expect(await send([{ attributes: { 'process.pid': sleeper.pid! }, sampleType: ['samples', 'count'], stacks: [{ frames: ['crc32', 'handle', 'main'], value: 5 }] }])).toBeNull();
    } finally {
      client.close();
    }
    await agent.waitFor('profiling task t-recv finished', 30_000);
    await sleep(2500);
    const counts = new Map<string, number>();
    for (const m of messagesOf(oap.record.streams, 't-recv').messages) {
      if (m.profiling.case !== 'onCPU') continue;
      const user = symbolsOf(m, EBPFProfilingStackType.PROCESS_USER_SPACE).join(';');
      counts.set(user, (counts.get(user) ?? 0) + m.profiling.value.dumpCount);
    }
    console.log('t-recv dump counts by user stack:', Object.fromEntries(counts));
    expect(counts.get('crc32;handle;main')).toBe(35);
    expect(counts.get('parse;handle;main')).toBe(10);
    expect([...counts.keys()].some((k) => k.includes('not_this_task'))).toBe(false);
  });
});
