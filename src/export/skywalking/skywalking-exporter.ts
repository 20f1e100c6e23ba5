/**
 * The SkyWalking side of meshprof, in Rover's place: process reporting, task
 * polling and running, and continuous profiling over one OAP connection.
 * The controller supplies the task scheduler (it owns the samplers) and the
 * process list; task data goes out through a queued, retrying exporter.
 */
import { randomUUID } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import { defaultSkyWalkingPeriods, type SkyWalkingEnvConfig, type SkyWalkingPeriods } from '../../config/skywalking-env.js';
import { createOapConnection } from './oap-connection.js';
import { createProcessReporter, type ProcessSource, type ReportedProcess } from './process-reporter.js';
import { defaultEntityRules, type EntityRules } from './process-entity.js';
import { createProfilingDataExporter, type TaskProfilingData } from './profiling-data-exporter.js';
import type { ProfilingTask } from './task-command.js';
import type { Profile } from '../../profile/model.js';
import { createExportMetrics, type ExportMetrics } from '../export-metrics.js';
import type { QueueLimits } from '../bounded-queue.js';
import type { RetryOptions } from '../retrying-transport.js';
import { createTaskPoller } from './task-poller.js';
import { createContinuousProfiler, type HttpExchangeSource } from './continuous-profiler.js';
import { createProcessMetricsReader } from './process-metrics.js';
import { silentLogger, type Logger } from '../../log/logger.js';
import { MeterReportService } from '../../gen/skywalking/language-agent/Meter_pb.js';
import { LogReportService } from '../../gen/skywalking/logging/Logging_pb.js';
import { ROVER_NETWORK_METER_PREFIX, type LogDataInit, type RoverNetworkOutput, type RoverProcess } from './rover-network.js';

/** Runs the tasks OAP hands out (the controller's, which owns the samplers). */
export interface ProfilingTaskScheduler {
  /** Accepts a task: runs it now or at its start time. False when skipped (ended, unsupported, unknown process). */
  run(task: ProfilingTask): boolean;
  /** Process ids with a task that is scheduled or running. */
  busyProcessIds(): ReadonlySet<string>;
  start(): void;
  /** Stops every task, after queueing what each collected. */
  stop(): Promise<void>;
  /** Collects every running task now and queues its data. */
  flush(): Promise<void>;
  /**
   * Profiles another producer sent this node (the receiver): the samples of
   * processes an ON_CPU task runs on go to OAP as that task's data. Returns
   * the samples taken. `profiles` is called only when a task could take some.
   */
  offer?(profiles: () => readonly Profile[]): number;
}

/** What the exporter gives the task scheduler. */
export interface TaskSchedulerParts {
  /** Host pid of an OAP process id, undefined when unknown. */
  readonly resolvePid: (processId: string) => number | undefined;
  /** Queues one drain of one task for OAP. */
  readonly send: (data: TaskProfilingData) => void;
  readonly logger: Logger;
  readonly flushMs: number;
  /** OAP's process of a process id, for NETWORK tasks' labels. */
  readonly processOf: (processId: string) => RoverProcess | undefined;
  /** Sends a NETWORK task's interval: meters through collectBatch, sampled requests through LogReportService, one stream per service. */
  readonly sendNetwork: (data: RoverNetworkOutput) => Promise<void>;
  readonly networkReportMs: number;
  readonly networkMeterPrefix: string;
}

/** What the controller passes in. */
export interface SkyWalkingExporterOptions {
  /** Usually readSkyWalkingEnv()'s result; only addr is required. */
  readonly config: Pick<SkyWalkingEnvConfig, 'addr'> &
    Partial<Pick<SkyWalkingEnvConfig, 'tls' | 'authentication' | 'clusterName' | 'hostProcPath' | 'networkMeterPrefix'>> & {
      readonly periods?: Partial<SkyWalkingPeriods> | undefined;
    };
  readonly source: ProcessSource;
  /** Makes the task scheduler; profiling data goes out through `parts.send`. */
  readonly tasks: (parts: TaskSchedulerParts) => ProfilingTaskScheduler;
  readonly logger?: Logger | undefined;
  /** The profiling data queue's metrics, logger, retry and limits, as the other exporters'. */
  readonly export?: {
    readonly metrics?: ExportMetrics | undefined;
    readonly logger?: Logger | undefined;
    readonly retry?: RetryOptions | undefined;
    readonly queue?: QueueLimits | undefined;
    /** How long stop() waits for queued data to go out; default 5 s. */
    readonly shutdownTimeoutMs?: number | undefined;
  } | undefined;
  /** Defaults to a random UUID, as Rover's instance id. */
  readonly agentId?: string | undefined;
  /** Defaults to the first non-loopback IPv4 address. */
  readonly hostIp?: string | undefined;
  /** Overrides Rover's default entity rules. */
  readonly rules?: EntityRules | undefined;
  /** Continuous profiling on (default) or off. */
  readonly continuous?: boolean | undefined;
  /** Feeds continuous HTTP_ERROR_RATE / HTTP_AVG_RESPONSE_TIME policies (the agent's network sampler). */
  readonly httpExchanges?: HttpExchangeSource | undefined;
  /** How often policies are re-queried; defaults to the task query interval. */
  readonly policyQueryMs?: number | undefined;
  readonly reconnectBackoffMs?: { readonly initial: number; readonly max: number } | undefined;
}

/** The running exporter. */
export interface SkyWalkingExporter {
  readonly agentId: string;
  start(): void;
  /** Stops the loops, flushes what the tasks collected, and closes the connection. */
  stop(): Promise<void>;
  /** Collects every running task now (before the shared process table forgets exited processes). */
  flushTasks(): Promise<void>;
  /** Received profiles for the running tasks (ProfilingTaskScheduler.offer); the samples taken. */
  offerReceived(profiles: () => readonly Profile[]): number;
  processes(): readonly ReportedProcess[];
}

/** First non-internal IPv4 address of this host, or 127.0.0.1. */
export function defaultHostIp(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** Wires the parts together; nothing connects until start(). */
export function createSkyWalkingExporter(options: SkyWalkingExporterOptions): SkyWalkingExporter {
  const periods: SkyWalkingPeriods = { ...defaultSkyWalkingPeriods, ...options.config.periods };
  const logger = options.logger ?? silentLogger;
  const agentId = options.agentId ?? randomUUID();
  const hostIp = options.hostIp ?? defaultHostIp();
  const connection = createOapConnection({
    addr: options.config.addr,
    tls: options.config.tls,
    authentication: options.config.authentication,
    initialBackoffMs: options.reconnectBackoffMs?.initial,
    maxBackoffMs: options.reconnectBackoffMs?.max,
  });
  const reporter = createProcessReporter({
    connection,
    agentId,
    source: options.source,
    rules: options.rules ?? defaultEntityRules(hostIp || hostname(), options.config.clusterName),
    hostIp,
    logger,
    heartbeatMs: periods.heartbeatMs,
    reportEveryBeats: periods.reportEveryBeats,
  });
  const resolvePid = (id: string): number | undefined => reporter.byProcessId(id)?.pid;
  const data = createProfilingDataExporter({
    connection,
    metrics: options.export?.metrics ?? createExportMetrics(),
    logger: options.export?.logger ?? silentLogger,
    retry: options.export?.retry,
    queue: options.export?.queue,
  });
  const sendNetwork = async (out: RoverNetworkOutput): Promise<void> => {
    if (out.meters.length > 0) await connection.clientStream(MeterReportService.method.collectBatch, out.meters);
    const byService = new Map<string, LogDataInit[]>();
    for (const l of out.logs) {
      const key = l.service ?? '';
      const logs = byService.get(key);
      if (logs === undefined) byService.set(key, [l]);
      else logs.push(l);
    }
    for (const logs of byService.values()) await connection.clientStream(LogReportService.method.collect, logs);
  };
  const runner = options.tasks({
    resolvePid,
    send: (d) => data.export([d]),
    logger,
    flushMs: periods.flushMs,
    processOf: (id) => {
      const p = reporter.byProcessId(id);
      return p === undefined ? undefined : { processId: id, entity: p.entity };
    },
    sendNetwork,
    networkReportMs: periods.networkReportMs,
    networkMeterPrefix: options.config.networkMeterPrefix ?? ROVER_NETWORK_METER_PREFIX,
  });
  const poller = createTaskPoller({
    connection,
    agentId,
    run: runner.run,
    knowsProcesses: (task) => task.processIds.every((id) => resolvePid(id) !== undefined),
    logger,
    intervalMs: periods.taskQueryMs,
  });
  const continuous =
    options.continuous === false
      ? undefined
      : createContinuousProfiler({
          connection,
          http: options.httpExchanges,
          processes: reporter.processes,
          metrics: createProcessMetricsReader(options.config.hostProcPath ?? '/proc'),
          run: runner.run,
          busy: runner.busyProcessIds,
          logger,
          policyQueryMs: options.policyQueryMs ?? periods.taskQueryMs,
          fetchMs: periods.continuousFetchMs,
          checkMs: periods.continuousCheckMs,
          executeMs: periods.continuousExecuteMs,
          silenceMs: periods.continuousSilenceMs,
        });

  return {
    agentId,
    start() {
      logger.info(`skywalking: reporting to ${options.config.addr} as agent ${agentId}`);
      reporter.start();
      poller.start();
      runner.start();
      continuous?.start();
    },
    async stop() {
      continuous?.stop();
      poller.stop();
      reporter.stop();
      await runner.stop();
      await data.shutdown(options.export?.shutdownTimeoutMs ?? 5_000);
      connection.close();
    },
    flushTasks: () => runner.flush(),
    offerReceived: (profiles) => runner.offer?.(profiles) ?? 0,
    processes: reporter.processes,
  };
}
