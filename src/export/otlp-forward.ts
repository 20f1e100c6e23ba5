/**
 * Received OTLP requests as they go on: the request as it came (enriched),
 * its dictionary untouched. One over the size limit is cut by resource,
 * each part carrying the whole dictionary, so every index still means what
 * the producer meant.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import type { ExportProfilesServiceRequest } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { ExportProfilesServiceRequestSchema } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import type { ReceivedProfiles } from '../receive/received-profiles.js';
import type { ItemSerializer, SerializedRequest } from './queued-exporter.js';

const samplesIn = (r: ExportProfilesServiceRequest['resourceProfiles']): number =>
  r.reduce((n, rp) => n + rp.scopeProfiles.reduce((m, sp) => m + sp.profiles.reduce((k, p) => k + p.samples.length, 0), 0), 0);

/** Serializes received requests, each within maxBytes. */
export function createOtlpForwardSerializer(maxBytes: number): ItemSerializer<ReceivedProfiles> {
  return {
    serialize(items) {
      const requests: SerializedRequest[] = [];
      let tooLargeSamples = 0;
      for (const item of items) {
        const request = item.otlp();
        const visit = (resources: ExportProfilesServiceRequest['resourceProfiles']): void => {
          const part = resources.length === request.resourceProfiles.length
            ? request
            : create(ExportProfilesServiceRequestSchema, { resourceProfiles: resources, dictionary: request.dictionary });
          const bytes = toBinary(ExportProfilesServiceRequestSchema, part);
          if (bytes.length <= maxBytes) requests.push({ bytes, samples: samplesIn(resources) });
          else if (resources.length <= 1) tooLargeSamples += samplesIn(resources);
          else {
            const mid = Math.ceil(resources.length / 2);
            visit(resources.slice(0, mid));
            visit(resources.slice(mid));
          }
        };
        visit(request.resourceProfiles);
      }
      return { requests, tooLargeSamples };
    },
  };
}
