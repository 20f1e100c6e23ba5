/**
 * OTLP profiles serializer (opentelemetry-proto v1.11, profiles
 * v1development): Profile[] → ExportProfilesServiceRequest with one
 * ResourceProfiles per process and one shared ProfilesDictionary.
 */
import { randomBytes } from 'node:crypto';
import { create, toBinary } from '@bufbuild/protobuf';
import type { ExportProfilesServiceRequest } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { ExportProfilesServiceRequestSchema } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import type {
  Profile as OtlpProfile,
  ResourceProfiles,
} from '../gen/opentelemetry/proto/profiles/v1development/profiles_pb.js';
import {
  ProfileSchema,
  ResourceProfilesSchema,
  ScopeProfilesSchema,
} from '../gen/opentelemetry/proto/profiles/v1development/profiles_pb.js';
import type { ProcessMetadata, Profile, ProfileSample } from '../profile/model.js';
import type { OtlpDictionaryBuilder } from './otlp-dictionary.js';
import { createOtlpDictionaryBuilder } from './otlp-dictionary.js';
import type { OtlpResourceOptions } from './otlp-resource.js';
import { buildOtlpResource } from './otlp-resource.js';

/** Options for the OTLP serializer. */
export interface OtlpEncodeOptions extends OtlpResourceOptions {
  readonly scopeName?: string | undefined;
  readonly scopeVersion?: string | undefined;
  /** Source of profile ids; random 16 bytes by default. Tests pin it. */
  readonly profileId?: (() => Uint8Array) | undefined;
}

/** The samples of one process across every input Profile: the unit requests are split by. */
export interface OtlpResourceUnit {
  readonly process: ProcessMetadata;
  readonly parts: readonly { readonly profile: Profile; readonly samples: readonly ProfileSample[] }[];
}

/** Groups samples by process, keeping input order; processes with no metadata get a bare one. */
export function groupByProcess(profiles: readonly Profile[]): OtlpResourceUnit[] {
  const units = new Map<number, { process: ProcessMetadata; parts: { profile: Profile; samples: ProfileSample[] }[] }>();
  for (const profile of profiles) {
    const byPid = new Map<number, ProfileSample[]>();
    for (const s of profile.samples) {
      const list = byPid.get(s.pid) ?? [];
      list.push(s);
      byPid.set(s.pid, list);
    }
    for (const [pid, samples] of byPid) {
      let unit = units.get(pid);
      if (!unit) {
        const process = profile.processes.get(pid) ?? { pid, name: samples[0]?.threadName ?? String(pid), attributes: {} };
        unit = { process, parts: [] };
        units.set(pid, unit);
      }
      unit.parts.push({ profile, samples });
    }
  }
  return [...units.values()];
}

/** Encodes profiles as one request. */
export function encodeOtlp(profiles: readonly Profile[], options: OtlpEncodeOptions = {}): ExportProfilesServiceRequest {
  return encodeOtlpUnits(groupByProcess(profiles), options);
}

/** Serializes profiles as the binary request body (what `.otlp.pb` files and transports carry). */
export function encodeOtlpBinary(profiles: readonly Profile[], options: OtlpEncodeOptions = {}): Uint8Array {
  return toBinary(ExportProfilesServiceRequestSchema, encodeOtlp(profiles, options));
}

/** Encodes already-grouped processes as one request with its own dictionary. */
export function encodeOtlpUnits(
  units: readonly OtlpResourceUnit[],
  options: OtlpEncodeOptions = {},
): ExportProfilesServiceRequest {
  const dict = createOtlpDictionaryBuilder();
  const resourceProfiles: ResourceProfiles[] = units.map((unit) =>
    create(ResourceProfilesSchema, {
      resource: buildOtlpResource(unit.process, options),
      scopeProfiles: [
        create(ScopeProfilesSchema, {
          scope: { name: options.scopeName ?? 'meshprof', version: options.scopeVersion ?? '' },
          profiles: unit.parts.flatMap((part) => encodeProfiles(part.profile, part.samples, dict, options)),
        }),
      ],
    }),
  );
  return create(ExportProfilesServiceRequestSchema, { resourceProfiles, dictionary: dict.build() });
}

/**
 * One OTLP Profile per sample type, since v1development carries a single
 * sample_type per profile. An off-CPU Profile (switches/count +
 * off_cpu/nanoseconds) thus yields the off_cpu profile first and the switch
 * counts second.
 */
function encodeProfiles(
  profile: Profile,
  samples: readonly ProfileSample[],
  dict: OtlpDictionaryBuilder,
  options: OtlpEncodeOptions,
): OtlpProfile[] {
  const order = profile.sampleTypes.map((_, i) => i);
  order.sort((a, b) => primaryRank(profile, a) - primaryRank(profile, b));
  const profileId = options.profileId ?? (() => new Uint8Array(randomBytes(16)));
  return order.map((typeIndex) => {
    const type = profile.sampleTypes[typeIndex]!;
    return create(ProfileSchema, {
      sampleType: { typeStrindex: dict.string(type.type), unitStrindex: dict.string(type.unit) },
      periodType: { typeStrindex: dict.string(profile.periodType.type), unitStrindex: dict.string(profile.periodType.unit) },
      period: BigInt(Math.round(profile.period)),
      timeUnixNano: profile.startTimeNs,
      durationNano: profile.durationNs,
      profileId: profileId(),
      samples: samples
        .filter((s) => (s.values[typeIndex] ?? 0) !== 0)
        .map((s) => ({
          stackIndex: dict.stack(s.frames),
          attributeIndices: [dict.attribute('thread.name', s.threadName), dict.attribute('thread.id', s.tid)],
          values: [BigInt(Math.round(s.values[typeIndex] ?? 0))],
        })),
    });
  });
}

function primaryRank(profile: Profile, index: number): number {
  return profile.sampleTypes[index]?.type === 'off_cpu' ? 0 : 1;
}
