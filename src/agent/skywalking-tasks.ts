/**
 * Runs SkyWalking's ON_CPU / OFF_CPU profiling tasks: one collector per task
 * for its duration (made by the pipeline factory, so it names frames as the
 * agent does), collected every flush and handed to the SkyWalking exporter's
 * queue as task data. NETWORK tasks run a network collector whose batches
 * are summed in Rover's shape and sent every report interval as meters and
 * sampled requests.
 */
import { networkInterfaces } from 'node:os';
import { LRUCache } from 'lru-cache';
import { encodeSkyWalkingProfilingData, onCpuSampleCounts, type SkyWalkingProfilingKind } from '../encode/skywalking.js';
import type { ProfilingTaskScheduler, TaskProfilingData } from '../export/skywalking/index.js';
import type { ProfilingTask } from '../export/skywalking/index.js';
import type { Profile } from '../profile/model.js';
import type { RawNetworkBatch, RequestKeeping } from '../stacks/network-records.js';
import {
  createRoverNetworkAggregate, samplingKeeps, ROVER_NETWORK_METER_PREFIX, type RoverNetworkAggregate, type RoverNetworkOutput, type RoverProcess,
} from '../export/skywalking/rover-network.js';
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

/** A NETWORK task's collect cycle (a NetworkCollector over the task's pids). */
export interface NetworkTaskCollector {
  start(): Promise<void> | void;
  /** Drains the kernel; each batch goes to the `observe` the factory was given. */
  poll(): void;
  stop(): void;
}

/** Makes a network collector over `pids` that hands every drained batch to `observe`. */
export type NetworkTaskCollectorFactory = (
  pids: number[], observe: (batch: RawNetworkBatch) => void, keeps?: Omit<RequestKeeping, 'headBytes'>,
) => NetworkTaskCollector;

/** Options; flushMs defaults to Rover's 5 s. */
export interface TaskRunnerOptions {
  /** Runs NETWORK tasks; without it they are refused. */
  readonly networkCollectors?: NetworkTaskCollectorFactory | undefined;
  /** The OAP process of a process id (service, instance), for the meters' labels. */
  readonly processOf?: ((processId: string) => RoverProcess | undefined) | undefined;
  /** Sends one report interval of a NETWORK task (meters, then sampled requests). */
  readonly sendNetwork?: ((data: RoverNetworkOutput) => Promise<void>) | undefined;
  /** Rover's 2 s (ROVER_PROFILING_TASK_NETWORK_TOPOLOGY_REPORT_INTERVAL). */
  readonly networkReportMs?: number | undefined;
  /** Rover's rover_net_p. */
  readonly networkMeterPrefix?: string | undefined;
  /** How often the kernel is drained during a NETWORK task; default 1 s. */
  readonly networkPollMs?: number | undefined;
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

interface NetworkTaskState {
  task: ProfilingTask;
  pids: number[];
  processIds: Map<number, string>;
  aggregate: RoverNetworkAggregate;
  collector: NetworkTaskCollector | undefined;
  ended: boolean;
  timers: NodeJS.Timeout[];
  end: NodeJS.Timeout | undefined;
  /** Meters and sampled requests that could not be sent, counted for the log. */
  lostMeters: number;
  lostLogs: number;
}

/** This host's addresses, which Rover counts as local peers beside loopback. */
function hostAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

const identity = (t: ProfilingTask): string => `${[...t.processIds].sort().join(',')}_${t.targetType}_${t.triggerType}`;

/** Creates the runner; call start() for the periodic flush. */
export function createTaskRunner(options: TaskRunnerOptions): TaskRunner {
  const now = options.now ?? Date.now;
  const log = options.logger;
  const tasks = new Map<string, TaskState>();
  const network = new Map<string, NetworkTaskState>();
  // Bounded: the oldest ids are long ended and OAP no longer sends them.
  const seen = new LRUCache<string, true>({ maxSize: 10_000, sizeCalculation: () => 1 });
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

  async function report(s: NetworkTaskState): Promise<void> {
    const out = s.aggregate.flush({
      prefix: options.networkMeterPrefix ?? ROVER_NETWORK_METER_PREFIX,
      process: (pid) => {
        const id = s.processIds.get(pid);
        return id === undefined ? undefined : options.processOf?.(id);
      },
      localAddresses: hostAddresses(),
      nowMs: now(),
    });
    if (Object.keys(out.drops).length > 0) log.warn(`skywalking: network task ${s.task.taskId}: the sampler lost ${JSON.stringify(out.drops)}`);
    if (out.meters.length === 0 && out.logs.length === 0) return;
    try {
      await options.sendNetwork?.(out);
    } catch (err) {
      s.lostMeters += out.meters.reduce((n, c) => n + (c.meterData?.length ?? 0), 0);
      s.lostLogs += out.logs.length;
      log.warn(`skywalking: network task ${s.task.taskId}: sending to OAP failed (${(err as Error).message}); ${s.lostMeters} meters and ${s.lostLogs} sampled requests lost so far`);
    }
  }

  function endNetworkAt(s: NetworkTaskState): void {
    if (s.end !== undefined) clearTimeout(s.end);
    s.end = setTimeout(() => void finishNetwork(s), Math.max(0, s.task.startTime + s.task.durationMs - now()));
    s.end.unref();
  }

  async function beginNetwork(s: NetworkTaskState): Promise<void> {
    const factory = options.networkCollectors;
    if (factory === undefined) return;
    try {
      s.collector = factory(s.pids, (b) => s.aggregate.add(b), samplingKeeps(s.task.networkSamplings));
      await s.collector.start();
    } catch (err) {
      log.warn(`skywalking: starting network task ${s.task.taskId}: ${(err as Error).message}`);
      s.collector = undefined;
      s.ended = true;
      return;
    }
    log.info(`skywalking: network task ${s.task.taskId} started (pids ${s.pids.join(',')})`);
    const poll = setInterval(() => {
      try {
        s.collector?.poll();
      } catch (err) {
        log.warn(`skywalking: network task ${s.task.taskId}: ${(err as Error).message}`);
      }
    }, options.networkPollMs ?? 1_000);
    poll.unref();
    const every = setInterval(() => void report(s), options.networkReportMs ?? 2_000);
    every.unref();
    s.timers.push(poll, every);
    endNetworkAt(s);
  }

  async function finishNetwork(s: NetworkTaskState): Promise<void> {
    if (s.ended) return;
    s.ended = true;
    for (const t of s.timers) clearInterval(t);
    if (s.end !== undefined) clearTimeout(s.end);
    try {
      s.collector?.poll();
    } catch (err) {
      log.warn(`skywalking: network task ${s.task.taskId}: ${(err as Error).message}`);
    }
    s.collector?.stop();
    s.collector = undefined;
    await report(s);
    network.delete(s.task.taskId);
    log.info(`skywalking: network task ${s.task.taskId} finished`);
  }

  /** Starts a NETWORK task, or extends the running one OAP sent again (Rover's keep-alive of network profiling). */
  function runNetwork(task: ProfilingTask): boolean {
    const running = network.get(task.taskId);
    if (running !== undefined) {
      if (task.updateTime > running.task.updateTime) {
        running.task = task;
        if (!running.ended && running.collector !== undefined) endNetworkAt(running);
      }
      return false;
    }
    if (options.networkCollectors === undefined || options.sendNetwork === undefined) {
      log.warn(`skywalking: network profiling is not enabled in this agent, ignoring task ${task.taskId}`);
      return false;
    }
    if (task.startTime + task.durationMs <= now()) {
      log.debug(`skywalking: network task ${task.taskId} already ended, skipping`);
      return false;
    }
    const processIds = new Map<number, string>();
    for (const id of task.processIds) {
      const pid = options.resolvePid(id);
      if (pid === undefined) {
        // Rover profiles the processes of the task it knows; the others are named in the log.
        log.warn(`skywalking: network task ${task.taskId}: process ${id} is not known to this agent`);
        continue;
      }
      processIds.set(pid, id);
    }
    if (processIds.size === 0) return false;
    const s: NetworkTaskState = {
      task, pids: [...processIds.keys()], processIds, aggregate: createRoverNetworkAggregate(task.networkSamplings),
      collector: undefined, ended: false, timers: [], end: undefined, lostMeters: 0, lostLogs: 0,
    };
    network.set(task.taskId, s);
    const wait = task.startTime - now();
    if (wait <= 0) void beginNetwork(s);
    else {
      const t = setTimeout(() => void beginNetwork(s), wait);
      t.unref();
      s.timers.push(t);
    }
    return true;
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
      if (task.targetType === 'NETWORK') return runNetwork(task);
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
      for (const s of network.values()) if (!s.ended) for (const id of s.processIds.values()) ids.add(id);
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
      await Promise.all([...network.values()].map((s) => finishNetwork(s)));
      tasks.clear();
    },
  };
}
