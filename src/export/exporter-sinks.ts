/**
 * The exporters the environment asks for (OTLP gRPC/HTTP, Pyroscope), as
 * profile sinks: each interval's profiles go to exporter.export(), which
 * queues and never blocks; shutdown flushes within the deadline.
 */
import type { AgentConfig } from '../config/agent-config.js';
import type { ExportersEnvConfig } from '../config/exporters-env.js';
import { createExporters } from './exporters-from-env.js';
import type { ExportMetrics, SelfTelemetry } from './index.js';
import type { ForwardingExporter } from './forwarding-exporter.js';
import type { ProfileSink } from './profile-sink.js';
import { type Logger } from '../log/logger.js';

/** What the exporters share. */
export interface ExporterSinkDeps {
  readonly config: AgentConfig;
  readonly metrics: ExportMetrics;
  readonly log: Logger;
  readonly telemetry: SelfTelemetry;
}

/** Wraps one exporter as a sink. */
export function exporterSink(exporter: ForwardingExporter): ProfileSink {
  return {
    name: exporter.name,
    consume(_kind, profile) {
      exporter.export([profile]);
      return Promise.resolve();
    },
    forward: (received) => exporter.forward(received),
    shutdown: (deadlineMs) => exporter.shutdown(deadlineMs),
  };
}

/** Creates a sink per exporter the settings (read by config/meshprof-env.ts) configure. */
export function createExporterSinks(settings: ExportersEnvConfig, deps: ExporterSinkDeps): ProfileSink[] {
  const { config, telemetry } = deps;
  const exporters = createExporters(settings, {
    logger: deps.log,
    metrics: deps.metrics,
    queue: config.exportQueue,
    retry: config.exportRetry,
    maxRequestBytes: config.exportMaxRequestBytes,
    traceSend: telemetry.enabled ? (name, fn) => telemetry.span(name, fn) : undefined,
  });
  return exporters.map(exporterSink);
}
