/**
 * Reads the server's retry hint from a gRPC error: google.rpc.Status in the
 * grpc-status-details-bin trailer, carrying a google.rpc.RetryInfo detail.
 */
import { fromBinary } from '@bufbuild/protobuf';
import type { Metadata } from '@grpc/grpc-js';
import { RetryInfoSchema } from '../gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../gen/google/rpc/status_pb.js';

/** Type URL of RetryInfo inside google.protobuf.Any. */
export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/** The RetryInfo delay in ms, or undefined when the server sent none (or garbage). */
export function retryDelayFromMetadata(metadata: Metadata | undefined): number | undefined {
  const raw = metadata?.get('grpc-status-details-bin')[0];
  if (!(raw instanceof Uint8Array)) return undefined;
  try {
    const status = fromBinary(StatusSchema, raw);
    for (const detail of status.details) {
      if (detail.typeUrl !== RETRY_INFO_TYPE_URL) continue;
      const delay = fromBinary(RetryInfoSchema, detail.value).retryDelay;
      if (delay) return Number(delay.seconds) * 1000 + Math.floor(delay.nanos / 1e6);
    }
  } catch {
    // A malformed trailer is no reason to fail the export; fall back to backoff.
  }
  return undefined;
}
