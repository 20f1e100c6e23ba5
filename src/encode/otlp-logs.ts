/**
 * Slow, failed and unanswered requests of a NetworkReport as OTLP log
 * records (ExportLogsServiceRequest), one ResourceLogs per process: the
 * seed's event-driven samples, for backends that keep logs next to metrics.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { ExportLogsServiceRequestSchema, type ExportLogsServiceRequest } from '../gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import { KeyValueSchema, type KeyValue } from '../gen/opentelemetry/proto/common/v1/common_pb.js';
import { LogRecordSchema, ResourceLogsSchema, ScopeLogsSchema, SeverityNumber, type ResourceLogs } from '../gen/opentelemetry/proto/logs/v1/logs_pb.js';
import { requestErrorType, type NetworkReport, type NotableRequest } from '../profile/network-report.js';
import { buildOtlpResource, type OtlpResourceOptions } from './otlp-resource.js';

/** The event name every record carries. */
export const NOTABLE_REQUEST_EVENT = 'meshprof.http.notable_request';

function kv(key: string, v: string | number | boolean | undefined): KeyValue[] {
  if (v === undefined) return [];
  const value = typeof v === 'boolean' ? { case: 'boolValue' as const, value: v }
    : typeof v === 'number' ? (Number.isInteger(v) ? { case: 'intValue' as const, value: BigInt(v) } : { case: 'doubleValue' as const, value: v })
      : { case: 'stringValue' as const, value: v };
  return [create(KeyValueSchema, { key, value: { value } })];
}

function attributes(n: NotableRequest): KeyValue[] {
  const server = n.role === 'server' ? n.local : n.peer;
  const client = n.role === 'server' ? n.peer : n.local;
  return [
    ...kv('meshprof.network.reason', n.reason),
    ...kv('meshprof.network.side', n.role),
    ...kv('http.request.method', n.method),
    ...kv('url.path', n.path),
    ...kv('url.scheme', n.tls ? 'https' : 'http'),
    ...kv('http.response.status_code', n.statusCode),
    ...kv('error.type', requestErrorType(n)),
    ...kv('rpc.grpc.status_code', n.grpcStatus),
    // seconds, as http.*.request.duration
    ...kv('meshprof.http.duration', n.durationNs / 1e9),
    ...kv('server.address', server?.address),
    ...kv('server.port', server?.port),
    ...kv('client.address', client?.address),
    ...kv('client.port', client?.port),
    ...kv('thread.id', n.tid),
    // SkyWalking's ids are not W3C's 16/8 bytes: they go beside trace_id/span_id
    ...kv('meshprof.sw8.trace_id', n.sw8?.traceId),
    ...kv('meshprof.sw8.segment_id', n.sw8?.segmentId),
    ...kv('meshprof.sw8.span_id', n.sw8?.spanId),
    // whose header the record's trace_id/span_id came from
    ...kv('meshprof.trace.provider', n.traceparent ? 'w3c' : n.zipkin ? 'zipkin' : undefined),
    // the serving thread's on-CPU stacks, folded (root first, ';'-separated, then the sample count), one per line
    ...kv('meshprof.http.stacks', n.stacks && n.stacks.length > 0
      ? n.stacks.map((st) => `${[...st.frames].reverse().join(';')} ${st.samples}`).join('\n')
      : undefined),
  ];
}

/** Encodes the report's notable requests; undefined when there are none. */
export function encodeNotableLogs(report: NetworkReport, options: OtlpResourceOptions = {}): ExportLogsServiceRequest | undefined {
  if (report.notable.length === 0) return undefined;
  const byPid = new Map<number, NotableRequest[]>();
  for (const n of report.notable) byPid.set(n.pid, [...(byPid.get(n.pid) ?? []), n]);
  const resourceLogs: ResourceLogs[] = [...byPid].map(([pid, list]) => create(ResourceLogsSchema, {
    resource: buildOtlpResource(report.processes.get(pid) ?? { pid, name: String(pid), attributes: {} }, options),
    scopeLogs: [create(ScopeLogsSchema, {
      scope: { name: 'meshprof' },
      logRecords: list.map((n) => create(LogRecordSchema, {
        timeUnixNano: n.startTimeNs,
        observedTimeUnixNano: n.startTimeNs + BigInt(n.durationNs),
        severityNumber: n.reason === 'slow' ? SeverityNumber.WARN : SeverityNumber.ERROR,
        severityText: n.reason === 'slow' ? 'WARN' : 'ERROR',
        eventName: NOTABLE_REQUEST_EVENT,
        body: { value: { case: 'stringValue', value: `${n.reason} ${n.method} ${n.path} ${n.statusCode ?? 'no response'} ${(n.durationNs / 1e6).toFixed(1)} ms` } },
        attributes: attributes(n),
        // the request's trace from its traceparent, else its B3 headers (a 64-bit
        // id left-padded to 16 bytes, as OpenTelemetry's B3 propagator reads it);
        // the span is the caller's (the server's own is not on the wire)
        ...(n.traceparent ? {
          traceId: Buffer.from(n.traceparent.traceId, 'hex'), spanId: Buffer.from(n.traceparent.spanId, 'hex'),
          flags: n.traceparent.sampled ? 1 : 0,
        } : n.zipkin ? {
          traceId: Buffer.from(n.zipkin.traceId.padStart(32, '0'), 'hex'), spanId: Buffer.from(n.zipkin.spanId, 'hex'),
          flags: n.zipkin.sampled === true ? 1 : 0,
        } : {}),
      })),
    })],
  }));
  return create(ExportLogsServiceRequestSchema, { resourceLogs });
}

/** The binary request body, or undefined with no notable request. */
export function encodeNotableLogsBinary(report: NetworkReport, options: OtlpResourceOptions = {}): Uint8Array | undefined {
  const req = encodeNotableLogs(report, options);
  return req && toBinary(ExportLogsServiceRequestSchema, req);
}
