/**
 * Continuous profiling: fetches each service's policies from OAP, samples the
 * watched values every second, and when a threshold is reached reports it
 * (`reportProfilingTask`) and runs the task OAP returns.
 */
import {
  ContinuousProfilingService,
  ContinuousProfilingTriggeredMonitorType as Monitor,
} from '../../gen/skywalking/ebpf/profiling/Continuous_pb.js';
import type { OapConnection } from './oap-connection.js';
import type { ReportedProcess } from './process-reporter.js';
import type { ProcessMetricsReader } from './process-metrics.js';
import type { ProfilingTask, ProfilingTargetType } from './task-command.js';
import { POLICY_COMMAND, parsePolicyCommand, type PolicyItem, type ServicePolicy } from './continuous-policy.js';
import { SampleWindow } from './sample-window.js';
import { type Logger } from '../../log/logger.js';

/** Options; periods default to Rover's (1 s fetch, 5 s check, 10 min task, 20 min silence). */
export interface ContinuousProfilerOptions {
  readonly connection: OapConnection;
  readonly processes: () => readonly ReportedProcess[];
  readonly metrics: ProcessMetricsReader;
  /** Starts a task (TaskRunner.run). */
  readonly run: (task: ProfilingTask) => boolean;
  /** Process ids that already have a task. */
  readonly busy: () => ReadonlySet<string>;
  readonly logger: Logger;
  readonly policyQueryMs?: number | undefined;
  readonly fetchMs?: number | undefined;
  readonly checkMs?: number | undefined;
  readonly executeMs?: number | undefined;
  readonly silenceMs?: number | undefined;
  readonly now?: (() => number) | undefined;
}

/** The loops, and single steps of them for callers that drive time themselves. */
export interface ContinuousProfiler {
  refreshPolicies(): Promise<void>;
  fetch(): void;
  /** Evaluates every policy; resolves with the ids of the tasks started. */
  check(): Promise<string[]>;
  policies(): readonly ServicePolicy[];
  start(): void;
  stop(): void;
}

const MONITOR_ENUM: Record<string, Monitor> = {
  PROCESS_CPU: Monitor.ProcessCPU,
  PROCESS_THREAD_COUNT: Monitor.ProcessThreadCount,
  SYSTEM_LOAD: Monitor.SystemLoad,
};

interface Cause {
  readonly item: PolicyItem;
  readonly current: number;
}

/** Creates the profiler; nothing is sent until start() or a step is called. */
export function createContinuousProfiler(options: ContinuousProfilerOptions): ContinuousProfiler {
  const now = options.now ?? Date.now;
  const log = options.logger;
  const executeMs = options.executeMs ?? 600_000;
  const silenceMs = options.silenceMs ?? 1_200_000;
  const policies = new Map<string, ServicePolicy>();
  const windows = new Map<string, SampleWindow>(); // `${processId}|${monitor}`
  const load = new SampleWindow();
  const silencedUntil = new Map<string, number>();
  const warned = new Set<string>();
  const timers: NodeJS.Timeout[] = [];

  const registered = (): ReportedProcess[] => options.processes().filter((p) => p.processId !== undefined);
  const warnOnce = (key: string, msg: string): void => {
    if (warned.has(key)) return;
    warned.add(key);
    log.warn(msg);
  };

  async function refreshPolicies(): Promise<void> {
    const services = [...new Set(registered().map((p) => p.entity.serviceName))];
    if (services.length === 0) return;
    try {
      const answer = await options.connection.unary(ContinuousProfilingService.method.queryPolicies, {
        policies: services.map((serviceName) => ({ serviceName, uuid: policies.get(serviceName)?.uuid ?? '' })),
      });
      for (const command of answer.commands) {
        if (command.command !== POLICY_COMMAND) continue;
        const { policies: updated, problems } = parsePolicyCommand(command);
        for (const p of problems) log.warn(`skywalking: continuous policy skipped: ${p}`);
        for (const p of updated) policies.set(p.serviceName, p);
      }
    } catch (err) {
      log.warn(`skywalking: querying continuous policies: ${(err as Error).message}`);
    }
  }

  function window(processId: string, monitor: string): SampleWindow {
    const key = `${processId}|${monitor}`;
    let w = windows.get(key);
    if (w === undefined) windows.set(key, (w = new SampleWindow()));
    return w;
  }

  function fetch(): void {
    const watched = registered().filter((p) => policies.has(p.entity.serviceName));
    for (const p of watched) {
      const reading = options.metrics.readProcess(p.pid);
      if (reading === undefined) continue;
      if (reading.cpuPercent !== undefined) window(p.processId ?? '', 'PROCESS_CPU').add(reading.cpuPercent);
      window(p.processId ?? '', 'PROCESS_THREAD_COUNT').add(reading.threads);
    }
    const l = options.metrics.systemLoad();
    if (l !== undefined) load.add(l);
    options.metrics.retain(new Set(watched.map((p) => p.pid)));
  }

  function causesFor(p: ReportedProcess, items: readonly PolicyItem[]): Cause[] {
    const causes: Cause[] = [];
    for (const item of items) {
      if (!(item.monitor in MONITOR_ENUM)) {
        warnOnce(item.monitor, `skywalking: continuous ${item.monitor} triggers need network profiling, not supported yet`);
        continue;
      }
      const w = item.monitor === 'SYSTEM_LOAD' ? load : window(p.processId ?? '', item.monitor);
      const current = w.match(item.period, item.count, item.threshold);
      if (current !== undefined) causes.push({ item, current });
    }
    return causes;
  }

  async function trigger(p: ReportedProcess, target: ProfilingTargetType, causes: Cause[]): Promise<string | undefined> {
    const processId = p.processId ?? '';
    silencedUntil.set(processId, now() + executeMs + silenceMs);
    const answer = await options.connection.unary(ContinuousProfilingService.method.reportProfilingTask, {
      layer: p.entity.layer,
      serviceName: p.entity.serviceName,
      instanceName: p.entity.instanceName,
      processName: p.entity.processName,
      causes: causes.map((c) => ({
        type: MONITOR_ENUM[c.item.monitor] ?? Monitor.ProcessCPU,
        cause: { case: 'singleValue' as const, value: { threshold: c.item.threshold, current: c.current } },
      })),
      duration: Math.round(executeMs / 1_000),
      targetTask: target === 'ON_CPU' ? { case: 'onCPU', value: {} } : { case: 'offCPU', value: {} },
    });
    const command = answer.commands.find((c) => c.command === 'ContinuousProfilingReportTask');
    const taskId = command?.args.find((a) => a.key === 'TaskId')?.value;
    if (taskId === undefined || taskId === '') throw new Error('oap answered without a TaskId');
    const start = now();
    const task: ProfilingTask = {
      taskId,
      processIds: [processId],
      updateTime: 0,
      startTime: start,
      triggerType: 'FIXED_TIME',
      targetType: target,
      durationMs: executeMs,
      networkSamplings: [],
    };
    log.info(`skywalking: continuous ${target} profiling of ${p.entity.serviceName}/${p.pid} triggered, task ${taskId}`);
    return options.run(task) ? taskId : undefined;
  }

  async function check(): Promise<string[]> {
    const started: string[] = [];
    const busy = options.busy();
    for (const p of registered()) {
      const policy = policies.get(p.entity.serviceName);
      const processId = p.processId ?? '';
      if (policy === undefined || busy.has(processId) || (silencedUntil.get(processId) ?? 0) > now()) continue;
      // One task per process at a time: the first target whose thresholds are reached wins.
      for (const t of policy.targets) {
        const causes = causesFor(p, t.items);
        if (causes.length === 0) continue;
        if (t.target === 'NETWORK') {
          warnOnce(`network:${policy.serviceName}`, `skywalking: continuous network profiling is not supported yet (${policy.serviceName})`);
          continue;
        }
        try {
          const id = await trigger(p, t.target, causes);
          if (id !== undefined) started.push(id);
        } catch (err) {
          log.warn(`skywalking: reporting continuous profiling task: ${(err as Error).message}`);
        }
        break;
      }
    }
    return started;
  }

  const every = (ms: number, f: () => unknown): void => {
    const t = setInterval(f, ms);
    t.unref();
    timers.push(t);
  };

  return {
    refreshPolicies,
    fetch,
    check,
    policies: () => [...policies.values()],
    start() {
      if (timers.length > 0) return;
      void refreshPolicies();
      every(options.policyQueryMs ?? 10_000, () => void refreshPolicies());
      every(options.fetchMs ?? 1_000, fetch);
      every(options.checkMs ?? 5_000, () => void check());
    },
    stop() {
      for (const t of timers.splice(0)) clearInterval(t);
    },
  };
}
