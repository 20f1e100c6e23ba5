/**
 * The boundary between the network sampler and the network report: HTTP
 * exchanges and TCP counters as the kernel matched and summed them, with
 * the request and status lines already parsed.
 */
import type { DropCounts } from './raw-stacks.js';

/** Which side of a connection a process was on. */
export type NetworkRole = 'server' | 'client';

/** An address and port; the address in its usual text form (1.2.3.4, ::1). */
export interface NetworkEndpoint {
  readonly address: string;
  readonly port: number;
}

/** One HTTP/1.x request or HTTP/2 stream and its response, as one process saw them. */
export interface HttpExchange {
  readonly tgid: number;
  /** The thread that saw the response (or the close). */
  readonly tid: number;
  readonly comm: string;
  readonly role: NetworkRole;
  /** Seen in plaintext through SSL_read/SSL_write. */
  readonly tls: boolean;
  /** GET, POST, ...: one of the methods the kernel recognizes. */
  readonly method: string;
  /** The request target up to '?' or the captured length (96 bytes of the request line); '' when unreadable. */
  readonly path: string;
  /** True when the request line was longer than what the kernel captured. */
  readonly pathTruncated: boolean;
  /** '1.0', '1.1' or '2'. */
  readonly protocolVersion: string;
  /** The response's status code; undefined when the connection closed first. */
  readonly statusCode: number | undefined;
  /** Wall-clock time the request was seen, Unix nanoseconds. */
  readonly startTimeNs: bigint;
  readonly durationNs: number;
  /** This process's end of the connection; undefined when the socket was not known (TLS before SSL_set_fd). */
  readonly local: NetworkEndpoint | undefined;
  readonly peer: NetworkEndpoint | undefined;
  /** gRPC calls (HTTP/2, content-type application/grpc): the grpc-status of the trailers; non-zero is a failure, as a 5xx. */
  readonly grpcStatus?: number;
  /** The request's sw8 header, when it had one the sampler could read (HTTP/2 headers; HTTP/1.x heads of exchanges that may be kept). */
  readonly sw8?: Sw8Context;
  /** The request's traceparent header, likewise. */
  readonly traceparent?: TraceParent;
  /** The request's Zipkin B3 headers (`b3`, or X-B3-TraceId and X-B3-SpanId), likewise. */
  readonly zipkin?: ZipkinContext;
  /** Server side: on-CPU samples of the thread that read the request, until it wrote the response; absent when none. */
  readonly stacks?: readonly RequestStackSample[];
}

/** A request's sw8 header (SkyWalking v3 propagation): the caller's trace, segment and span. */
export interface Sw8Context {
  readonly sampled: boolean;
  readonly traceId: string;
  /** The caller's segment id and the index of its exit span. */
  readonly segmentId: string;
  readonly spanId: number;
  readonly service: string;
  readonly instance: string;
  readonly endpoint: string;
  /** The address the caller used to reach this process. */
  readonly address: string;
}

/** A request's W3C traceparent header: lower-case hex ids. */
export interface TraceParent {
  readonly traceId: string;
  /** The caller's span id. */
  readonly spanId: string;
  readonly sampled: boolean;
}

/** A request's Zipkin B3 context: lower-case hex ids (a 64- or 128-bit trace id). */
export interface ZipkinContext {
  readonly traceId: string;
  /** The caller's span id. */
  readonly spanId: string;
  /** The sampling decision, when the headers carried one. */
  readonly sampled?: boolean;
}

/** One on-CPU sample of a thread serving a request: return addresses, leaf first. */
export interface RequestStackSample {
  readonly userStack: readonly bigint[];
  readonly kernelStack: readonly bigint[];
}

/** TCP counters of one process, side and peer, for one window. */
export interface TcpFlow {
  readonly tgid: number;
  readonly role: NetworkRole;
  /** The server's end: this process's own for 'server', the peer's for 'client'. */
  readonly server: NetworkEndpoint;
  /** The client's address for 'server' flows (its port is ephemeral and dropped); undefined for 'client' flows. */
  readonly clientAddress: string | undefined;
  /** 'http2' once the HTTP/2 connection preface went through (frame headers are then walked); undefined otherwise. */
  readonly protocol: 'http2' | undefined;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly opened: number;
  readonly closed: number;
  readonly retransmits: number;
  /** Smoothed RTT samples (at close, at most once a second while in use) summed, microseconds, and their count. */
  readonly rttSumUs: number;
  readonly rttCount: number;
  /** HTTP/2 streams opened on 'http2' connections (HEADERS frames with a new stream id). */
  readonly http2Streams: number;
}

/** What one drain of the network sampler returns: everything since the previous drain. */
export interface RawNetworkBatch {
  readonly startTimeNs: bigint;
  readonly durationNs: bigint;
  readonly exchanges: readonly HttpExchange[];
  readonly tcp: readonly TcpFlow[];
  /** Lost on the way, by reason. */
  readonly drops: DropCounts;
}

/**
 * Which exchanges a consumer of the network sampler may keep one by one
 * (slow, failed or sampled requests): the kernel copies the HTTP/1.x request
 * heads of those, for their trace headers.
 */
export interface RequestKeeping {
  /** Exchanges at least this long... */
  readonly minDurationNs: number;
  /** ...or with a status at least this, or without a response. */
  readonly minStatus: number;
  /** Bytes of each request head to copy, up to 1024; 0 copies none. */
  readonly headBytes: number;
}

/** What several consumers keep together; undefined when none keeps anything. */
export function unionKeeping(all: readonly (RequestKeeping | undefined)[]): RequestKeeping | undefined {
  const some = all.filter((k): k is RequestKeeping => k !== undefined && k.headBytes > 0);
  if (some.length === 0) return undefined;
  return {
    minDurationNs: Math.min(...some.map((k) => k.minDurationNs)),
    minStatus: Math.min(...some.map((k) => k.minStatus)),
    headBytes: Math.max(...some.map((k) => k.headBytes)),
  };
}
