/**
 * Folds the network sampler's batches into one NetworkReport: exchanges
 * into duration histograms by attribute set, TCP counters summed by flow,
 * slow and failed requests kept up to a cap. Memory follows the number of
 * attribute sets, not of requests.
 */
import type { HttpExchange, RawNetworkBatch, RequestStackSample, TcpFlow } from '../stacks/network-records.js';
import type { DropCounts } from '../stacks/raw-stacks.js';
import type { ProcessMetadata } from '../stacks/process-metadata.js';
import { addDrops } from './profile-builder.js';
import {
  HTTP_DURATION_BUCKETS, requestErrorType, type HttpDurationPoint, type NetworkReport, type NotableRequest, type NotableReason, type RequestStack,
} from './network-report.js';

/** Settings of the aggregation. */
export interface NetworkAggregatorOptions {
  /** Requests at least this long are kept one by one; default 100 ms (MESHPROF_NETWORK_SLOW). */
  readonly slowThresholdNs?: number;
  /** Notable requests kept per report; default 1000. */
  readonly maxNotable?: number;
  /** Add url.path to the histograms (opt-in: it multiplies the series); default false. */
  readonly paths?: boolean;
  /** Distinct paths per process when `paths`; later ones become "other". Default 100. */
  readonly maxPathsPerProcess?: number;
  /**
   * Names a notable request's on-CPU samples, called when it is kept (its
   * process still alive); without it notable requests carry no stacks.
   */
  readonly nameStacks?: (pid: number, samples: readonly RequestStackSample[]) => readonly RequestStack[];
}

/** Accumulates batches until build(). */
export interface NetworkAggregator {
  add(batch: RawNetworkBatch): void;
  /** Pids seen since the last build. */
  readonly pids: ReadonlySet<number>;
  /** The report of everything added since the last build; starts the next. */
  build(describe: (pid: number, comm: string) => ProcessMetadata): NetworkReport;
}

interface Point {
  key: Omit<HttpDurationPoint, 'count' | 'sum' | 'min' | 'max' | 'bucketCounts'>;
  count: number;
  sum: number;
  min: number;
  max: number;
  buckets: number[];
}

/** Attribute sets looked up by comparison before by their JSON: a busy server repeats a few of them. */
const RECENT_POINTS = 8;

function sameEndpoint(a: HttpDurationPoint['server'], b: HttpDurationPoint['server']): boolean {
  return a === b || (a !== undefined && b !== undefined && a.address === b.address && a.port === b.port);
}

/** True when exchange e (its url.path already chosen) belongs to point p. */
function samePoint(p: Point, e: HttpExchange, server: HttpDurationPoint['server'], path: string | undefined): boolean {
  const k = p.key;
  return k.pid === e.tgid && k.role === e.role && k.method === e.method && k.statusCode === e.statusCode
    && k.protocolVersion === e.protocolVersion && k.tls === e.tls && k.path === path && k.grpcStatus === e.grpcStatus
    && sameEndpoint(k.server, server);
}

function bucketOf(seconds: number): number {
  const i = HTTP_DURATION_BUCKETS.findIndex((b) => seconds <= b);
  return i < 0 ? HTTP_DURATION_BUCKETS.length : i;
}

function notableReason(e: HttpExchange, slowNs: number): NotableReason | undefined {
  if (e.statusCode === undefined) return 'no_response';
  if (requestErrorType(e) !== undefined) return 'failed';
  if (e.durationNs >= slowNs) return 'slow';
  return undefined;
}

/** Creates an empty aggregator. */
export function createNetworkAggregator(opts: NetworkAggregatorOptions = {}): NetworkAggregator {
  const slowNs = opts.slowThresholdNs ?? 100_000_000;
  const maxNotable = opts.maxNotable ?? 1000;
  const maxPaths = opts.maxPathsPerProcess ?? 100;
  let start: bigint | undefined;
  let end = 0n;
  let points = new Map<string, Point>();
  // the last points used, newest first: most exchanges find theirs here without building a key
  let recent: Point[] = [];
  let tcp = new Map<string, TcpFlow>();
  let notable: NotableRequest[] = [];
  let drops: DropCounts = {};
  let pids = new Set<number>();
  let comms = new Map<number, string>();
  let paths = new Map<number, Set<string>>();

  const pathOf = (e: HttpExchange): string | undefined => {
    if (!opts.paths) return undefined;
    let seen = paths.get(e.tgid);
    if (!seen) paths.set(e.tgid, (seen = new Set()));
    if (seen.has(e.path)) return e.path;
    if (seen.size >= maxPaths) {
      drops.url_path_over_cap = (drops.url_path_over_cap ?? 0) + 1;
      return 'other';
    }
    seen.add(e.path);
    return e.path;
  };

  const addExchange = (e: HttpExchange): void => {
    pids.add(e.tgid);
    comms.set(e.tgid, e.comm);
    const server = e.role === 'server' ? e.local : e.peer;
    const path = pathOf(e);
    let p = recent.find((r) => samePoint(r, e, server, path));
    if (p === undefined) {
      const key = {
        pid: e.tgid, role: e.role, method: e.method, statusCode: e.statusCode, protocolVersion: e.protocolVersion, tls: e.tls,
        server, path, ...(e.grpcStatus !== undefined ? { grpcStatus: e.grpcStatus } : {}),
      };
      const id = JSON.stringify(key);
      p = points.get(id);
      if (!p) points.set(id, (p = { key, count: 0, sum: 0, min: Infinity, max: 0, buckets: new Array<number>(HTTP_DURATION_BUCKETS.length + 1).fill(0) }));
      recent.unshift(p);
      if (recent.length > RECENT_POINTS) recent.pop();
    }
    const seconds = e.durationNs / 1e9;
    p.count++;
    p.sum += seconds;
    p.min = Math.min(p.min, seconds);
    p.max = Math.max(p.max, seconds);
    p.buckets[bucketOf(seconds)]!++;
    const reason = notableReason(e, slowNs);
    if (reason === undefined) return;
    if (notable.length >= maxNotable) {
      drops.notable_over_cap = (drops.notable_over_cap ?? 0) + 1;
      return;
    }
    const stacks = e.stacks && opts.nameStacks ? opts.nameStacks(e.tgid, e.stacks) : undefined;
    notable.push({
      reason, pid: e.tgid, tid: e.tid, role: e.role, tls: e.tls, method: e.method, path: e.path, statusCode: e.statusCode,
      ...(e.grpcStatus !== undefined ? { grpcStatus: e.grpcStatus } : {}),
      ...(e.sw8 ? { sw8: e.sw8 } : {}), ...(e.traceparent ? { traceparent: e.traceparent } : {}),
      ...(e.zipkin ? { zipkin: e.zipkin } : {}), startTimeNs: e.startTimeNs, durationNs: e.durationNs, local: e.local, peer: e.peer,
      ...(stacks && stacks.length > 0 ? { stacks } : {}),
    });
  };

  const addFlow = (f: TcpFlow): void => {
    pids.add(f.tgid);
    const id = JSON.stringify([f.tgid, f.role, f.server, f.clientAddress, f.protocol]);
    const t = tcp.get(id);
    tcp.set(id, t === undefined ? f : {
      ...t,
      bytesSent: t.bytesSent + f.bytesSent, bytesReceived: t.bytesReceived + f.bytesReceived, opened: t.opened + f.opened,
      closed: t.closed + f.closed, retransmits: t.retransmits + f.retransmits, rttSumUs: t.rttSumUs + f.rttSumUs, rttCount: t.rttCount + f.rttCount,
        http2Streams: t.http2Streams + f.http2Streams,
    });
  };

  return {
    get pids() { return pids; },
    add(batch) {
      if (start === undefined) start = batch.startTimeNs;
      end = batch.startTimeNs + batch.durationNs;
      for (const e of batch.exchanges) addExchange(e);
      for (const f of batch.tcp) addFlow(f);
      addDrops(drops, batch.drops);
    },
    build(describe) {
      const processes = new Map<number, ProcessMetadata>();
      for (const pid of pids) processes.set(pid, describe(pid, comms.get(pid) ?? ''));
      const report: NetworkReport = {
        startTimeNs: start ?? end,
        durationNs: end - (start ?? end),
        http: [...points.values()].map((p) => ({ ...p.key, count: p.count, sum: p.sum, min: p.min, max: p.max, bucketCounts: p.buckets })),
        tcp: [...tcp.values()],
        notable,
        slowThresholdNs: slowNs,
        processes,
        drops,
      };
      start = undefined;
      points = new Map();
      recent = [];
      tcp = new Map();
      notable = [];
      drops = {};
      pids = new Set();
      comms = new Map();
      paths = new Map();
      return report;
    },
  };
}
