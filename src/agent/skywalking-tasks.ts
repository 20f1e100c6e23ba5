/**
 * Runs SkyWalking's ON_CPU / OFF_CPU profiling tasks: one collector per task
 * for its duration (made by the pipeline factory, so it names frames as the
 * agent does), collected every flush and handed to the SkyWalking exporter's
 * queue as task data.
 */
import { LRUCache } from 'lru-cache';
import { encodeSkyWalkingProfilingData, onCpuSampleCounts, type SkyWalkingProfilingKind } from '../encode/skywalking.js';
import type { ProfilingTaskScheduler, TaskProfilingData } from '../export/skywalking/index.js';
import type { ProfilingTask } from '../export/skywalking/index.js';
import type { Profile } from '../profile/model.js';
import { type Logger } from '../log/logger.js';

/** A task's collect cycle (a ProfileCollector over the task's pids). */
export interface TaskCollector {
  start(): Promise<void> | void;
  /** Everything since the last collect, named. */
  collect(): Promise<Profile>;
  stop(): void;
}

/** Makes a collector of `kind` restricted to `pids`; the runner starts and stops it. */
export type TaskCollectorFactory = (kind: SkyWalkingProfilingKind, pids: number[]) => TaskCollector;

/** Options; flushMs defaults to Rover's 5 s. */
export interface TaskRunnerOptions {
  readonly collectors: TaskCollectorFactory;
  /** Queues one drain of one task for OAP (the SkyWalking exporter's queue). */
  readonly send: (data: TaskProfilingData) => void;
  /** Host pid of an OAP process id, undefined when unknown. */
  readonly resolvePid: (processId: string) => number | undefined;
  readonly logger: Logger;
  readonly flushMs?: number | undefined;
  readonly now?: (() => number) | undefined;
}

/** Task lifecycle and the flush loop. */
export type TaskRunner = ProfilingTaskScheduler;

interface TaskState {
  task: ProfilingTask;
  kind: SkyWalkingProfilingKind;
  pids: number[];
  collector: TaskCollector | undefined;
  startedAt: number;
  ended: boolean;
  timers: NodeJS.Timeout[];
}

const identity = (t: ProfilingTask): string => `${[...t.processIds].sort().join(',')}_${t.targetType}_${t.triggerType}`;

/** Creates the runner; call start() for the periodic flush. */
export function createTaskRunner(options: TaskRunnerOptions): TaskRunner {
  const now = options.now ?? Date.now;
  const log = options.logger;
  const tasks = new Map<string, TaskState>();
  // Bounded: the oldest ids are long ended and OAP no longer sends them.
  const seen = new LRUCache<string, true>({ max: 10_000 });
  let flushTimer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  async function collect(s: TaskState): Promise<void> {
    if (s.collector === undefined) return;
    try {
      const data = encodeSkyWalkingProfilingData(await s.collector.collect(), s.kind);
      if (data.length > 0) options.send({ taskId: s.task.taskId, processId: s.task.processIds[0] ?? '', startedAtMs: s.startedAt, data });
    } catch (err) {
      log.warn(`skywalking: collecting profiling task ${s.task.taskId}: ${(err as Error).message}`);
    }
  }

  async function begin(s: TaskState): Promise<void> {
    try {
      s.collector = options.collectors(s.kind, s.pids);
      await s.collector.start();
    } catch (err) {
      log.warn(`skywalking: starting profiling task ${s.task.taskId}: ${(err as Error).message}`);
      s.collector = undefined;
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
    await collect(s);
    s.collector?.stop();
    s.collector = undefined;
    log.info(`skywalking: profiling task ${s.task.taskId} finished`);
  }

  async function flushOnce(): Promise<void> {
    for (const s of tasks.values()) if (!s.ended) await collect(s);
    for (const [id, s] of tasks) if (s.ended) tasks.delete(id);
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
      seen.set(task.taskId, true);
      const existing = tasks.get(identity(task));
      if (existing !== undefined) {
        // A newer task for the same processes and type replaces the old one; its last data still goes out.
        void finish(existing);
        tasks.set(`${identity(task)}#${existing.task.taskId}`, existing);
      }
      const s: TaskState = {
        task, kind: task.targetType === 'ON_CPU' ? 'oncpu' : 'offcpu', pids, collector: undefined, startedAt: 0, ended: false, timers: [],
      };
      tasks.set(identity(task), s);
      const wait = task.startTime - now();
      if (wait <= 0) void begin(s);
      else {
        const t = setTimeout(() => void begin(s), wait);
        t.unref();
        s.timers.push(t);
      }
      return true;
    },
    offer(profiles) {
      const running = [...tasks.values()].filter((s) => !s.ended && s.collector !== undefined && s.kind === 'oncpu');
      if (running.length === 0) return 0;
      // A producer sending both `samples` and `cpu` for a process (meshprof's own OTLP does) is counted once, by samples.
      const counted = profiles().flatMap((p) => {
        const c = onCpuSampleCounts(p);
        return c === undefined ? [] : [{ c, bySamples: p.sampleTypes[0]?.type === 'samples' }];
      });
      const withSamples = new Set(counted.filter((x) => x.bySamples).flatMap((x) => [...x.c.processes.keys()]));
      let taken = 0;
      for (const s of running) {
        const pids = new Set(s.pids);
        for (const { c, bySamples } of counted) {
          const samples = c.samples.filter((x) => pids.has(x.pid) && (bySamples || !withSamples.has(x.pid)));
          if (samples.length === 0) continue;
          const data = encodeSkyWalkingProfilingData({ ...c, samples }, 'oncpu');
          if (data.length === 0) continue;
          options.send({ taskId: s.task.taskId, processId: s.task.processIds[0] ?? '', startedAtMs: s.startedAt, data });
          taken += samples.length;
        }
      }
      return taken;
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
      await flushing.catch(() => undefined);
      await Promise.all([...tasks.values()].map((s) => finish(s)));
      tasks.clear();
    },
  };
}
