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
import type { NetworkSamplingRule, ProfilingTask, ProfilingTargetType } from './task-command.js';
import { POLICY_COMMAND, parsePolicyCommand, type PolicyItem, type ServicePolicy } from './continuous-policy.js';
import { SampleWindow } from './sample-window.js';
import { type Logger } from '../../log/logger.js';

/** One HTTP request and its response, as the HTTP policies read it. */
export interface WatchedExchange {
  readonly pid: number;
  /** The request path without the query. */
  readonly path: string;
  readonly statusCode: number;
  readonly durationNs: number;
}

/**
 * HTTP exchanges of the processes with HTTP_ERROR_RATE or
 * HTTP_AVG_RESPONSE_TIME policies (the agent's network sampler).
 */
export interface HttpExchangeSource {
  /** Follows exactly these pids from now on (none stops following). */
  watch(pids: readonly number[]): void;
  /** The exchanges answered since the previous call. */
  drain(): readonly WatchedExchange[];
  stop(): void;
}

/** Options; periods default to Rover's (1 s fetch, 5 s check, 10 min task, 20 min silence). */
export interface ContinuousProfilerOptions {
  /** Feeds the HTTP policies; without it they are logged once and ignored. */
  readonly http?: HttpExchangeSource | undefined;
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
  HTTP_ERROR_RATE: Monitor.HTTPErrorRate,
  HTTP_AVG_RESPONSE_TIME: Monitor.HTTPAvgResponseTime,
};

const isHttp = (item: PolicyItem): boolean => item.monitor === 'HTTP_ERROR_RATE' || item.monitor === 'HTTP_AVG_RESPONSE_TIME';

interface Cause {
  readonly item: PolicyItem;
  readonly current: number;
  /** HTTP causes: the URI filter that matched (Rover's URICause); '' path for all requests. */
  readonly uri?: { readonly case: 'regex' | 'path'; readonly value: string } | undefined;
}

/** Windows of one HTTP policy item: one per listed URI, else one for the regex's (or every) requests. */
const itemKey = (target: string, item: PolicyItem): string => `${target}|${item.monitor}|${item.uriRegex ?? ''}|${item.uriList.join(',')}`;

/**
 * One fetch's value of an HTTP item over the exchanges it filters, as Rover's
 * windows: 5xx share in percent (0 without requests), mean whole milliseconds
 * (NaN without requests, so it never reaches a threshold).
 */
export function httpSlotValue(monitor: PolicyItem['monitor'], exchanges: readonly WatchedExchange[]): number {
  if (monitor === 'HTTP_ERROR_RATE') {
    if (exchanges.length === 0) return 0;
    return (exchanges.filter((e) => e.statusCode >= 500).length / exchanges.length) * 100;
  }
  return exchanges.reduce((n, e) => n + Math.floor(e.durationNs / 1e6), 0) / exchanges.length;
}

/** Rover's sampling rules of a triggered NETWORK task: every request of the matched URIs. */
function samplingRulesOf(causes: readonly Cause[]): { rules: NetworkSamplingRule[]; regexes: string[] } {
  const rules: NetworkSamplingRule[] = [];
  const regexes: string[] = [];
  for (const c of causes) {
    if (c.uri === undefined) continue;
    // Rover uses the listed path itself as the regex
    const rule = { uriRegex: new RegExp(c.uri.value), minDurationMs: 0, when4xx: true, when5xx: true };
    if (c.uri.value === '') return { rules: [rule], regexes: [''] };
    rules.push(rule);
    regexes.push(c.uri.value);
  }
  return { rules, regexes };
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
  let httpWatched = '';

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
    fetchHttp(watched);
  }

  /** One slot per HTTP item and URI filter of each process with HTTP policies, from the exchanges since the last fetch. */
  function fetchHttp(watched: readonly ReportedProcess[]): void {
    const http = options.http;
    if (http === undefined) return;
    const withHttp = watched.filter((p) => policies.get(p.entity.serviceName)?.targets.some((t) => t.items.some(isHttp)));
    const pids = withHttp.map((p) => p.pid).sort((a, b) => a - b);
    if (pids.join(',') !== httpWatched) {
      httpWatched = pids.join(',');
      http.watch(pids);
    }
    if (pids.length === 0) return;
    const byPid = new Map<number, WatchedExchange[]>();
    for (const e of http.drain()) {
      let list = byPid.get(e.pid);
      if (list === undefined) byPid.set(e.pid, (list = []));
      list.push(e);
    }
    for (const p of withHttp) {
      const exchanges = byPid.get(p.pid) ?? [];
      for (const t of policies.get(p.entity.serviceName)?.targets ?? []) {
        for (const item of t.items) {
          if (!isHttp(item)) continue;
          const key = itemKey(t.target, item);
          if (item.uriList.length > 0) {
            for (const uri of item.uriList) window(p.processId ?? '', `${key}|${uri}`).add(httpSlotValue(item.monitor, exchanges.filter((e) => e.path === uri)));
            continue;
          }
          const regex = item.uriRegex === undefined ? undefined : uriRegex(item.uriRegex);
          if (regex === null) {
            warnOnce(`regex:${item.uriRegex ?? ''}`, `skywalking: continuous ${item.monitor} policy of ${p.entity.serviceName}: URIRegex ${item.uriRegex ?? ''} is not a regular expression, ignored`);
            continue;
          }
          const matched = regex === undefined ? exchanges : exchanges.filter((e) => regex.test(e.path));
          window(p.processId ?? '', key).add(httpSlotValue(item.monitor, matched));
        }
      }
    }
  }

  // Compiled once per pattern, not at every fetch (each second); null when it does not compile.
  const regexes = new Map<string, RegExp | null>();
  function uriRegex(pattern: string): RegExp | null {
    let r = regexes.get(pattern);
    if (r === undefined) {
      try {
        r = new RegExp(pattern);
      } catch {
        r = null;
      }
      regexes.set(pattern, r);
    }
    return r;
  }

  function causesFor(p: ReportedProcess, target: ProfilingTargetType, items: readonly PolicyItem[]): Cause[] {
    const causes: Cause[] = [];
    for (const item of items) {
      if (isHttp(item)) {
        if (options.http === undefined) {
          warnOnce(item.monitor, `skywalking: continuous ${item.monitor} triggers need the agent's network sampler, ignored`);
          continue;
        }
        const key = itemKey(target, item);
        if (item.uriList.length > 0) {
          for (const uri of item.uriList) {
            const current = window(p.processId ?? '', `${key}|${uri}`).match(item.period, item.count, item.threshold);
            if (current !== undefined) causes.push({ item, current, uri: { case: 'path', value: uri } });
          }
          continue;
        }
        const current = window(p.processId ?? '', key).match(item.period, item.count, item.threshold);
        if (current !== undefined) {
          causes.push({ item, current, uri: item.uriRegex !== undefined ? { case: 'regex', value: item.uriRegex } : { case: 'path', value: '' } });
        }
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
    const sampling = target === 'NETWORK' ? samplingRulesOf(causes) : { rules: [], regexes: [] };
    const answer = await options.connection.unary(ContinuousProfilingService.method.reportProfilingTask, {
      layer: p.entity.layer,
      serviceName: p.entity.serviceName,
      instanceName: p.entity.instanceName,
      processName: p.entity.processName,
      causes: causes.map((c) => ({
        type: MONITOR_ENUM[c.item.monitor] ?? Monitor.ProcessCPU,
        cause: c.uri === undefined
          ? { case: 'singleValue' as const, value: { threshold: c.item.threshold, current: c.current } }
          : { case: 'uri' as const, value: { uri: { case: c.uri.case, value: c.uri.value }, threshold: c.item.threshold, current: c.current } },
      })),
      duration: Math.round(executeMs / 1_000),
      targetTask: target === 'ON_CPU' ? { case: 'onCPU', value: {} }
        : target === 'OFF_CPU' ? { case: 'offCPU', value: {} }
        : { case: 'network', value: { samplingURIRegexes: sampling.regexes } },
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
      networkSamplings: sampling.rules,
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
        const causes = causesFor(p, t.target, t.items);
        if (causes.length === 0) continue;
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
      options.http?.stop();
    },
  };
}
