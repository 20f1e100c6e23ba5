/**
 * SkyWalking in Rover's place: when MESHPROF_SKYWALKING_ADDR (or Rover's
 * ROVER_BACKEND_ADDR) is set, reports the processes of the agent's process
 * table to OAP and runs the tasks OAP hands out, each as a collector of the
 * agent's pipeline (same process table, symbols, unwinder and settings).
 */
import type { AgentConfig } from '../config/agent-config.js';
import type { SkyWalkingEnvConfig } from '../config/skywalking-env.js';
import type { ExportMetrics } from '../export/index.js';
import {
  createSkyWalkingExporter, type HttpExchangeSource, type ProcessSource, type SkyWalkingExporter, type WatchedExchange,
} from '../export/skywalking/index.js';
import type { ProcessMetadata } from '../profile/model.js';
import { createCollector, createNetworkCollectorFor, type ProcessServices } from './collector-factory.js';
import type { NetworkSettings } from '../config/network-env.js';
import { createTaskRunner } from './skywalking-tasks.js';
import { type Logger } from '../log/logger.js';
import { redactingLogger } from '../log/redact.js';

/**
 * The live processes of the table that run an executable (kernel threads
 * have none), described as the profiles describe them.
 */
export function processTableSource(services: Pick<ProcessServices, 'processes' | 'describe'>): ProcessSource {
  return {
    list() {
      const out: ProcessMetadata[] = [];
      for (const p of services.processes.all()) {
        if (p.exited || p.exePath === undefined) continue;
        out.push(services.describe(p.pid, p.comm));
      }
      return out;
    },
  };
}

/** Exchanges kept between two fetches of the continuous profiler; more are counted and dropped. */
const MAX_WATCHED_EXCHANGES = 100_000;

/**
 * The continuous HTTP policies' exchanges: a network collector over the
 * watched pids, made on the first watch and stopped when none is left.
 */
export function networkHttpSource(services: ProcessServices, network: NetworkSettings | undefined, log: Logger): HttpExchangeSource {
  let collector: ReturnType<typeof createNetworkCollectorFor> | undefined;
  let pending: WatchedExchange[] = [];
  let lost = 0;
  const stop = (): void => {
    collector?.stop();
    collector = undefined;
  };
  return {
    watch(pids) {
      if (pids.length === 0) {
        stop();
        return;
      }
      if (collector !== undefined) {
        collector.setTargets(pids);
        return;
      }
      const c = createNetworkCollectorFor({
        targets: pids, tls: network?.tls ?? true, log,
        observe: (batch) => {
          for (const e of batch.exchanges) {
            // Rover's policies read answered requests only
            if (e.statusCode === undefined) continue;
            if (pending.length >= MAX_WATCHED_EXCHANGES) lost++;
            else pending.push({ pid: e.tgid, path: e.path, statusCode: e.statusCode, durationNs: e.durationNs });
          }
        },
      }, services);
      collector = c;
      void Promise.resolve(c.start()).catch((err: unknown) => {
        log.warn(`skywalking: continuous HTTP policies: starting the network sampler: ${(err as Error).message}`);
        if (collector === c) collector = undefined;
      });
    },
    drain() {
      try {
        collector?.poll();
      } catch (err) {
        log.warn(`skywalking: continuous HTTP policies: ${(err as Error).message}`);
      }
      if (lost > 0) log.warn(`skywalking: continuous HTTP policies: ${lost} exchanges over ${MAX_WATCHED_EXCHANGES} in one fetch were not counted`);
      lost = 0;
      const out = pending;
      pending = [];
      return out;
    },
    stop,
  };
}

/** Creates (not starts) the SkyWalking exporter over the agent's pipeline services. */
export function createSkyWalkingService(
  sw: SkyWalkingEnvConfig, config: AgentConfig, agentLog: Logger, services: ProcessServices, metrics: ExportMetrics,
  network?: NetworkSettings,
): SkyWalkingExporter {
  const log = redactingLogger(agentLog, sw.authentication);
  return createSkyWalkingExporter({
    config: sw,
    source: processTableSource(services),
    tasks: (parts) => createTaskRunner({
      ...parts,
      // On-CPU at the agent's frequency, off-CPU for every block over 1 µs; the agent's
      // collectors report the unwinder's drops, so tasks do not count them twice.
      collectors: (kind, pids) => createCollector(kind, {
        targets: pids, frequencyHz: config.frequencyHz, minBlockNs: 1000n, state: 'all', awaitTables: false, reportsTableDrops: false,
        log,
      }, services),
      // NETWORK tasks: the network sampler over the task's processes, TLS as MESHPROF_NETWORK_TLS says.
      networkCollectors: (pids, observe, keeps) => createNetworkCollectorFor({
        targets: pids, tls: network?.tls ?? true, observe, ...(keeps ? { keeps } : {}), requestHeadBytes: network?.requestHeadBytes ?? 1024, log,
      }, services),
    }),
    logger: log,
    httpExchanges: networkHttpSource(services, network, log),
    export: { metrics, logger: log, retry: config.exportRetry, queue: config.exportQueue, shutdownTimeoutMs: config.shutdownTimeoutMs },
  });
}
