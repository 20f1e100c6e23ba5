/**
 * The receiver's one path for every protocol: validate, enrich, count, hand
 * on. The servers only decode bytes and map the outcome to their status
 * codes; what is accepted and what is refused is decided here, once.
 */
import type { ExportProfilesServiceRequest } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { otlpToProfiles } from './otlp-to-profiles.js';
import { InvalidRequestError, validateOtlpRequest } from './otlp-validation.js';
import { pprofSeriesToOtlp, type PprofSeries } from './pprof-input.js';
import type { ReceiverMetrics } from './receiver-metrics.js';
import { receivedProfiles, type ReceivedProfiles, type ReceivedProtocol } from './received-profiles.js';
import type { ResourceEnricher } from './resource-enricher.js';

/** Upper bound on what enrichment adds to one resource, serialized. */
const ENRICHMENT_BYTES = 8192;

/** OTLP's partial success: how many profiles were refused and why. */
export interface IntakeOutcome {
  readonly rejectedProfiles: number;
  readonly errorMessage: string;
}

/** Accepts decoded requests. Both methods throw InvalidRequestError when nothing can be accepted. */
export interface ProfileIntake {
  /** `receivedBytes`: the request's size as it arrived (uncompressed), a hint for batching. */
  acceptOtlp(protocol: ReceivedProtocol, request: ExportProfilesServiceRequest, receivedBytes?: number): IntakeOutcome;
  acceptPprof(protocol: ReceivedProtocol, series: readonly PprofSeries[]): void;
}

/** What the intake needs. */
export interface ProfileIntakeDeps {
  readonly enricher: ResourceEnricher;
  readonly metrics: ReceiverMetrics;
  /** Hands an accepted request to the sinks; must not block (exporters queue). */
  readonly deliver: (received: ReceivedProfiles) => void;
}

/** Creates the intake. */
export function createProfileIntake(deps: ProfileIntakeDeps): ProfileIntake {
  const { metrics } = deps;
  const pass = (protocol: ReceivedProtocol, request: ExportProfilesServiceRequest, profiles: number, samples: number, receivedBytes?: number): void => {
    const added = deps.enricher.enrich(request);
    metrics.recordReceived(protocol, profiles, samples);
    // Enrichment adds well under ENRICHMENT_BYTES per resource.
    const sizeHint = receivedBytes === undefined ? undefined : receivedBytes + added * ENRICHMENT_BYTES;
    if (profiles > 0) deps.deliver(receivedProfiles(protocol, samples, () => request, () => otlpToProfiles(request), sizeHint));
  };
  return {
    acceptOtlp(protocol, request, receivedBytes) {
      let checked;
      try {
        checked = validateOtlpRequest(request);
      } catch (err) {
        if (err instanceof InvalidRequestError) metrics.recordRejected(protocol, 'invalid');
        throw err;
      }
      metrics.recordRejected(protocol, 'invalid_profile', checked.rejectedProfiles);
      // Rejected profiles only make it smaller.
      pass(protocol, checked.request, checked.acceptedProfiles, checked.acceptedSamples, receivedBytes);
      const more = checked.rejectedProfiles - checked.errors.length;
      const errorMessage = checked.rejectedProfiles === 0 ? '' : [
        `${checked.rejectedProfiles} profiles rejected`,
        ...checked.errors,
        ...(more > 0 ? [`and ${more} more`] : []),
      ].join('; ');
      return { rejectedProfiles: checked.rejectedProfiles, errorMessage };
    },
    acceptPprof(protocol, series) {
      let converted;
      try {
        converted = pprofSeriesToOtlp(series);
      } catch (err) {
        if (err instanceof InvalidRequestError) metrics.recordRejected(protocol, 'invalid');
        throw err;
      }
      const profiles = converted.request.resourceProfiles.reduce((n, rp) => n + rp.scopeProfiles.reduce((m, sp) => m + sp.profiles.length, 0), 0);
      pass(protocol, converted.request, profiles, converted.samples);
    },
  };
}
