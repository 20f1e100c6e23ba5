/**
 * The network report as people read it (the `.json` file and the HTML
 * page): per-process endpoint tables with percentiles, and a topology of
 * who calls whom. Documented in docs/network.md.
 */
import { HTTP_DURATION_BUCKETS, requestErrorType, type HttpDurationPoint, type NetworkEndpoint, type NetworkReport } from '../profile/network-report.js';
import { httpPointAttributes } from './otlp-metrics.js';

/** One HTTP row: a histogram point with its percentiles. */
export interface HttpRow {
  readonly side: 'server' | 'client';
  readonly method: string;
  /** null: the connection closed before a response. */
  readonly status: number | null;
  /** gRPC calls: the grpc-status of their trailers. */
  readonly grpcStatus?: number;
  readonly scheme: 'http' | 'https';
  readonly protocolVersion: string;
  /** "address:port" of the server, or null when unknown. */
  readonly server: string | null;
  readonly path?: string;
  readonly count: number;
  readonly sumSeconds: number;
  readonly minSeconds: number;
  readonly maxSeconds: number;
  readonly p50Seconds: number;
  readonly p99Seconds: number;
  /** Cumulative-free counts per bucket; `le` is the upper bound ("+Inf" for the last). */
  readonly buckets: readonly { readonly le: number | '+Inf'; readonly count: number }[];
  /** The OpenTelemetry attributes this row is exported with. */
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

export interface TcpRow {
  readonly side: 'server' | 'client';
  readonly server: string;
  readonly client: string | null;
  /** "http2" when the HTTP/2 preface was seen on these connections, else null. */
  readonly protocol: string | null;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly opened: number;
  readonly closed: number;
  readonly retransmits: number;
  /** Mean smoothed RTT sampled (at close, and at most once a second per connection carrying data), or null when none was. */
  readonly rttSeconds: number | null;
  /** HTTP/2 streams opened on these connections (0 unless protocol is http2). */
  readonly http2Streams: number;
}

export interface ProcessView {
  readonly pid: number;
  readonly name: string;
  readonly executable: string | null;
  readonly attributes: Readonly<Record<string, string>>;
  readonly http: readonly HttpRow[];
  readonly tcp: readonly TcpRow[];
}

/** A topology edge, caller to callee, from the caller's (client) or the callee's (server) view. */
export interface EdgeView {
  readonly from: string;
  readonly to: string;
  readonly seenBy: 'client' | 'server';
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly errors: number;
  readonly errorRate: number;
  readonly bytes: number;
  readonly p50Seconds: number;
  readonly p99Seconds: number;
}

export interface NotableView {
  readonly reason: string;
  readonly pid: number;
  readonly tid: number;
  readonly side: 'server' | 'client';
  readonly tls: boolean;
  readonly method: string;
  readonly path: string;
  readonly status: number | null;
  /** gRPC calls: the grpc-status of their trailers. */
  readonly grpcStatus?: number;
  /** The request's trace context headers (HTTP/2; HTTP/1.x when its head was copied, see MESHPROF_NETWORK_HEAD_BYTES). */
  readonly sw8?: { readonly traceId: string; readonly segmentId: string; readonly spanId: number; readonly service: string };
  readonly traceparent?: { readonly traceId: string; readonly spanId: string };
  /** Zipkin B3 (`b3` or X-B3-TraceId/X-B3-SpanId): hex ids, the trace id 16 or 32 digits. */
  readonly zipkin?: { readonly traceId: string; readonly spanId: string };
  readonly durationSeconds: number;
  readonly start: string;
  readonly local: string | null;
  readonly peer: string | null;
  /** The serving thread's on-CPU stacks during the request (frames leaf first), most sampled first; [] when none. */
  readonly stacks: readonly { readonly frames: readonly string[]; readonly samples: number }[];
}

export interface NetworkView {
  readonly start: string;
  readonly durationSeconds: number;
  readonly slowThresholdSeconds: number;
  readonly processes: readonly ProcessView[];
  readonly edges: readonly EdgeView[];
  readonly notable: readonly NotableView[];
  readonly drops: Readonly<Record<string, number>>;
}

function endpoint(e: NetworkEndpoint | undefined): string | null {
  if (!e) return null;
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** The q-quantile of explicit-bucket counts, interpolated inside the bucket and kept within [min, max]. */
export function bucketQuantile(bucketCounts: readonly number[], q: number, min: number, max: number): number {
  const total = bucketCounts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < bucketCounts.length; i++) {
    const n = bucketCounts[i]!;
    if (n === 0 || seen + n < rank) { seen += n; continue; }
    const lo = i === 0 ? min : HTTP_DURATION_BUCKETS[i - 1]!;
    const hi = i < HTTP_DURATION_BUCKETS.length ? HTTP_DURATION_BUCKETS[i]! : max;
    const v = lo + (hi - lo) * ((rank - seen) / n);
    return Math.min(max, Math.max(min, v));
  }
  return max;
}

function mergeCounts(points: readonly HttpDurationPoint[]): { counts: number[]; min: number; max: number } {
  const counts = new Array<number>(HTTP_DURATION_BUCKETS.length + 1).fill(0);
  let min = Infinity, max = 0;
  for (const p of points) {
    p.bucketCounts.forEach((c, i) => { counts[i]! += c; });
    min = Math.min(min, p.min);
    max = Math.max(max, p.max);
  }
  return { counts, min: min === Infinity ? 0 : min, max };
}

function httpRow(p: HttpDurationPoint): HttpRow {
  const attributes: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(httpPointAttributes(p))) if (v !== undefined) attributes[k] = v;
  return {
    side: p.role, method: p.method, status: p.statusCode ?? null, scheme: p.tls ? 'https' : 'http', protocolVersion: p.protocolVersion,
    server: endpoint(p.server), ...(p.path !== undefined ? { path: p.path } : {}),
    ...(p.grpcStatus !== undefined ? { grpcStatus: p.grpcStatus } : {}),
    count: p.count, sumSeconds: p.sum, minSeconds: p.min, maxSeconds: p.max,
    p50Seconds: bucketQuantile(p.bucketCounts, 0.5, p.min, p.max), p99Seconds: bucketQuantile(p.bucketCounts, 0.99, p.min, p.max),
    buckets: p.bucketCounts.map((count, i) => ({ le: i < HTTP_DURATION_BUCKETS.length ? HTTP_DURATION_BUCKETS[i]! : '+Inf' as const, count })),
    attributes,
  };
}

/** Builds the view of a report. */
export function buildNetworkView(report: NetworkReport): NetworkView {
  const seconds = Number(report.durationNs) / 1e9;
  const label = (pid: number): string => {
    const m = report.processes.get(pid);
    const pod = m?.attributes['k8s.pod.name'];
    return `${m?.name ?? 'pid'} (${pod ? `${pod}, ` : ''}pid ${pid})`;
  };
  // a server endpoint a followed process listens on is that process, not an address
  const listeners = new Map<string, number>();
  for (const p of report.http) if (p.role === 'server' && p.server) listeners.set(endpoint(p.server)!, p.pid);
  for (const f of report.tcp) if (f.role === 'server') listeners.set(endpoint(f.server)!, f.tgid);
  const nodeOf = (e: NetworkEndpoint | undefined): string => {
    const ep = endpoint(e);
    if (ep === null) return 'unknown';
    const pid = listeners.get(ep);
    return pid === undefined ? ep : label(pid);
  };
  const pids = new Set<number>([...report.http.map((p) => p.pid), ...report.tcp.map((f) => f.tgid)]);
  const processes: ProcessView[] = [...pids].sort((a, b) => a - b).map((pid) => {
    const m = report.processes.get(pid);
    return {
      pid, name: m?.name ?? String(pid), executable: m?.executablePath ?? null, attributes: m?.attributes ?? {},
      http: report.http.filter((p) => p.pid === pid).map(httpRow).sort((a, b) => b.count - a.count),
      tcp: report.tcp.filter((f) => f.tgid === pid).map((f) => ({
        side: f.role, server: endpoint(f.server)!, client: f.clientAddress ?? null, protocol: f.protocol ?? null, bytesSent: f.bytesSent, bytesReceived: f.bytesReceived,
        opened: f.opened, closed: f.closed, retransmits: f.retransmits, rttSeconds: f.rttCount > 0 ? f.rttSumUs / f.rttCount / 1e6 : null,
        http2Streams: f.http2Streams,
      })),
    };
  });
  // edges: client-side points name their callee; server-side points their callers' addresses (from TCP flows)
  const groups = new Map<string, { from: string; to: string; seenBy: 'client' | 'server'; points: HttpDurationPoint[]; bytes: number }>();
  const add = (from: string, to: string, seenBy: 'client' | 'server', p: HttpDurationPoint): void => {
    const id = `${from}\u0000${to}\u0000${seenBy}`;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { from, to, seenBy, points: [], bytes: 0 }));
    g.points.push(p);
  };
  for (const p of report.http) {
    if (p.role === 'client') add(label(p.pid), nodeOf(p.server), 'client', p);
    else {
      const clients = [...new Set(report.tcp.filter((f) => f.tgid === p.pid && f.role === 'server' && endpoint(f.server) === endpoint(p.server)).map((f) => f.clientAddress ?? '?'))];
      add(clients.length === 1 ? clients[0]! : 'clients', label(p.pid), 'server', p);
    }
  }
  for (const g of groups.values()) {
    for (const f of report.tcp) {
      const from = f.role === 'client' ? label(f.tgid) : (f.clientAddress ?? '?');
      const to = f.role === 'client' ? nodeOf(f.server) : label(f.tgid);
      if (f.role === g.seenBy && from === g.from && to === g.to) g.bytes += f.bytesSent + f.bytesReceived;
    }
  }
  const edges: EdgeView[] = [...groups.values()].map((g) => {
    const requests = g.points.reduce((n, p) => n + p.count, 0);
    const errors = g.points.filter((p) => requestErrorType(p) !== undefined).reduce((n, p) => n + p.count, 0);
    const { counts, min, max } = mergeCounts(g.points);
    return {
      from: g.from, to: g.to, seenBy: g.seenBy, requests, requestsPerSecond: seconds > 0 ? requests / seconds : 0,
      errors, errorRate: requests > 0 ? errors / requests : 0, bytes: g.bytes,
      p50Seconds: bucketQuantile(counts, 0.5, min, max), p99Seconds: bucketQuantile(counts, 0.99, min, max),
    };
  });
  return {
    start: new Date(Number(report.startTimeNs / 1_000_000n)).toISOString(),
    durationSeconds: seconds,
    slowThresholdSeconds: report.slowThresholdNs / 1e9,
    processes,
    edges,
    notable: report.notable.map((n) => ({
      reason: n.reason, pid: n.pid, tid: n.tid, side: n.role, tls: n.tls, method: n.method, path: n.path, status: n.statusCode ?? null,
      ...(n.grpcStatus !== undefined ? { grpcStatus: n.grpcStatus } : {}),
      ...(n.sw8 ? { sw8: { traceId: n.sw8.traceId, segmentId: n.sw8.segmentId, spanId: n.sw8.spanId, service: n.sw8.service } } : {}),
      ...(n.traceparent ? { traceparent: { traceId: n.traceparent.traceId, spanId: n.traceparent.spanId } } : {}),
      ...(n.zipkin ? { zipkin: { traceId: n.zipkin.traceId, spanId: n.zipkin.spanId } } : {}),
      durationSeconds: n.durationNs / 1e9, start: new Date(Number(n.startTimeNs / 1_000_000n)).toISOString(),
      local: endpoint(n.local), peer: endpoint(n.peer),
      stacks: (n.stacks ?? []).map((st) => ({ frames: st.frames, samples: st.samples })),
    })),
    drops: report.drops,
  };
}

/** The `.json` file: the view, pretty-printed. */
export function encodeNetworkJson(report: NetworkReport): string {
  return JSON.stringify(buildNetworkView(report), null, 2) + '\n';
}
