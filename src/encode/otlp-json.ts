/**
 * The OTLP JSON form of a request (`.otlp.json` files): protobuf JSON with
 * the OTLP exceptions, i.e. profile ids as hex rather than base64.
 */
import { fromBinary, toJson } from '@bufbuild/protobuf';
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import type { ExportProfilesServiceRequest } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { ExportProfilesServiceRequestSchema } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';

/** Converts a request to OTLP JSON text. */
export function otlpRequestToJson(request: ExportProfilesServiceRequest): string {
  const json = toJson(ExportProfilesServiceRequestSchema, request) as JsonObject;
  for (const rp of arrayOf(json['resourceProfiles'])) {
    for (const sp of arrayOf(objectOf(rp)?.['scopeProfiles'])) {
      for (const p of arrayOf(objectOf(sp)?.['profiles'])) {
        const profile = objectOf(p);
        const id = profile?.['profileId'];
        if (profile && typeof id === 'string') profile['profileId'] = Buffer.from(id, 'base64').toString('hex');
      }
    }
  }
  return JSON.stringify(json, null, 2) + '\n';
}

/** Converts a binary request body to OTLP JSON text. */
export function otlpBinaryToJson(bytes: Uint8Array): string {
  return otlpRequestToJson(fromBinary(ExportProfilesServiceRequestSchema, bytes));
}

function arrayOf(v: JsonValue | undefined): JsonValue[] {
  return Array.isArray(v) ? v : [];
}

function objectOf(v: JsonValue | undefined): JsonObject | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}
