/**
 * The contents of an OTLP profiles file: `.otlp.pb` holds the binary
 * ExportProfilesServiceRequest, `.otlp.json` its OTLP JSON form. One request,
 * unsplit: a file has no message size limit.
 */
import { hostname } from 'node:os';
import { toBinary } from '@bufbuild/protobuf';
import { ExportProfilesServiceRequestSchema } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import type { Profile } from '../profile/model.js';
import type { OtlpEncodeOptions } from './otlp.js';
import { encodeOtlp } from './otlp.js';
import { otlpRequestToJson } from './otlp-json.js';

/** Which of the two OTLP file forms to produce. */
export type OtlpFileEncoding = 'binary' | 'json';

/**
 * Encodes profiles as one OTLP request file body. host.name defaults to this
 * machine's name; pass OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES through
 * options (see resourceOptionsFromEnv in export/).
 */
export function encodeOtlpFile(
  profiles: readonly Profile[],
  encoding: OtlpFileEncoding,
  options: OtlpEncodeOptions = { hostName: hostname() },
): Uint8Array | string {
  const request = encodeOtlp(profiles, options);
  return encoding === 'json' ? otlpRequestToJson(request) : toBinary(ExportProfilesServiceRequestSchema, request);
}
