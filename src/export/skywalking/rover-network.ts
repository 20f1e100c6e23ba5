/**
 * A NETWORK task's data in Rover's shape: the network sampler's exchanges and
 * TCP counters summed per "traffic" (one process, its side, and the peer as
 * Rover combines connections), then written as Rover's meters
 * (MeterReportService) and its sampled slow/failed requests (LogData tagged
 * NET_PROFILING_SAMPLED_TRACE), with Rover's names, labels and buckets
 * (pkg/profiling/task/network/analyze in apache/skywalking-rover).
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { MeterDataCollectionSchema, MeterDataSchema } from '../../gen/skywalking/language-agent/Meter_pb.js';
import type { LogDataSchema } from '../../gen/skywalking/logging/Logging_pb.js';
import type { HttpExchange, NetworkEndpoint, NetworkRole, RawNetworkBatch, TcpFlow } from '../../stacks/network-records.js';
import type { NetworkSamplingRule } from './task-command.js';
import type { ProcessEntity } from './process-entity.js';
import { addDrops } from '../../profile/profile-builder.js';

type MeterData = MessageInitShape<typeof MeterDataSchema>;
/** A meter label, as LabelSchema. */
interface Label {
  readonly name: string;
  readonly value: string;
}
export type MeterDataCollectionInit = MessageInitShape<typeof MeterDataCollectionSchema>;
export type LogDataInit = MessageInitShape<typeof LogDataSchema>;

/** Rover's default meter prefix (ROVER_PROFILING_TASK_NETWORK_TOPOLOGY_METER_PREFIX). */
export const ROVER_NETWORK_METER_PREFIX = 'rover_net_p';

/** Rover's HTTP/1 duration buckets, milliseconds (http1/analyzer.go DurationHistogramBuckets). */
export const ROVER_DURATION_BUCKETS_MS = [
  1, 2, 5, 10, 15, 20, 25, 30, 40, 45, 50, 60, 65, 70, 80, 90, 100, 110, 130, 150, 170, 200, 230, 260, 290,
  330, 380, 430, 480, 500, 600, 700, 800, 900, 1000, 1100, 1300, 1500, 1800, 2000, 5000, 10000, 15000, 20000, 30000,
] as const;

/** Sampled requests kept per traffic and reason, as Rover's TopN. */
export const ROVER_TOP_N = 10;

/** A task process as OAP knows it. */
export interface RoverProcess {
  readonly processId: string;
  readonly entity: ProcessEntity;
}

/** What the flush needs to know about the processes and the host. */
export interface RoverNetworkContext {
  /** Meter prefix without the trailing '_' (Rover appends it). */
  readonly prefix: string;
  /** The task's process of a pid; pids of other processes are ignored. */
  readonly process: (pid: number) => RoverProcess | undefined;
  /** This host's own addresses (Rover's local address cache); loopback always counts. */
  readonly localAddresses: ReadonlySet<string>;
  readonly nowMs: number;
}

/** Why a request was sampled, Rover's words. */
export type RoverSampleReason = 'slow' | 'status_4xx' | 'status_5xx';

interface Sample {
  readonly exchange: HttpExchange;
  readonly latencyMs: number;
}

interface Traffic {
  readonly pid: number;
  readonly role: NetworkRole;
  /** The peer: the server's address:port for clients, the client's address for servers. */
  readonly remoteAddress: string;
  remotePort: number;
  /** This process's listening ends (server traffic), to name it as the peer of client traffic. */
  readonly localEndpoints: Set<string>;
  http: boolean;
  tls: boolean;
  bytesSent: number;
  bytesReceived: number;
  opened: number;
  closed: number;
  retransmits: number;
  rttSumUs: number;
  rttCount: number;
  requests: number;
  byStatus: Map<number, number>;
  durationSumMs: number;
  histogram: number[];
  samples: Map<RoverSampleReason, Sample[]>;
}

/** One report interval of a NETWORK task. */
export interface RoverNetworkOutput {
  /** One collection per service instance, its first meter naming it. */
  readonly meters: MeterDataCollectionInit[];
  readonly logs: LogDataInit[];
  /** What the sampler lost in the interval, by reason. */
  readonly drops: Readonly<Record<string, number>>;
}

/** Sums batches between flushes. */
export interface RoverNetworkAggregate {
  add(batch: RawNetworkBatch): void;
  /** Meters and sampled requests since the last flush; starts the next window. */
  flush(ctx: RoverNetworkContext): RoverNetworkOutput;
}

/** The rule for a path: the default one (no URIRegex), overridden by the last matching URIRegex. */
export function samplingRuleFor(rules: readonly NetworkSamplingRule[], path: string): NetworkSamplingRule | undefined {
  let found = rules.find((r) => r.uriRegex === undefined);
  for (const r of rules) if (r.uriRegex !== undefined && r.uriRegex.test(path)) found = r;
  return found;
}

/**
 * What a task's rules may sample, for the sampler (which then copies those
 * requests' HTTP/1.x heads for their trace headers): the least duration and
 * status any rule samples; undefined when no rule samples anything.
 */
export function samplingKeeps(rules: readonly NetworkSamplingRule[]): { minDurationNs: number; minStatus: number } | undefined {
  const durations = rules.flatMap((r) => (r.minDurationMs !== undefined ? [r.minDurationMs] : []));
  const minStatus = rules.some((r) => r.when4xx) ? 400 : rules.some((r) => r.when5xx) ? 500 : 1000;
  if (durations.length === 0 && minStatus === 1000) return undefined;
  return { minDurationNs: durations.length > 0 ? Math.min(...durations) * 1_000_000 : Number.MAX_SAFE_INTEGER, minStatus };
}

/** Why a request is sampled under a rule, in Rover's order (5xx, 4xx, slow); undefined when it is not. */
export function sampleReason(rule: NetworkSamplingRule, status: number, latencyMs: number): RoverSampleReason | undefined {
  if (rule.when5xx && status >= 500 && status < 600) return 'status_5xx';
  if (rule.when4xx && status >= 400 && status < 500) return 'status_4xx';
  if (rule.minDurationMs !== undefined && rule.minDurationMs <= latencyMs) return 'slow';
  return undefined;
}

/** Rover's bucket index: values below the second bound land in the first bucket, the rest at the last bound not above them. */
export function roverBucket(valueMs: number): number {
  for (let i = 1; i < ROVER_DURATION_BUCKETS_MS.length; i++) if ((ROVER_DURATION_BUCKETS_MS[i] ?? 0) > valueMs) return i - 1;
  return ROVER_DURATION_BUCKETS_MS.length - 1;
}

const isLoopback = (a: string): boolean => a.startsWith('127.') || a === '::1' || a.startsWith('::ffff:127.');

/** Creates an empty aggregate sampling requests by `rules` (the task's NetworkSamplings). */
export function createRoverNetworkAggregate(rules: readonly NetworkSamplingRule[]): RoverNetworkAggregate {
  let traffics = new Map<string, Traffic>();
  let drops: Record<string, number> = {};

  const traffic = (pid: number, role: NetworkRole, address: string, port: number): Traffic => {
    // Rover keys client traffic by the server's address and port, server traffic by the client's address only.
    const key = role === 'client' ? `${pid}|c|${address}|${port}` : `${pid}|s|${address}`;
    let t = traffics.get(key);
    if (t === undefined) {
      t = {
        pid, role, remoteAddress: address, remotePort: role === 'client' ? port : 0, localEndpoints: new Set(), http: false, tls: false,
        bytesSent: 0, bytesReceived: 0, opened: 0, closed: 0, retransmits: 0, rttSumUs: 0, rttCount: 0,
        requests: 0, byStatus: new Map(), durationSumMs: 0, histogram: ROVER_DURATION_BUCKETS_MS.map(() => 0), samples: new Map(),
      };
      traffics.set(key, t);
    }
    return t;
  };

  const addFlow = (f: TcpFlow): void => {
    const t = f.role === 'client' ? traffic(f.tgid, 'client', f.server.address, f.server.port) : traffic(f.tgid, 'server', f.clientAddress ?? '', 0);
    t.bytesSent += f.bytesSent;
    t.bytesReceived += f.bytesReceived;
    t.opened += f.opened;
    t.closed += f.closed;
    t.retransmits += f.retransmits;
    t.rttSumUs += f.rttSumUs;
    t.rttCount += f.rttCount;
    if (f.protocol === 'http2') t.http = true;
    if (f.role === 'server') t.localEndpoints.add(endpointKey(f.server));
  };

  const addExchange = (e: HttpExchange): void => {
    // Rover counts a request when its response is read; unanswered ones are not metrics there.
    if (e.statusCode === undefined || e.peer === undefined) return;
    const t = traffic(e.tgid, e.role, e.peer.address, e.peer.port);
    if (t.role === 'server' && t.remotePort === 0) t.remotePort = e.peer.port;
    if (t.role === 'server' && e.local !== undefined) t.localEndpoints.add(endpointKey(e.local));
    t.http = true;
    if (e.tls) t.tls = true;
    // Rover takes whole milliseconds (duration.Milliseconds()).
    const ms = Math.floor(e.durationNs / 1e6);
    t.requests++;
    t.byStatus.set(e.statusCode, (t.byStatus.get(e.statusCode) ?? 0) + 1);
    t.durationSumMs += ms;
    t.histogram[roverBucket(ms)]! += 1;
    const rule = samplingRuleFor(rules, e.path);
    const reason = rule === undefined ? undefined : sampleReason(rule, e.statusCode, ms);
    if (reason === undefined) return;
    let top = t.samples.get(reason);
    if (top === undefined) t.samples.set(reason, (top = []));
    top.push({ exchange: e, latencyMs: ms });
    // keep the slowest ROVER_TOP_N
    if (top.length > ROVER_TOP_N) {
      top.sort((a, b) => b.latencyMs - a.latencyMs);
      top.length = ROVER_TOP_N;
    }
  };

  return {
    add(batch) {
      addDrops(drops, batch.drops);
      for (const f of batch.tcp) addFlow(f);
      for (const e of batch.exchanges) addExchange(e);
    },
    flush(ctx) {
      const window = traffics;
      const lost = drops;
      traffics = new Map();
      drops = {};
      const prefix = `${ctx.prefix}_`;
      const isLocal = (a: string): boolean => isLoopback(a) || ctx.localAddresses.has(a);
      // The task process listening on an address:port, from the server sides seen in this window.
      const listeners = new Map<string, number>();
      for (const t of window.values()) {
        for (const e of t.localEndpoints) listeners.set(e, t.pid);
      }
      const byEntity = new Map<string, { entity: ProcessEntity; meters: MeterData[] }>();
      const logs: LogDataInit[] = [];

      for (const t of window.values()) {
        const local = ctx.process(t.pid);
        if (local === undefined) continue;
        const remoteRole = t.role === 'client' ? 'server' : 'client';
        const remoteLabel = ((): Label => {
          const remotePid = t.role === 'client' ? listeners.get(`${t.remoteAddress}:${t.remotePort}`) : undefined;
          const remote = remotePid === undefined ? undefined : ctx.process(remotePid);
          // Rover names the peer process only within the same service instance.
          if (remote !== undefined && remote.entity.serviceName === local.entity.serviceName && remote.entity.instanceName === local.entity.instanceName) {
            return { name: `${remoteRole}_process_id`, value: remote.processId };
          }
          if (isLocal(t.remoteAddress)) return { name: `${remoteRole}_local`, value: 'true' };
          return { name: `${remoteRole}_address`, value: `${t.remoteAddress}:${t.remotePort}` };
        })();
        const labels: Label[] = [
          { name: `${t.role}_process_id`, value: local.processId },
          remoteLabel,
          { name: 'side', value: t.role },
          { name: 'protocol', value: t.http ? 'http' : 'unknown' },
          { name: 'is_ssl', value: String(t.tls) },
        ];
        const meters: MeterData[] = [];
        const single = (name: string, value: number, extra: Label[] = []): void => {
          meters.push({ metric: { case: 'singleValue', value: { name: `${prefix}${name}`, labels: [...labels, ...extra], value } } });
        };
        // Layer 4 (layer4/listener.go): counters per traffic.
        if (t.bytesSent > 0) single(`${t.role}_write_bytes_counter`, t.bytesSent);
        if (t.bytesReceived > 0) single(`${t.role}_read_bytes_counter`, t.bytesReceived);
        if (t.rttCount > 0) {
          single(`${t.role}_write_rtt_counts_counter`, t.rttCount);
          single(`${t.role}_write_rtt_exe_time_counter`, t.rttSumUs / t.rttCount);
        }
        if (t.opened > 0) single(`${t.role}_connect_counts_counter`, t.opened);
        if (t.closed > 0) single(`${t.role}_close_counts_counter`, t.closed);
        if (t.retransmits > 0) single(`${t.role}_retransmit_counts_counter`, t.retransmits);
        // Layer 7 (http1/metrics.go).
        if (t.requests > 0) {
          if (t.durationSumMs > 0) single(`http1_${t.role}_duration_avg`, t.durationSumMs / t.requests);
          meters.push({
            metric: {
              case: 'histogram',
              value: {
                name: `${prefix}http1_${t.role}_duration_histogram`,
                labels,
                values: ROVER_DURATION_BUCKETS_MS.map((bucket, i) => ({ bucket, count: BigInt(t.histogram[i] ?? 0) })),
              },
            },
          });
          single('http1_request_counter', t.requests);
          for (const [code, n] of t.byStatus) single('http1_response_status_counter', n, [{ name: 'code', value: String(code) }]);
        }
        if (meters.length > 0) {
          const key = `${local.entity.serviceName}\u0000${local.entity.instanceName}`;
          let group = byEntity.get(key);
          if (group === undefined) byEntity.set(key, (group = { entity: local.entity, meters: [] }));
          group.meters.push(...meters);
        }
        for (const reason of ['slow', 'status_4xx', 'status_5xx'] as const) {
          const top = [...(t.samples.get(reason) ?? [])].sort((a, b) => b.latencyMs - a.latencyMs);
          for (const s of top) logs.push(sampledLog(s, reason, t, local, remoteLabel, ctx.nowMs));
        }
      }
      const meters = [...byEntity.values()].map(({ entity, meters: m }) => {
        const [first] = m;
        if (first !== undefined) Object.assign(first, { service: entity.serviceName, serviceInstance: entity.instanceName, timestamp: BigInt(ctx.nowMs) });
        return { meterData: m };
      });
      return { meters, logs, drops: lost };
    },
  };
}

const endpointKey = (e: NetworkEndpoint): string => `${e.address}:${e.port}`;

/** One sampled request as Rover's SamplingTraceLogBody in a LogData. */
function sampledLog(s: Sample, reason: RoverSampleReason, t: Traffic, local: RoverProcess, remote: Label, nowMs: number): LogDataInit {
  const remoteProcess =
    remote.name.endsWith('_process_id') ? { process_id: remote.value, local: false, address: '' }
    : remote.name.endsWith('_local') ? { process_id: '', local: true, address: '' }
    : { process_id: '', local: false, address: remote.value };
  const self = { process_id: local.processId, local: false, address: '' };
  const body = {
    uri: s.exchange.path,
    reason,
    latency: s.latencyMs,
    // the request's own trace, as Rover: sw8 (SkyWalking) first, then the W3C header, then Zipkin's B3
    trace_provider: s.exchange.sw8 ? 'skywalking' : s.exchange.traceparent ? 'w3c' : s.exchange.zipkin ? 'zipkin' : '',
    client_process: t.role === 'client' ? self : remoteProcess,
    server_process: t.role === 'server' ? self : remoteProcess,
    detect_point: t.role,
    component: 'http',
    ssl: t.tls,
    status: s.exchange.statusCode ?? 0,
  };
  return {
    timestamp: BigInt(nowMs),
    service: local.entity.serviceName,
    serviceInstance: local.entity.instanceName,
    layer: local.entity.layer,
    tags: { data: [{ key: 'LOG_KIND', value: 'NET_PROFILING_SAMPLED_TRACE' }] },
    traceContext: s.exchange.sw8
      ? { traceId: s.exchange.sw8.traceId, traceSegmentId: s.exchange.sw8.segmentId, spanId: s.exchange.sw8.spanId }
      : { traceId: s.exchange.traceparent?.traceId ?? s.exchange.zipkin?.traceId ?? '' },
    body: { type: 'json', content: { case: 'json', value: { json: JSON.stringify(body) } } },
  };
}
