/**
 * The network report: what the network sampler saw over a window, as
 * OpenTelemetry-style metrics (HTTP duration histograms, TCP counters) plus
 * the slow and failed requests kept one by one. Plain data, read by every
 * network serializer (OTLP metrics, JSON, HTML).
 */
import type { NetworkEndpoint, NetworkRole, Sw8Context, TcpFlow, TraceParent, ZipkinContext } from '../stacks/network-records.js';
import type { ProcessMetadata } from '../stacks/process-metadata.js';
import type { DropCounts } from '../stacks/raw-stacks.js';

export type { NetworkEndpoint, NetworkRole, TcpFlow };

/**
 * Explicit bucket bounds of the HTTP duration histograms, seconds: the
 * OpenTelemetry semantic conventions' advice for http.*.request.duration.
 */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] as const;

/** One histogram point: requests of one process with one attribute set. */
export interface HttpDurationPoint {
  readonly pid: number;
  readonly role: NetworkRole;
  readonly method: string;
  /** undefined when the connection closed before a response (error.type "no_response"). */
  readonly statusCode: number | undefined;
  readonly protocolVersion: string;
  readonly tls: boolean;
  /** server.address/server.port: this process's end for 'server', the peer's for 'client'; undefined when unknown. */
  readonly server: NetworkEndpoint | undefined;
  /** url.path, only when paths are opted in (MESHPROF_NETWORK_PATHS). */
  readonly path: string | undefined;
  /** gRPC calls: the grpc-status of their trailers (rpc.grpc.status_code). */
  readonly grpcStatus?: number;
  readonly count: number;
  /** Seconds. */
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  /** HTTP_DURATION_BUCKETS.length + 1 counts, the last one above the last bound. */
  readonly bucketCounts: readonly number[];
}

/** Why a request was kept one by one. */
export type NotableReason = 'slow' | 'failed' | 'no_response';

/**
 * error.type of a request: 'no_response', its 5xx status, or a gRPC call's
 * non-zero grpc-status; undefined for a success. A failed gRPC call counts
 * as a 5xx does wherever errors are counted.
 */
export function requestErrorType(r: { readonly statusCode: number | undefined; readonly grpcStatus?: number | undefined }): string | undefined {
  if (r.statusCode === undefined) return 'no_response';
  if (r.statusCode >= 500) return String(r.statusCode);
  if (r.grpcStatus !== undefined && r.grpcStatus !== 0) return String(r.grpcStatus);
  return undefined;
}

/** A slow (≥ threshold), failed (status ≥ 500, non-zero grpc-status) or unanswered request. */
export interface NotableRequest {
  readonly reason: NotableReason;
  readonly pid: number;
  readonly tid: number;
  readonly role: NetworkRole;
  readonly tls: boolean;
  readonly method: string;
  readonly path: string;
  readonly statusCode: number | undefined;
  /** gRPC calls: the grpc-status of their trailers. */
  readonly grpcStatus?: number;
  /** The trace the request belongs to, from its sw8 / traceparent / B3 headers. */
  readonly sw8?: Sw8Context;
  readonly traceparent?: TraceParent;
  readonly zipkin?: ZipkinContext;
  readonly startTimeNs: bigint;
  readonly durationNs: number;
  readonly local: NetworkEndpoint | undefined;
  readonly peer: NetworkEndpoint | undefined;
  /** The serving thread's on-CPU stacks during the request, most sampled first; absent when none was sampled. */
  readonly stacks?: readonly RequestStack[];
}

/** One distinct stack of a request and how many on-CPU samples had it. */
export interface RequestStack {
  /** Function names, leaf first: kernel frames, then user frames. */
  readonly frames: readonly string[];
  readonly samples: number;
}

export interface NetworkReport {
  readonly startTimeNs: bigint;
  readonly durationNs: bigint;
  readonly http: readonly HttpDurationPoint[];
  /** Summed per process, side and peer over the window. */
  readonly tcp: readonly TcpFlow[];
  /** The first `maxNotable` notable requests of the window; the rest are counted in drops. */
  readonly notable: readonly NotableRequest[];
  /** The threshold `slow` used, nanoseconds. */
  readonly slowThresholdNs: number;
  readonly processes: ReadonlyMap<number, ProcessMetadata>;
  /** Lost on the way, by reason (kernel maps and ring buffer, parsing, caps). */
  readonly drops: DropCounts;
}
