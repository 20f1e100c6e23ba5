/**
 * Profiling task data to OAP through the same queue and retrying transport
 * as the OTLP and Pyroscope exporters: each export becomes one
 * `collectProfilingData` client stream, serialized as size-delimited
 * EBPFProfilingData messages so the queue can bound it in bytes.
 */
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary } from '@bufbuild/protobuf';
import { sizeDelimitedEncode, sizeDelimitedPeek } from '@bufbuild/protobuf/wire';
import {
  EBPFProfilingDataSchema,
  EBPFProfilingService,
  EBPFProfilingTaskMetadataSchema,
  type EBPFProfilingData,
} from '../../gen/skywalking/ebpf/profiling/Profile_pb.js';
import type { QueueLimits } from '../bounded-queue.js';
import type { ExportMetrics } from '../export-metrics.js';
import { createItemExporter, type QueuedExporter, type SerializedRequest } from '../queued-exporter.js';
import { createRetryingTransport, type RetryOptions } from '../retrying-transport.js';
import type { ExportTransport, SendResult } from '../transport.js';
import type { OapConnection } from './oap-connection.js';
import { type Logger } from '../../log/logger.js';

/** What one drain of one profiling task produced, with the task it belongs to. */
export interface TaskProfilingData {
  readonly taskId: string;
  /** The task's first OAP process id. */
  readonly processId: string;
  /** When the task's sampler started, Unix ms. */
  readonly startedAtMs: number;
  /** The stacks, without task metadata: the serializer puts it on the first. */
  readonly data: readonly EBPFProfilingData[];
}

/** Exporter name, in metrics and logs. */
export const SKYWALKING_PROFILING_EXPORTER = 'skywalking';

/** Options for createProfilingDataExporter. */
export interface ProfilingDataExporterOptions {
  readonly connection: OapConnection;
  readonly metrics: ExportMetrics;
  readonly logger: Logger;
  readonly retry?: RetryOptions | undefined;
  readonly queue?: QueueLimits | undefined;
  readonly now?: () => number;
}

const RETRYABLE_CODES: ReadonlySet<number> = new Set([grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED, grpc.status.DEADLINE_EXCEEDED]);

/** Streams one serialized request's messages to OAP; gRPC errors classified as the OTLP transport does. */
function createProfilingDataTransport(connection: OapConnection): ExportTransport {
  return {
    async send(bytes): Promise<SendResult> {
      const messages: EBPFProfilingData[] = [];
      for (let at = 0; at < bytes.length;) {
        const peek = sizeDelimitedPeek(bytes.subarray(at));
        if (peek.eof || peek.size === null) break;
        messages.push(fromBinary(EBPFProfilingDataSchema, bytes.subarray(at + peek.offset, at + peek.offset + peek.size)));
        at += peek.offset + peek.size;
      }
      try {
        await connection.clientStream(EBPFProfilingService.method.collectProfilingData, messages);
        return { ok: true };
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const known = typeof code === 'number';
        return {
          ok: false,
          // no status code: the stream never reached OAP
          retryable: !known || RETRYABLE_CODES.has(code),
          reason: `sending profiling data to oap: ${(err as Error).message}`,
        };
      }
    },
    shutdown: () => Promise.resolve(),
  };
}

/** Creates the exporter; the connection is the SkyWalking exporter's, closed by it. */
export function createProfilingDataExporter(options: ProfilingDataExporterOptions): QueuedExporter<TaskProfilingData> {
  const now = options.now ?? Date.now;
  const name = SKYWALKING_PROFILING_EXPORTER;
  return createItemExporter<TaskProfilingData>({
    name,
    serializer: {
      serialize(items) {
        const currentTime = BigInt(now());
        const parts: Uint8Array[] = [];
        let samples = 0;
        for (const item of items) {
          item.data.forEach((m, i) => {
            // Only the first message of a task in a stream carries its metadata.
            const task = i === 0
              ? create(EBPFProfilingTaskMetadataSchema, {
                taskId: item.taskId, processId: item.processId, profilingStartTime: BigInt(item.startedAtMs), currentTime,
              })
              : undefined;
            parts.push(sizeDelimitedEncode(EBPFProfilingDataSchema, { ...m, task }));
          });
          samples += item.data.length;
        }
        if (samples === 0) return { requests: [], tooLargeSamples: 0 };
        const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          bytes.set(p, at);
          at += p.length;
        }
        const request: SerializedRequest = { bytes, samples };
        return { requests: [request], tooLargeSamples: 0 };
      },
    },
    transport: createRetryingTransport(createProfilingDataTransport(options.connection), {
      ...options.retry, onRetry: () => options.metrics.recordRetry(name),
    }),
    metrics: options.metrics,
    logger: options.logger,
    queue: options.queue,
  }, (items) => items.reduce((n, i) => n + i.data.length, 0));
}
