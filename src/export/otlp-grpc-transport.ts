/**
 * OTLP/gRPC transport: a unary ProfilesService/Export call with
 * pass-through serializers, so the request is encoded exactly once.
 */
import * as grpc from '@grpc/grpc-js';
import { retryDelayFromMetadata } from './grpc-retry-info.js';
import type { ExportTransport, SendResult } from './transport.js';

/** Full method path of the OTLP profiles export RPC. */
export const PROFILES_EXPORT_METHOD =
  '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export';

/** Full method path of the OTLP metrics export RPC. */
export const METRICS_EXPORT_METHOD = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';
/** Full method path of the OTLP logs export RPC. */
export const LOGS_EXPORT_METHOD = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

/** Settings for createOtlpGrpcTransport. */
export interface OtlpGrpcTransportOptions {
  /** The export RPC; default PROFILES_EXPORT_METHOD. */
  readonly method?: string | undefined;
  /** http(s)://host:port (the scheme picks TLS) or host:port (TLS unless insecure). */
  readonly endpoint: string;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly compression?: 'gzip' | 'none' | undefined;
  readonly insecure?: boolean | undefined;
  /** PEM contents. */
  readonly certificate?: Buffer | undefined;
  readonly clientKey?: Buffer | undefined;
  readonly clientCertificate?: Buffer | undefined;
}

/**
 * The codes the OTLP spec calls retryable (plus RESOURCE_EXHAUSTED, which it
 * retries when the server sends RetryInfo; a Collector's memory limiter
 * sends it). DEADLINE_EXCEEDED is a backend too slow to answer in time, not
 * a request that can never succeed.
 */
export const RETRYABLE_CODES: ReadonlySet<number> = new Set([
  grpc.status.CANCELLED, grpc.status.DEADLINE_EXCEEDED, grpc.status.ABORTED, grpc.status.OUT_OF_RANGE,
  grpc.status.UNAVAILABLE, grpc.status.DATA_LOSS, grpc.status.RESOURCE_EXHAUSTED,
]);

/** Creates an OTLP/gRPC transport. */
export function createOtlpGrpcTransport(options: OtlpGrpcTransportOptions): ExportTransport {
  const { address, tls } = parseEndpoint(options);
  const credentials = tls
    ? grpc.credentials.createSsl(options.certificate ?? null, options.clientKey ?? null, options.clientCertificate ?? null)
    : grpc.credentials.createInsecure();
  const channelOptions: grpc.ChannelOptions = {
    // grpc-js backs off up to 120 s between reconnects by default; a collector
    // that comes back should be noticed within seconds, as our own retry is.
    'grpc.initial_reconnect_backoff_ms': 1000,
    'grpc.max_reconnect_backoff_ms': 5000,
    ...(options.compression === 'gzip' ? { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip } : {}),
  };
  const client = new grpc.Client(address, credentials, channelOptions);
  const method = options.method ?? PROFILES_EXPORT_METHOD;
  const what = method === PROFILES_EXPORT_METHOD ? 'profiles' : method === LOGS_EXPORT_METHOD ? 'logs' : 'metrics';
  const identity = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

  return {
    send(bytes: Uint8Array, timeoutMs: number): Promise<SendResult> {
      const metadata = new grpc.Metadata();
      for (const [k, v] of Object.entries(options.headers ?? {})) metadata.set(k, v);
      return new Promise((resolve) => {
        client.makeUnaryRequest<Uint8Array, Buffer>(
          method,
          identity,
          (b: Buffer) => b,
          bytes,
          metadata,
          { deadline: Date.now() + timeoutMs },
          (err) => {
            if (!err) return resolve({ ok: true });
            resolve({
              ok: false,
              retryable: RETRYABLE_CODES.has(err.code),
              retryAfterMs: retryDelayFromMetadata(err.metadata),
              reason: `exporting ${what} over grpc to ${address}: ${grpc.status[err.code] ?? err.code} ${err.details}`,
            });
          },
        );
      });
    },
    async shutdown(): Promise<void> {
      client.close();
    },
  };
}

function parseEndpoint(options: OtlpGrpcTransportOptions): { address: string; tls: boolean } {
  const match = /^(https?):\/\/([^/]+)/.exec(options.endpoint);
  const address = match ? match[2]! : options.endpoint.replace(/\/+$/, '');
  // As the OTLP spec says: the scheme decides; without one, TLS unless insecure is set.
  const tls = match ? match[1] === 'https' : options.insecure !== true;
  return { address, tls };
}
