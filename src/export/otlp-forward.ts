/**
 * Received OTLP requests as they go on: as they came (enriched), merged
 * when several wait together (otlp-merge.ts), every index still naming what
 * the producer meant. One over the size limit is cut by resource, each part
 * carrying the whole dictionary.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { ExportProfilesServiceRequest } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { ExportProfilesServiceRequestSchema } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import type { ReceivedProfiles } from '../receive/received-profiles.js';
import type { ForwardBatch } from './forwarding-exporter.js';
import { MergedRequestBuilder } from './otlp-merge.js';
import type { ItemSerializer, SerializedRequest } from './queued-exporter.js';

const samplesIn = (r: ExportProfilesServiceRequest['resourceProfiles']): number =>
  r.reduce((n, rp) => n + rp.scopeProfiles.reduce((m, sp) => m + sp.profiles.reduce((k, p) => k + p.samples.length, 0), 0), 0);

/**
 * Serializes received requests: those handed over together are merged into
 * as few requests under maxBytes as their sizes allow (one dictionary each).
 * begin() folds them in one by one as they are forwarded, so each decoded
 * request can be collected at once rather than wait for the hand-over.
 */
export function createOtlpForwardSerializer(maxBytes: number): ItemSerializer<ReceivedProfiles> & { begin(): ForwardBatch } {
  const begin = (): ForwardBatch => {
    const requests: SerializedRequest[] = [];
    let tooLargeSamples = 0;
    let items = 0;
    let samples = 0;
    let bytes = 0;
    let current: { builder: MergedRequestBuilder; bytes: number; samples: number } | undefined;
    const close = (): void => {
      if (current === undefined) return;
      const encoded = current.builder.finish();
      // Merging only removes duplicates, but a renumbered index can take a byte more: cut what does not fit by resource.
      if (encoded.length <= maxBytes) requests.push({ bytes: encoded, samples: current.samples });
      else tooLargeSamples += splitByResource(fromBinary(ExportProfilesServiceRequestSchema, encoded), maxBytes, requests);
      current = undefined;
    };
    return {
      add(item) {
        const request = item.otlp();
        // The receiver's size hint spares serializing each request only to measure it.
        const size = item.sizeHint ?? toBinary(ExportProfilesServiceRequestSchema, request).length;
        const n = item.samples;
        if (current !== undefined && current.bytes + size > maxBytes) close();
        current ??= { builder: new MergedRequestBuilder(), bytes: 0, samples: 0 };
        current.builder.add(request);
        current.bytes += size;
        current.samples += n;
        items++;
        samples += n;
        bytes += size;
      },
      get items() { return items; },
      get samples() { return samples; },
      get bytes() { return bytes; },
      finish() {
        close();
        return { requests, tooLargeSamples };
      },
    };
  };
  return {
    begin,
    serialize(items) {
      const batch = begin();
      for (const item of items) batch.add(item);
      return batch.finish();
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
