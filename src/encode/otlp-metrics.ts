/**
 * OTLP metrics serializer: NetworkReport → ExportMetricsServiceRequest,
 * one ResourceMetrics per process (the resource attributes profiles have),
 * delta temporality over the report's window. Names and attributes follow
 * the OpenTelemetry semantic conventions where they exist
 * (http.*.request.duration, network.io); the TCP connection counters have
 * none and carry the meshprof. prefix.
 */
import { create, toBinary, toJson, type JsonObject } from '@bufbuild/protobuf';
import {
  ExportMetricsServiceRequestSchema, type ExportMetricsServiceRequest,
} from '../gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import { KeyValueSchema, type KeyValue } from '../gen/opentelemetry/proto/common/v1/common_pb.js';
import {
  AggregationTemporality, MetricSchema, ResourceMetricsSchema, ScopeMetricsSchema, type Metric, type ResourceMetrics,
} from '../gen/opentelemetry/proto/metrics/v1/metrics_pb.js';
import { HTTP_DURATION_BUCKETS, requestErrorType, type HttpDurationPoint, type NetworkReport, type TcpFlow } from '../profile/network-report.js';
import { buildOtlpResource, type OtlpResourceOptions } from './otlp-resource.js';

/** Options of the metrics serializer. */
export interface OtlpMetricsOptions extends OtlpResourceOptions {
  readonly scopeVersion?: string | undefined;
}

type AttrValue = string | number | boolean;

function attributes(attrs: Record<string, AttrValue | undefined>): KeyValue[] {
  const out: KeyValue[] = [];
  for (const [key, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    const value = typeof v === 'number'
      ? { case: 'intValue' as const, value: BigInt(v) }
      : typeof v === 'boolean' ? { case: 'boolValue' as const, value: v } : { case: 'stringValue' as const, value: v };
    out.push(create(KeyValueSchema, { key, value: { value } }));
  }
  return out;
}

/** The semantic-convention attributes of one HTTP histogram point. */
export function httpPointAttributes(p: HttpDurationPoint): Record<string, AttrValue | undefined> {
  return {
    'http.request.method': p.method,
    'http.response.status_code': p.statusCode,
    'error.type': requestErrorType(p),
    'rpc.grpc.status_code': p.grpcStatus,
    'server.address': p.server?.address,
    'server.port': p.server?.port,
    'network.protocol.name': 'http',
    'network.protocol.version': p.protocolVersion,
    'url.scheme': p.tls ? 'https' : 'http',
    'url.path': p.path,
  };
}

function tcpAttributes(f: TcpFlow): Record<string, AttrValue | undefined> {
  return {
    'network.transport': 'tcp',
    'meshprof.network.side': f.role,
    'server.address': f.server.address,
    'server.port': f.server.port,
    'client.address': f.clientAddress,
    'network.protocol.name': f.protocol,
  };
}

/** Encodes a report as one ExportMetricsServiceRequest. */
export function encodeOtlpMetrics(report: NetworkReport, options: OtlpMetricsOptions = {}): ExportMetricsServiceRequest {
  const start = report.startTimeNs;
  const end = report.startTimeNs + report.durationNs;
  const delta = AggregationTemporality.DELTA;
  const pids = new Set<number>([...report.http.map((p) => p.pid), ...report.tcp.map((f) => f.tgid)]);
  const resourceMetrics: ResourceMetrics[] = [];
  for (const pid of [...pids].sort((a, b) => a - b)) {
    const meta = report.processes.get(pid) ?? { pid, name: String(pid), attributes: {} };
    const metrics: Metric[] = [];
    for (const role of ['server', 'client'] as const) {
      const points = report.http.filter((p) => p.pid === pid && p.role === role);
      if (points.length === 0) continue;
      metrics.push(create(MetricSchema, {
        name: `http.${role}.request.duration`,
        description: `Duration of HTTP ${role} requests.`,
        unit: 's',
        data: {
          case: 'histogram',
          value: {
            aggregationTemporality: delta,
            dataPoints: points.map((p) => ({
              attributes: attributes(httpPointAttributes(p)),
              startTimeUnixNano: start, timeUnixNano: end,
              count: BigInt(p.count), sum: p.sum, min: p.min, max: p.max,
              bucketCounts: p.bucketCounts.map(BigInt), explicitBounds: [...HTTP_DURATION_BUCKETS],
            })),
          },
        },
      }));
    }
    const flows = report.tcp.filter((f) => f.tgid === pid);
    const sum = (name: string, description: string, unit: string, points: { attrs: Record<string, AttrValue | undefined>; value: number }[]): void => {
      if (points.length === 0) return;
      metrics.push(create(MetricSchema, {
        name, description, unit,
        data: {
          case: 'sum',
          value: {
            aggregationTemporality: delta, isMonotonic: true,
            dataPoints: points.map((p) => ({
              attributes: attributes(p.attrs), startTimeUnixNano: start, timeUnixNano: end, value: { case: 'asInt' as const, value: BigInt(p.value) },
            })),
          },
        },
      }));
    };
    sum('network.io', 'Bytes sent and received over TCP, as the process read and wrote them.', 'By', flows.flatMap((f) => [
      { attrs: { ...tcpAttributes(f), 'network.io.direction': 'transmit' }, value: f.bytesSent },
      { attrs: { ...tcpAttributes(f), 'network.io.direction': 'receive' }, value: f.bytesReceived },
    ]));
    sum('meshprof.tcp.connection.opened', 'TCP connections accepted or connected.', '{connection}',
      flows.filter((f) => f.opened > 0).map((f) => ({ attrs: tcpAttributes(f), value: f.opened })));
    sum('meshprof.tcp.connection.closed', 'TCP connections that reached CLOSE.', '{connection}',
      flows.filter((f) => f.closed > 0).map((f) => ({ attrs: tcpAttributes(f), value: f.closed })));
    sum('meshprof.tcp.retransmits', 'TCP segments retransmitted.', '{segment}',
      flows.filter((f) => f.retransmits > 0).map((f) => ({ attrs: tcpAttributes(f), value: f.retransmits })));
    sum('meshprof.http2.streams', 'HTTP/2 streams opened (HEADERS frames with a new stream id).', '{stream}',
      flows.filter((f) => f.http2Streams > 0).map((f) => ({ attrs: tcpAttributes(f), value: f.http2Streams })));
    const rtt = flows.filter((f) => f.rttCount > 0);
    if (rtt.length > 0) {
      metrics.push(create(MetricSchema, {
        name: 'meshprof.tcp.rtt', description: 'Mean smoothed RTT of the TCP connections, sampled at close and at most once a second while in use, in the window.', unit: 's',
        data: {
          case: 'gauge',
          value: {
            dataPoints: rtt.map((f) => ({
              attributes: attributes(tcpAttributes(f)), timeUnixNano: end, value: { case: 'asDouble' as const, value: f.rttSumUs / f.rttCount / 1e6 },
            })),
          },
        },
      }));
    }
    resourceMetrics.push(create(ResourceMetricsSchema, {
      resource: buildOtlpResource(meta, options),
      scopeMetrics: [create(ScopeMetricsSchema, {
        scope: { name: 'meshprof', ...(options.scopeVersion ? { version: options.scopeVersion } : {}) },
        metrics,
      })],
    }));
  }
  return create(ExportMetricsServiceRequestSchema, { resourceMetrics });
}

/** The binary request body. */
export function encodeOtlpMetricsBinary(report: NetworkReport, options: OtlpMetricsOptions = {}): Uint8Array {
  return toBinary(ExportMetricsServiceRequestSchema, encodeOtlpMetrics(report, options));
}

/** OTLP/JSON: protobuf JSON with enums as integers, as the OTLP spec asks. */
export function encodeOtlpMetricsJson(report: NetworkReport, options: OtlpMetricsOptions = {}): string {
  const json = toJson(ExportMetricsServiceRequestSchema, encodeOtlpMetrics(report, options), { enumAsInteger: true }) as JsonObject;
  return JSON.stringify(json, null, 2) + '\n';
}
