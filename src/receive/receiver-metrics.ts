/**
 * The receiver's counters in the agent's registry: what was received, what
 * was rejected and why, and what each sink was handed.
 */
import { Counter, type Registry } from 'prom-client';
import type { ReceivedProtocol } from './received-profiles.js';

/** Why a request (or part of one) was refused. */
export type RejectReason =
  | 'unauthenticated'
  | 'too_large'
  | 'malformed'
  | 'invalid'
  | 'invalid_profile'
  | 'unsupported_media_type'
  | 'internal'
  // refused unread: the event loop was saturated (answered RESOURCE_EXHAUSTED / 429 with a retry hint)
  | 'overloaded'
  // accepted, but the interval buffer of local files was full (counted in samples)
  | 'interval_buffer_full';

/** The receiver's metrics. */
export interface ReceiverMetrics {
  /** An accepted request: its profiles and samples. */
  recordReceived(protocol: ReceivedProtocol, profiles: number, samples: number): void;
  /** A rejected request (n = 1), or the profiles a partial success rejected (reason invalid_profile). */
  recordRejected(protocol: ReceivedProtocol, reason: RejectReason, n?: number): void;
  /** Samples handed to one sink. */
  recordForwarded(sink: string, samples: number): void;
  /** Totals so far, for the log: received profiles, rejected by reason, forwarded samples by sink. */
  totals(): { received: number; rejected: Record<string, number>; forwarded: Record<string, number> };
}

/** Registers the counters in registry. */
export function createReceiverMetrics(registry: Registry): ReceiverMetrics {
  const registers = [registry];
  const receivedProfiles = new Counter({
    name: 'meshprof_receiver_received_profiles_total',
    help: 'Profiles accepted by the receiver, by protocol (otlp-grpc, otlp-http, pyroscope-ingest, pyroscope-push).',
    labelNames: ['protocol'] as const,
    registers,
  });
  const receivedSamples = new Counter({
    name: 'meshprof_receiver_received_samples_total',
    help: 'Samples (rows) in accepted profiles, by protocol.',
    labelNames: ['protocol'] as const,
    registers,
  });
  const rejected = new Counter({
    name: 'meshprof_receiver_rejected_total',
    help: 'Requests the receiver refused, by protocol and reason; reason invalid_profile counts single profiles refused in a partial success.',
    labelNames: ['protocol', 'reason'] as const,
    registers,
  });
  const forwarded = new Counter({
    name: 'meshprof_receiver_forwarded_samples_total',
    help: 'Received samples handed to each sink (exporter deliveries and drops are in meshprof_export_*).',
    labelNames: ['sink'] as const,
    registers,
  });
  const totals = { received: 0, rejected: {} as Record<string, number>, forwarded: {} as Record<string, number> };
  return {
    recordReceived(protocol, profiles, samples) {
      receivedProfiles.inc({ protocol }, profiles);
      receivedSamples.inc({ protocol }, samples);
      totals.received += profiles;
    },
    recordRejected(protocol, reason, n = 1) {
      if (n <= 0) return;
      rejected.inc({ protocol, reason }, n);
      totals.rejected[reason] = (totals.rejected[reason] ?? 0) + n;
    },
    recordForwarded(sink, samples) {
      forwarded.inc({ sink }, samples);
      totals.forwarded[sink] = (totals.forwarded[sink] ?? 0) + samples;
    },
    totals: () => structuredClone(totals),
  };
}
