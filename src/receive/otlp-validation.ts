/**
 * Checks a received OTLP profiles request before anything reads it: every
 * index in range, string_table[0] == "", and each sample's values and
 * timestamps consistent. A broken dictionary rejects the whole request (no
 * profile can be read through it); a broken profile is dropped alone and
 * reported back as OTLP partial success.
 */
import type { ExportProfilesServiceRequest } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import type { Profile as OtlpProfile, ProfilesDictionary } from '../gen/opentelemetry/proto/profiles/v1development/profiles_pb.js';

/** A request no part of which can be accepted; the message says what is wrong. */
export class InvalidRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

/** What validation kept and what it dropped. */
export interface ValidatedRequest {
  /** The request with rejected profiles removed (the same object, edited). */
  readonly request: ExportProfilesServiceRequest;
  readonly acceptedProfiles: number;
  readonly acceptedSamples: number;
  readonly rejectedProfiles: number;
  /** One line per rejected profile, the first few only. */
  readonly errors: readonly string[];
}

const MAX_ERRORS = 5;

/**
 * Throws when index is not a valid entry of a table of `size` entries.
 * `what` names the field, built only on failure: validation runs on every
 * index of every request, and formatting each name first cost as much as
 * decoding the request.
 */
function inRange(what: () => string, index: number, table: string, size: number): void {
  if (!(index >= 0 && index < size && Number.isInteger(index))) {
    throw new InvalidRequestError(`${what()} ${index} is outside ${table} (${size} entries)`);
  }
}

/** Validates the shared tables; throws InvalidRequestError naming the first bad entry. */
export function validateDictionary(dict: ProfilesDictionary | undefined, hasProfiles: boolean): void {
  const strings = dict?.stringTable.length ?? 0;
  if (strings === 0) {
    if (hasProfiles) throw new InvalidRequestError('dictionary.string_table is empty: profiles need at least its entry 0, ""');
    return;
  }
  if (dict === undefined) return;
  if (dict.stringTable[0] !== '') throw new InvalidRequestError(`dictionary.string_table[0] is "${dict.stringTable[0]}": it must be the empty string`);
  const attrs = dict.attributeTable.length;
  dict.attributeTable.forEach((a, i) => {
    inRange(() => `attribute_table[${i}].key_strindex`, a.keyStrindex, 'string_table', strings);
    inRange(() => `attribute_table[${i}].unit_strindex`, a.unitStrindex, 'string_table', strings);
  });
  const attrList = (owner: () => string, indices: readonly number[]): void => indices.forEach((a, j) => inRange(() => `${owner()}.attribute_indices[${j}]`, a, 'attribute_table', attrs));
  dict.mappingTable.forEach((m, i) => {
    inRange(() => `mapping_table[${i}].filename_strindex`, m.filenameStrindex, 'string_table', strings);
    attrList(() => `mapping_table[${i}]`, m.attributeIndices);
  });
  dict.functionTable.forEach((f, i) => {
    inRange(() => `function_table[${i}].name_strindex`, f.nameStrindex, 'string_table', strings);
    inRange(() => `function_table[${i}].system_name_strindex`, f.systemNameStrindex, 'string_table', strings);
    inRange(() => `function_table[${i}].filename_strindex`, f.filenameStrindex, 'string_table', strings);
  });
  const mappings = Math.max(dict.mappingTable.length, 1);
  dict.locationTable.forEach((l, i) => {
    // mapping_index 0 means "no mapping" even when the table is empty.
    inRange(() => `location_table[${i}].mapping_index`, l.mappingIndex, 'mapping_table', mappings);
    l.lines.forEach((line, j) => inRange(() => `location_table[${i}].lines[${j}].function_index`, line.functionIndex, 'function_table', dict.functionTable.length));
    attrList(() => `location_table[${i}]`, l.attributeIndices);
  });
  dict.stackTable.forEach((s, i) => {
    s.locationIndices.forEach((l, j) => inRange(() => `stack_table[${i}].location_indices[${j}]`, l, 'location_table', dict.locationTable.length));
  });
}

/** Validates one profile against a valid dictionary; throws InvalidRequestError naming the first bad field. */
export function validateProfile(p: OtlpProfile, dict: ProfilesDictionary): void {
  const strings = dict.stringTable.length;
  const attrs = dict.attributeTable.length;
  for (const [field, vt] of [['sample_type', p.sampleType], ['period_type', p.periodType]] as const) {
    if (vt === undefined) continue;
    inRange(() => `${field}.type_strindex`, vt.typeStrindex, 'string_table', strings);
    inRange(() => `${field}.unit_strindex`, vt.unitStrindex, 'string_table', strings);
  }
  p.attributeIndices.forEach((a, j) => inRange(() => `attribute_indices[${j}]`, a, 'attribute_table', attrs));
  const links = Math.max(dict.linkTable.length, 1);
  p.samples.forEach((s, i) => {
    inRange(() => `samples[${i}].stack_index`, s.stackIndex, 'stack_table', dict.stackTable.length);
    s.attributeIndices.forEach((a, j) => inRange(() => `samples[${i}].attribute_indices[${j}]`, a, 'attribute_table', attrs));
    inRange(() => `samples[${i}].link_index`, s.linkIndex, 'link_table', links);
    if (s.values.length === 0 && s.timestampsUnixNano.length === 0) {
      throw new InvalidRequestError(`samples[${i}] has neither values nor timestamps_unix_nano`);
    }
    if (s.values.length > 0 && s.timestampsUnixNano.length > 0 && s.values.length !== s.timestampsUnixNano.length) {
      throw new InvalidRequestError(`samples[${i}] has ${s.values.length} values but ${s.timestampsUnixNano.length} timestamps: give one value per timestamp, or none`);
    }
  });
}

/**
 * Validates the request in place: throws InvalidRequestError when the
 * dictionary is broken, else removes each broken profile and says why.
 */
export function validateOtlpRequest(request: ExportProfilesServiceRequest): ValidatedRequest {
  const hasProfiles = request.resourceProfiles.some((rp) => rp.scopeProfiles.some((sp) => sp.profiles.length > 0));
  validateDictionary(request.dictionary, hasProfiles);
  const errors: string[] = [];
  let acceptedProfiles = 0;
  let acceptedSamples = 0;
  let rejectedProfiles = 0;
  const dict = request.dictionary;
  request.resourceProfiles.forEach((rp, r) => {
    rp.scopeProfiles.forEach((sp, s) => {
      sp.profiles = sp.profiles.filter((p, i) => {
        try {
          if (dict === undefined) throw new InvalidRequestError('no dictionary');
          validateProfile(p, dict);
          acceptedProfiles++;
          acceptedSamples += p.samples.length;
          return true;
        } catch (err) {
          if (!(err instanceof InvalidRequestError)) throw err;
          rejectedProfiles++;
          if (errors.length < MAX_ERRORS) errors.push(`resource_profiles[${r}].scope_profiles[${s}].profiles[${i}]: ${err.message}`);
          return false;
        }
      });
    });
  });
  return { request, acceptedProfiles, acceptedSamples, rejectedProfiles, errors };
}
