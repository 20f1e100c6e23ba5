/**
 * The OTLP exporters of network reports: metrics (MetricsService or
 * /v1/metrics) and the slow and failed requests as logs (LogsService or
 * /v1/logs), with the same transports, retry and bounded queue as profiles.
 * No logic of their own.
 */
import type { OtlpExporterConfig } from '../config/otlp-env.js';
import { encodeNotableLogsBinary } from '../encode/otlp-logs.js';
import { encodeOtlpMetricsBinary } from '../encode/otlp-metrics.js';
import type { OtlpResourceOptions } from '../encode/otlp-resource.js';
import type { NetworkReport } from '../profile/network-report.js';
import { LOGS_EXPORT_METHOD, METRICS_EXPORT_METHOD } from './otlp-grpc-transport.js';
import { createOtlpTransport, type ExporterDeps } from './otlp-exporter.js';
import { createItemExporter, type QueuedExporter, type SerializedRequest } from './queued-exporter.js';
import { createRetryingTransport } from './retrying-transport.js';

/** Data points in reports: what a dropped metrics request loses, as "samples" in the export metrics. */
function dataPoints(reports: readonly NetworkReport[]): number {
  return reports.reduce((n, r) => n + r.http.length + r.tcp.length, 0);
}

function notableCount(reports: readonly NetworkReport[]): number {
  return reports.reduce((n, r) => n + r.notable.length, 0);
}

function exporter(
  signal: 'metrics' | 'logs', config: OtlpExporterConfig, deps: ExporterDeps,
  encode: (r: NetworkReport) => Uint8Array | undefined, count: (reports: readonly NetworkReport[]) => number,
): QueuedExporter<NetworkReport> {
  const name = `otlp-${signal}-${config.protocol === 'grpc' ? 'grpc' : 'http'}`;
  return createItemExporter<NetworkReport>({
    name,
    // one report per interval: its size follows attribute sets (and the 1000 notable at most), far below any request limit
    serializer: {
      serialize: (reports) => ({
        requests: reports.flatMap((r): SerializedRequest[] => {
          const bytes = encode(r);
          return bytes ? [{ bytes, samples: count([r]) }] : [];
        }),
        tooLargeSamples: 0,
      }),
    },
    transport: createRetryingTransport(createOtlpTransport(config, signal === 'metrics' ? METRICS_EXPORT_METHOD : LOGS_EXPORT_METHOD),
      { ...deps.retry, onRetry: () => deps.metrics.recordRetry(name) }),
    metrics: deps.metrics,
    logger: deps.logger,
    timeoutMs: config.timeoutMs,
    queue: deps.queue,
    traceSend: deps.traceSend,
  }, count);
}

/** The metrics exporter for config (OTEL_EXPORTER_OTLP_(METRICS_)*). */
export function createOtlpMetricsExporter(config: OtlpExporterConfig, resource: OtlpResourceOptions, deps: ExporterDeps): QueuedExporter<NetworkReport> {
  return exporter('metrics', config, deps, (r) => encodeOtlpMetricsBinary(r, resource), dataPoints);
}

/** The logs exporter of notable requests for config (OTEL_EXPORTER_OTLP_(LOGS_)*). */
export function createOtlpNotableLogsExporter(config: OtlpExporterConfig, resource: OtlpResourceOptions, deps: ExporterDeps): QueuedExporter<NetworkReport> {
  return exporter('logs', config, deps, (r) => encodeNotableLogsBinary(r, resource), notableCount);
}
