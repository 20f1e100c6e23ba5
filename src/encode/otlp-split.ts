/**
 * Request splitting: a request over the size limit is cut by resource
 * (process) into smaller requests, each with its own dictionary, because
 * gRPC servers reject messages over 4 MiB by default.
 */
import { toBinary } from '@bufbuild/protobuf';
import { ExportProfilesServiceRequestSchema } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import type { Profile } from '../profile/model.js';
import type { OtlpEncodeOptions, OtlpResourceUnit } from './otlp.js';
import { encodeOtlpUnits, groupByProcess } from './otlp.js';

/** Default request size limit: the gRPC default maximum receive message size. */
export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** One serialized request and how many samples it carries (for drop accounting). */
export interface EncodedRequest {
  readonly bytes: Uint8Array;
  readonly samples: number;
}

/** Requests that fit, plus the samples of single processes too large to send at all. */
export interface SplitRequests {
  readonly requests: EncodedRequest[];
  readonly tooLargeSamples: number;
}

/** Serializes profiles into as few requests as fit under maxBytes each. */
export function encodeOtlpRequests(
  profiles: readonly Profile[],
  maxBytes: number = DEFAULT_MAX_REQUEST_BYTES,
  options: OtlpEncodeOptions = {},
): SplitRequests {
  const requests: EncodedRequest[] = [];
  let tooLargeSamples = 0;
  const units = groupByProcess(profiles);
  if (units.length === 0) return { requests, tooLargeSamples };

  // Halving keeps the number of re-encodings logarithmic in the resource count.
  const visit = (group: readonly OtlpResourceUnit[]): void => {
    const bytes = toBinary(ExportProfilesServiceRequestSchema, encodeOtlpUnits(group, options));
    const samples = group.reduce((n, u) => n + u.parts.reduce((m, p) => m + p.samples.length, 0), 0);
    if (bytes.length <= maxBytes) {
      requests.push({ bytes, samples });
    } else if (group.length === 1) {
      tooLargeSamples += samples;
    } else {
      const mid = Math.ceil(group.length / 2);
      visit(group.slice(0, mid));
      visit(group.slice(mid));
    }
  };
  visit(units);
  return { requests, tooLargeSamples };
}
