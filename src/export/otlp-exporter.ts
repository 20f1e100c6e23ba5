/**
 * The OTLP profiles exporter: picks the gRPC or HTTP transport from the
 * config and wires serializer, retry and queue. No logic of its own.
 */
import { readFileSync } from 'node:fs';
import type { OtlpEncodeOptions } from '../encode/otlp.js';
import { DEFAULT_MAX_REQUEST_BYTES, encodeOtlpRequests } from '../encode/otlp-split.js';
import type { OtlpExporterConfig } from '../config/otlp-env.js';
import type { QueueLimits } from './bounded-queue.js';
import type { ExportMetrics } from './export-metrics.js';
import { createOtlpGrpcTransport } from './otlp-grpc-transport.js';
import { createOtlpHttpTransport } from './otlp-http-transport.js';
import type { QueuedExporterOptions } from './queued-exporter.js';
import { createForwardingExporter, type ForwardingExporter } from './forwarding-exporter.js';
import { createOtlpForwardSerializer } from './otlp-forward.js';
import type { RetryOptions } from './retrying-transport.js';
import { createRetryingTransport } from './retrying-transport.js';
import type { ExportTransport } from './transport.js';
import { type Logger } from '../log/logger.js';

/** Shared runtime parts every exporter factory takes. */
export interface ExporterDeps {
  readonly logger: Logger;
  readonly metrics: ExportMetrics;
  readonly retry?: RetryOptions | undefined;
  readonly queue?: QueueLimits | undefined;
  readonly maxRequestBytes?: number | undefined;
  readonly traceSend?: QueuedExporterOptions['traceSend'];
}

/**
 * Creates the OTLP exporter for config; `encode` carries the resource
 * settings. Received requests are forwarded with their own dictionary.
 */
export function createOtlpExporter(config: OtlpExporterConfig, encode: OtlpEncodeOptions, deps: ExporterDeps): ForwardingExporter {
  const name = `otlp-${config.protocol === 'grpc' ? 'grpc' : 'http'}`;
  const transport = createOtlpTransport(config);
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
    own: { serialize: (profiles) => encodeOtlpRequests(profiles, maxBytes, encode) },
    received: createOtlpForwardSerializer(maxBytes),
  });
}

/** The bare transport for config (files read here, errors name the file). */
export function createOtlpTransport(config: OtlpExporterConfig, grpcMethod?: string): ExportTransport {
  const certificate = readPem('OTLP certificate', config.certificate);
  const clientKey = readPem('OTLP client key', config.clientKey);
  const clientCertificate = readPem('OTLP client certificate', config.clientCertificate);
  if (config.protocol === 'grpc') {
    return createOtlpGrpcTransport({
      method: grpcMethod,
      endpoint: config.endpoint,
      headers: config.headers,
      compression: config.compression,
      insecure: config.insecure,
      certificate,
      clientKey,
      clientCertificate,
    });
  }
  return createOtlpHttpTransport({
    url: config.endpoint,
    headers: config.headers,
    compression: config.compression,
    tls: { ca: certificate, key: clientKey, cert: clientCertificate },
  });
}

function readPem(what: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`reading ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}
