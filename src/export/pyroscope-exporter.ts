/**
 * The Pyroscope exporter: Connect push (or /ingest) transport, the
 * per-process pprof serializer, retry and queue.
 */
import type { OtlpResourceOptions } from '../encode/otlp-resource.js';
import { DEFAULT_MAX_REQUEST_BYTES } from '../encode/otlp-split.js';
import type { PyroscopeExporterConfig } from '../config/pyroscope-env.js';
import type { ExporterDeps } from './otlp-exporter.js';
import { createPyroscopeSerializer, createReceivedPyroscopeSerializer } from './pyroscope-serializer.js';
import { createForwardingExporter, type ForwardingExporter } from './forwarding-exporter.js';
import { createPyroscopeTransport } from './pyroscope-transport.js';
import { createRetryingTransport } from './retrying-transport.js';

/**
 * Creates the Pyroscope exporter; `resource` supplies OTEL_SERVICE_NAME and
 * friends for service_name of the agent's own profiles. Received profiles
 * are named by their own resource only.
 */
export function createPyroscopeExporter(
  config: PyroscopeExporterConfig,
  resource: OtlpResourceOptions,
  deps: ExporterDeps,
): ForwardingExporter {
  const name = 'pyroscope';
  const transport = createPyroscopeTransport({
    url: config.url,
    basicAuth: config.basicAuth,
    bearerToken: config.bearerToken,
    tenantId: config.tenantId,
    api: config.api,
  });
  const maxBytes = deps.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  return createForwardingExporter({
    name,
    transport: createRetryingTransport(transport, { ...deps.retry, onRetry: () => deps.metrics.recordRetry(name) }),
    metrics: deps.metrics,
    logger: deps.logger,
    timeoutMs: config.timeoutMs,
    queue: deps.queue,
    traceSend: deps.traceSend,
  }, {
    own: createPyroscopeSerializer(resource, maxBytes),
    received: createReceivedPyroscopeSerializer(maxBytes),
  });
}
