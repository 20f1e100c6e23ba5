/**
 * What the receiver hands on: one accepted, enriched request, in the two
 * forms the sinks want. OTLP exporters forward the OTLP request as it came
 * (its dictionary untouched, only resource attributes added); Pyroscope,
 * local files and the other Profile-model sinks take the same samples as
 * meshprof Profiles. Each form is built on first use, once.
 */
import type { ExportProfilesServiceRequest } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import type { Profile } from '../profile/model.js';

/** Where a request came in. */
export type ReceivedProtocol = 'otlp-grpc' | 'otlp-http' | 'pyroscope-ingest' | 'pyroscope-push';

/** One received profile as the Profile model: one resource, one sample type group. */
export interface ReceivedProfile {
  /**
   * Name for files and Pyroscope's `__name__`: the sample type, e.g.
   * `process_cpu`, `memory`, `off_cpu`; the same name for the same type, so
   * an interval's profiles of one type can be merged.
   */
  readonly name: string;
  readonly profile: Profile;
}

/** One accepted request. */
export interface ReceivedProfiles {
  readonly protocol: ReceivedProtocol;
  /** Samples accepted (rows, not values): the unit forwarding is counted in. */
  readonly samples: number;
  /** About how large otlp() serializes (never less), so batching need not serialize each request; undefined when unknown. */
  readonly sizeHint: number | undefined;
  /** The enriched request, for OTLP exporters. */
  otlp(): ExportProfilesServiceRequest;
  /** The same samples as Profiles, for every other sink. */
  profiles(): readonly ReceivedProfile[];
}

/** Wraps two producers so each runs at most once. */
export function receivedProfiles(
  protocol: ReceivedProtocol,
  samples: number,
  otlp: () => ExportProfilesServiceRequest,
  profiles: () => readonly ReceivedProfile[],
  sizeHint?: number,
): ReceivedProfiles {
  let request: ExportProfilesServiceRequest | undefined;
  let converted: readonly ReceivedProfile[] | undefined;
  return {
    protocol,
    samples,
    sizeHint,
    otlp: () => (request ??= otlp()),
    profiles: () => (converted ??= profiles()),
  };
}
