/** Scripted samplers and a table symbolizer standing in for the kernel side. */
import type { RawStackBatch, RawStackSample } from '../../src/stacks/raw-stacks.js';
import type { StackSampler } from '../../src/samplers/stack-sampler.js';
import type { Frame, Profile, ProfileSample } from '../../src/profile/model.js';
import type { SkyWalkingProfilingKind } from '../../src/encode/skywalking.js';
import type { SkyWalkingExporterOptions } from '../../src/export/skywalking/skywalking-exporter.js';
import { createTaskRunner } from '../../src/agent/skywalking-tasks.js';
import { createLogger, type Logger } from '../../src/log/logger.js';

/** Fixture symbols: kernel addresses are above 0xffff800000000000. */
export const SYMBOLS = new Map<bigint, string>([
  [0xffffffff81000010n, 'finish_task_switch'],
  [0xffffffff81000020n, '__schedule'],
  [0xffffffff81000030n, 'do_nanosleep'],
  [0x401010n, 'fixture_leaf'],
  [0x401020n, 'fixture_middle'],
  [0x401030n, 'main'],
  [0x402010n, 'fixture_sleep'],
]);

const KERNEL_START = 0xffff800000000000n;

/** A sampler that returns scripted batches, one per drain, then empty ones. */
export interface FakeSampler extends StackSampler {
  readonly kind: SkyWalkingProfilingKind;
  readonly pids: number[];
  started: boolean;
  stopped: boolean;
  drains: number;
}

/** Builds a batch of the kind's value types. */
export function batch(kind: SkyWalkingProfilingKind, samples: RawStackSample[]): RawStackBatch {
  return {
    valueTypes:
      kind === 'oncpu'
        ? [
            { type: 'samples', unit: 'count' },
            { type: 'cpu', unit: 'nanoseconds' },
          ]
        : [
            { type: 'switches', unit: 'count' },
            { type: 'off_cpu', unit: 'nanoseconds' },
          ],
    periodType: { type: 'cpu', unit: 'nanoseconds' },
    period: 10_000_000,
    startTimeNs: BigInt(Date.now()) * 1_000_000n,
    durationNs: 1_000_000_000n,
    samples,
    drops: {},
  };
}

/** A factory handing out scripted samplers; `created` lists them in order. */
export function fakeSamplerFactory(scripts: Record<SkyWalkingProfilingKind, RawStackBatch[]>): {
  factory: (kind: SkyWalkingProfilingKind, pids: number[]) => StackSampler;
  created: FakeSampler[];
} {
  const created: FakeSampler[] = [];
  const factory = (kind: SkyWalkingProfilingKind, pids: number[]): StackSampler => {
    const script = [...scripts[kind]];
    const s: FakeSampler = {
      kind,
      pids,
      started: false,
      stopped: false,
      drains: 0,
      start() {
        s.started = true;
      },
      stop() {
        s.stopped = true;
      },
      setTargets() {},
      drain() {
        s.drains++;
        return script.shift() ?? batch(kind, []);
      },
    };
    created.push(s);
    return s;
  };
  return { factory, created };
}

function frame(address: bigint): Frame {
  const name = SYMBOLS.get(address);
  return {
    functionName: name ?? `0x${address.toString(16)}`,
    kind: address >= KERNEL_START ? 'kernel' : 'native',
    address,
    mapping: undefined,
    symbolized: name !== undefined,
  };
}

/** Symbolizes from SYMBOLS; frames leaf first, kernel before user, as the model says. */
export function fakeSymbolize(b: RawStackBatch): Profile {
  const samples: ProfileSample[] = b.samples.map((s) => ({
    pid: s.tgid,
    tid: s.tid,
    threadName: s.comm,
    frames: [...s.kernelStack.map(frame), ...s.userStack.map(frame)],
    values: s.values,
  }));
  return {
    sampleTypes: b.valueTypes,
    periodType: b.periodType,
    period: b.period,
    startTimeNs: b.startTimeNs,
    durationNs: b.durationNs,
    samples,
    processes: new Map(),
    drops: b.drops,
  };
}

/** A logger that keeps its lines for assertions. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, ...createLogger((_level, text) => { lines.push(text); }) };
}

/** Polls until the predicate holds or the timeout passes. */
export async function until(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The agent's task runner over scripted samplers: each task's collector
 * drains its sampler and names the batch from SYMBOLS, as the pipeline's
 * collect cycle would.
 */
export function fakeTasks(factory: (kind: SkyWalkingProfilingKind, pids: number[]) => StackSampler): SkyWalkingExporterOptions['tasks'] {
  return (parts) => createTaskRunner({
    ...parts,
    collectors: (kind, pids) => {
      const s = factory(kind, pids);
      return { start: () => s.start(), collect: () => Promise.resolve(fakeSymbolize(s.drain())), stop: () => s.stop() };
    },
  });
}
