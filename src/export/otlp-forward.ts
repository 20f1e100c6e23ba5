/**
 * Received OTLP requests as they go on: as they came (enriched), merged
 * when several wait together (otlp-merge.ts), every index still naming what
 * the producer meant. One over the size limit is cut by resource, each part
 * carrying the whole dictionary.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import type { ExportProfilesServiceRequest } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { ExportProfilesServiceRequestSchema } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import type { ReceivedProfiles } from '../receive/received-profiles.js';
import { encodeMergedOtlpRequests } from './otlp-merge.js';
import type { ItemSerializer, SerializedRequest } from './queued-exporter.js';

const samplesIn = (r: ExportProfilesServiceRequest['resourceProfiles']): number =>
  r.reduce((n, rp) => n + rp.scopeProfiles.reduce((m, sp) => m + sp.profiles.reduce((k, p) => k + p.samples.length, 0), 0), 0);

/**
 * Serializes received requests: those handed over together are merged into
 * as few requests under maxBytes as their sizes allow (one dictionary each).
 */
export function createOtlpForwardSerializer(maxBytes: number): ItemSerializer<ReceivedProfiles> {
  return {
    serialize(items) {
      const requests: SerializedRequest[] = [];
      let tooLargeSamples = 0;
      let group: { request: ExportProfilesServiceRequest; bytes: Uint8Array | undefined; samples: number }[] = [];
      let groupBytes = 0;
      const alone = (g: (typeof group)[number]): void => {
        const bytes = g.bytes ?? encodeMergedOtlpRequests([g.request]);
        if (bytes.length <= maxBytes) requests.push({ bytes, samples: g.samples });
        else tooLargeSamples += splitByResource(g.request, maxBytes, requests);
      };
      const close = (): void => {
        if (group.length > 1) {
          const bytes = encodeMergedOtlpRequests(group.map((g) => g.request));
          // Merging only removes duplicates; should it still not fit, each goes alone.
          if (bytes.length <= maxBytes) requests.push({ bytes, samples: group.reduce((n, g) => n + g.samples, 0) });
          else group.forEach(alone);
        } else if (group.length === 1) {
          alone(group[0]!);
        }
        group = [];
        groupBytes = 0;
      };
      for (const item of items) {
        const request = item.otlp();
        // The receiver's size hint spares serializing each request only to measure it.
        const bytes = item.sizeHint === undefined ? toBinary(ExportProfilesServiceRequestSchema, request) : undefined;
        const size = bytes?.length ?? item.sizeHint ?? 0;
        const entry = { request, bytes, samples: samplesIn(request.resourceProfiles) };
        if (size > maxBytes) {
          alone(entry);
          continue;
        }
        if (groupBytes + size > maxBytes) close();
        group.push(entry);
        groupBytes += size;
      }
      close();
      return { requests, tooLargeSamples };
    },
  };
}

/** Cuts one request over the limit by resource; returns the samples of single resources still over it. */
function splitByResource(request: ExportProfilesServiceRequest, maxBytes: number, out: SerializedRequest[]): number {
  let tooLarge = 0;
  const visit = (resources: ExportProfilesServiceRequest['resourceProfiles']): void => {
    const bytes = toBinary(ExportProfilesServiceRequestSchema, create(ExportProfilesServiceRequestSchema, { resourceProfiles: resources, dictionary: request.dictionary }));
    if (bytes.length <= maxBytes) out.push({ bytes, samples: samplesIn(resources) });
    else if (resources.length <= 1) tooLarge += samplesIn(resources);
    else {
      const mid = Math.ceil(resources.length / 2);
      visit(resources.slice(0, mid));
      visit(resources.slice(mid));
    }
  };
  visit(request.resourceProfiles);
  return tooLarge;
}
