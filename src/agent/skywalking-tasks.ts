/**
 * Runs ON_CPU / OFF_CPU profiling tasks: one sampler per task for its
 * duration, drained every flush into one `collectProfilingData` stream.
 */
import type { Profile } from '../profile/model.js';
import type { RawStackBatch } from '../stacks/raw-stacks.js';
import type { StackSampler } from '../samplers/stack-sampler.js';
import { encodeSkyWalkingProfilingData, type SkyWalkingProfilingKind } from '../encode/skywalking.js';
import { create } from '@bufbuild/protobuf';
import {
  EBPFProfilingService,
  EBPFProfilingTaskMetadataSchema,
  type EBPFProfilingData,
} from '../gen/skywalking/ebpf/profiling/Profile_pb.js';
import type { OapConnection } from '../export/skywalking/oap-connection.js';
import type { ProfilingTask } from '../export/skywalking/task-command.js';
import type { SkyWalkingLogger } from '../export/skywalking/logger.js';

/** Builds a sampler restricted to the given processes; the runner starts and stops it. */
export type SamplerFactory = (kind: SkyWalkingProfilingKind, pids: number[]) => StackSampler;
/** Turns a drained batch into frames. */
export type Symbolizer = (batch: RawStackBatch) => Profile | Promise<Profile>;

/** Options; flushMs defaults to Rover's 5 s. */
export interface TaskRunnerOptions {
  readonly connection: OapConnection;
  readonly samplerFactory: SamplerFactory;
  readonly symbolize: Symbolizer;
  /** Host pid of an OAP process id, undefined when unknown. */
  readonly resolvePid: (processId: string) => number | undefined;
  readonly logger: SkyWalkingLogger;
  readonly flushMs?: number | undefined;
  /** Unsent messages kept per task while OAP is unreachable. */
  readonly maxPendingPerTask?: number | undefined;
  readonly now?: (() => number) | undefined;
}

/** Task lifecycle and the flush loop. */
export interface TaskRunner {
  /** Accepts a task: runs it now or at its start time. False when skipped (ended, unsupported, unknown process). */
  run(task: ProfilingTask): boolean;
  /** Drains every task and sends the data in one stream. */
  flush(): Promise<void>;
  /** Process ids with a task that is scheduled or running. */
  busyProcessIds(): ReadonlySet<string>;
  start(): void;
  /** Stops every sampler and sends what is left. */
  stop(): Promise<void>;
}

interface TaskState {
  task: ProfilingTask;
  kind: SkyWalkingProfilingKind;
  pids: number[];
  sampler: StackSampler | undefined;
  startedAt: number;
  ended: boolean;
  pending: EBPFProfilingData[];
  timers: NodeJS.Timeout[];
}

const identity = (t: ProfilingTask): string => `${[...t.processIds].sort().join(',')}_${t.targetType}_${t.triggerType}`;

/** Creates the runner; call start() for the periodic flush. */
export function createTaskRunner(options: TaskRunnerOptions): TaskRunner {
  const now = options.now ?? Date.now;
  const maxPending = options.maxPendingPerTask ?? 20_000;
  const log = options.logger;
  const tasks = new Map<string, TaskState>();
  const seen = new Set<string>();
  let flushTimer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  async function drain(s: TaskState): Promise<void> {
    if (s.sampler === undefined) return;
    const profile = await options.symbolize(s.sampler.drain());
    s.pending.push(...encodeSkyWalkingProfilingData(profile, s.kind));
    // Keep the newest data when OAP has been away for long.
    if (s.pending.length > maxPending) s.pending.splice(0, s.pending.length - maxPending);
  }

  function begin(s: TaskState): void {
    try {
      s.sampler = options.samplerFactory(s.kind, s.pids);
      s.sampler.start();
    } catch (err) {
      log.warn(`skywalking: starting profiling task ${s.task.taskId}: ${(err as Error).message}`);
      s.sampler = undefined;
      s.ended = true;
      return;
    }
    s.startedAt = now();
    log.info(`skywalking: profiling task ${s.task.taskId} started (${s.task.targetType}, pids ${s.pids.join(',')})`);
    const end = setTimeout(() => void finish(s), s.task.durationMs);
    end.unref();
    s.timers.push(end);
  }

  async function finish(s: TaskState): Promise<void> {
    if (s.ended) return;
    s.ended = true;
    for (const t of s.timers) clearTimeout(t);
    try {
      await drain(s);
    } catch (err) {
      log.warn(`skywalking: draining profiling task ${s.task.taskId}: ${(err as Error).message}`);
    }
    s.sampler?.stop();
    s.sampler = undefined;
    log.info(`skywalking: profiling task ${s.task.taskId} finished`);
  }

  async function flushOnce(): Promise<void> {
    const batch: EBPFProfilingData[] = [];
    const sent: TaskState[] = [];
    const currentTime = BigInt(now());
    for (const s of tasks.values()) {
      if (!s.ended) {
        try {
          await drain(s);
        } catch (err) {
          log.warn(`skywalking: draining profiling task ${s.task.taskId}: ${(err as Error).message}`);
        }
      }
      const first = s.pending[0];
      if (first === undefined) continue;
      // Only the first message of a task in a stream carries its metadata.
      const head: EBPFProfilingData = {
        ...first,
        task: create(EBPFProfilingTaskMetadataSchema, {
          taskId: s.task.taskId,
          processId: s.task.processIds[0] ?? '',
          profilingStartTime: BigInt(s.startedAt),
          currentTime,
        }),
      };
      batch.push(head, ...s.pending.slice(1).map((m) => ({ ...m, task: undefined })));
      sent.push(s);
    }
    if (batch.length > 0) {
      try {
        await options.connection.clientStream(EBPFProfilingService.method.collectProfilingData, batch);
        for (const s of sent) s.pending = [];
      } catch (err) {
        log.warn(`skywalking: sending profiling data: ${(err as Error).message}`);
      }
    }
    for (const [id, s] of tasks) if (s.ended && s.pending.length === 0) tasks.delete(id);
  }

  function flush(): Promise<void> {
    flushing = flushing.then(flushOnce, flushOnce);
    return flushing;
  }

  return {
    flush,
    run(task) {
      if (task.targetType === 'NETWORK') {
        log.warn(`skywalking: network profiling is not supported yet, ignoring task ${task.taskId}`);
        return false;
      }
      if (task.startTime + task.durationMs <= now()) {
        log.debug(`skywalking: profiling task ${task.taskId} already ended, skipping`);
        return false;
      }
      if (seen.has(task.taskId)) return false;
      const pids: number[] = [];
      for (const id of task.processIds) {
        const pid = options.resolvePid(id);
        if (pid === undefined) {
          log.warn(`skywalking: profiling task ${task.taskId}: process ${id} is not known to this agent`);
          return false;
        }
        pids.push(pid);
      }
      seen.add(task.taskId);
      // Bounded: the oldest ids are long ended and OAP no longer sends them.
      if (seen.size > 10_000) seen.delete(seen.values().next().value ?? '');
      const existing = tasks.get(identity(task));
      if (existing !== undefined) {
        // A newer task for the same processes and type replaces the old one; keep its unsent data.
        void finish(existing);
        tasks.set(`${identity(task)}#${existing.task.taskId}`, existing);
      }
      const s: TaskState = {
        task,
        kind: task.targetType === 'ON_CPU' ? 'oncpu' : 'offcpu',
        pids,
        sampler: undefined,
        startedAt: 0,
        ended: false,
        pending: [],
        timers: [],
      };
      tasks.set(identity(task), s);
      const wait = task.startTime - now();
      if (wait <= 0) begin(s);
      else {
        const t = setTimeout(() => begin(s), wait);
        t.unref();
        s.timers.push(t);
      }
      return true;
    },
    busyProcessIds() {
      const ids = new Set<string>();
      for (const s of tasks.values()) if (!s.ended) for (const id of s.task.processIds) ids.add(id);
      return ids;
    },
    start() {
      if (flushTimer !== undefined) return;
      flushTimer = setInterval(() => void flush(), options.flushMs ?? 5_000);
      flushTimer.unref();
    },
    async stop() {
      if (flushTimer !== undefined) clearInterval(flushTimer);
      flushTimer = undefined;
      await Promise.all([...tasks.values()].map((s) => finish(s)));
      await flush();
    },
  };
}
