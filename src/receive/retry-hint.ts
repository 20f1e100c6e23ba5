/**
 * The retry hint of a refusal, as OTLP exporters read it: for gRPC a
 * google.rpc.Status carrying google.rpc.RetryInfo in the
 * grpc-status-details-bin trailer; for HTTP the Retry-After header (whole
 * seconds, at least one).
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { anyPack, durationFromMs } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { RetryInfoSchema } from '../gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../gen/google/rpc/status_pb.js';

/** google.rpc.Status with a RetryInfo detail, encoded. */
export function retryStatus(code: number, message: string, retryAfterMs: number): Uint8Array {
  return toBinary(StatusSchema, create(StatusSchema, {
    code, message, details: [anyPack(RetryInfoSchema, create(RetryInfoSchema, { retryDelay: durationFromMs(retryAfterMs) }))],
  }));
}

/** Trailers of a gRPC refusal carrying the retry hint; the status is encoded once per distinct refusal, as under overload every refusal is the same. */
export function createRetryTrailers(): (code: grpc.status, message: string, retryAfterMs: number) => grpc.Metadata {
  let last: { key: string; bytes: Buffer } | undefined;
  return (code, message, retryAfterMs) => {
    const key = `${code}\0${retryAfterMs}\0${message}`;
    if (last?.key !== key) last = { key, bytes: Buffer.from(retryStatus(code, message, retryAfterMs)) };
    const m = new grpc.Metadata();
    m.set('grpc-status-details-bin', last.bytes);
    return m;
  };
}

/** Retry-After in whole seconds, rounded up. */
export const retryAfterSeconds = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)));
