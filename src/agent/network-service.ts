/**
 * Network profiling in the agent (MESHPROF_PROFILES with `network`): one
 * network collector over the agent's process services, polled with the
 * profile collectors, its report logged and exported as OTLP metrics each
 * interval.
 */
import type { AgentMetrics } from '../export/agent-metrics.js';
import type { NetworkSettings } from '../config/network-env.js';
import type { ExportersEnvConfig } from '../config/exporters-env.js';
import { resourceOptions } from '../export/exporters-from-env.js';
import { createOtlpMetricsExporter, createOtlpNotableLogsExporter } from '../export/otlp-network-exporters.js';
import type { QueuedExporter } from '../export/queued-exporter.js';
import type { NetworkReport } from '../profile/network-report.js';
import type { TargetSelection } from '../stacks/raw-stacks.js';
import type { Logger } from '../log/logger.js';
import type { AgentConfig } from '../config/agent-config.js';
import { createNetworkCollectorFor, type ProcessServices } from './collector-factory.js';

/** The agent's network part. */
export interface NetworkService {
  start(targets: TargetSelection): Promise<void>;
  poll(): void;
  setTargets(targets: TargetSelection): void;
  /** Collects the interval's report, logs it and hands it to the exporter. */
  deliver(): void;
  /** Stops the sampler, then flushes the exporter within deadlineMs. */
  stop(deadlineMs: number): Promise<void>;
}

function summarize(r: NetworkReport): Record<string, unknown> {
  return {
    exchanges: r.http.reduce((n, p) => n + p.count, 0),
    series: r.http.length,
    tcpBytes: r.tcp.reduce((n, f) => n + f.bytesSent + f.bytesReceived, 0),
    notable: r.notable.length,
    processes: r.processes.size,
    dropped: r.drops,
  };
}

/** Creates the network service; nothing is loaded before start(). */
export function createNetworkService(
  settings: NetworkSettings, exporters: ExportersEnvConfig, config: AgentConfig, shared: ProcessServices, metrics: AgentMetrics, log: Logger,
): NetworkService {
  const deps = { logger: log, metrics: metrics.export, retry: config.exportRetry, queue: config.exportQueue };
  const resource = resourceOptions(exporters.resource);
  const exporter: QueuedExporter<NetworkReport> | undefined = exporters.otlpMetrics.endpointExplicit
    ? createOtlpMetricsExporter(exporters.otlpMetrics, resource, deps)
    : undefined;
  // slow, failed and unanswered requests as log records
  const logs: QueuedExporter<NetworkReport> | undefined = exporters.otlpLogs.endpointExplicit
    ? createOtlpNotableLogsExporter(exporters.otlpLogs, resource, deps)
    : undefined;
  let collector: ReturnType<typeof createNetworkCollectorFor> | undefined;
  return {
    async start(targets) {
      // request heads are copied for the trace context of the log records: only when they are sent
      collector = createNetworkCollectorFor({ targets, ...settings, requestHeadBytes: logs ? settings.requestHeadBytes : 0, log }, shared);
      await collector.start();
      log.info({ exporter: exporter?.name ?? 'none', logs: logs?.name ?? 'none', slowMs: settings.slowThresholdNs / 1e6, tls: settings.tls }, 'network profiling started');
    },
    poll: () => { collector?.poll(); },
    setTargets: (t) => collector?.setTargets(t),
    deliver() {
      if (!collector) return;
      const report = collector.collect();
      log.info({ kind: 'network', ...summarize(report) }, 'collected interval');
      if (report.http.length > 0 || report.tcp.length > 0) exporter?.export([report]);
      if (report.notable.length > 0) logs?.export([report]);
    },
    async stop(deadlineMs) {
      try {
        collector?.stop();
      } finally {
        collector = undefined;
        await Promise.all([exporter?.shutdown(deadlineMs), logs?.shutdown(deadlineMs)]);
      }
    },
  };
}
