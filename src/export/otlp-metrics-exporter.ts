/**
 * The OTLP metrics exporter of network reports: the same transports, retry
 * and bounded queue as profiles, on the MetricsService RPC (gRPC) or the
 * /v1/metrics URL (HTTP). No logic of its own.
 */
import type { OtlpExporterConfig } from '../config/otlp-env.js';
import { encodeOtlpMetricsBinary } from '../encode/otlp-metrics.js';
import type { OtlpResourceOptions } from '../encode/otlp-resource.js';
import type { NetworkReport } from '../profile/network-report.js';
import { METRICS_EXPORT_METHOD } from './otlp-grpc-transport.js';
import { createOtlpTransport, type ExporterDeps } from './otlp-exporter.js';
import { createItemExporter, type QueuedExporter } from './queued-exporter.js';
import { createRetryingTransport } from './retrying-transport.js';

/** Data points in a report: what a dropped request loses, as "samples" in the export metrics. */
function dataPoints(reports: readonly NetworkReport[]): number {
  return reports.reduce((n, r) => n + r.http.length + r.tcp.length, 0);
}

/** Creates the metrics exporter for config (OTEL_EXPORTER_OTLP_(METRICS_)*). */
export function createOtlpMetricsExporter(config: OtlpExporterConfig, resource: OtlpResourceOptions, deps: ExporterDeps): QueuedExporter<NetworkReport> {
  const name = `otlp-metrics-${config.protocol === 'grpc' ? 'grpc' : 'http'}`;
  return createItemExporter<NetworkReport>({
    name,
    // one report per interval: its size follows attribute sets, far below any request limit
    serializer: { serialize: (reports) => ({ requests: reports.map((r) => ({ bytes: encodeOtlpMetricsBinary(r, resource), samples: dataPoints([r]) })), tooLargeSamples: 0 }) },
    transport: createRetryingTransport(createOtlpTransport(config, METRICS_EXPORT_METHOD), { ...deps.retry, onRetry: () => deps.metrics.recordRetry(name) }),
    metrics: deps.metrics,
    logger: deps.logger,
    timeoutMs: config.timeoutMs,
    queue: deps.queue,
    traceSend: deps.traceSend,
  }, dataPoints);
}
