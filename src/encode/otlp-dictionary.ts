/**
 * Interning tables for one OTLP ExportProfilesServiceRequest: every profile
 * of the request indexes into the same ProfilesDictionary, and index 0 of
 * each table is the zero value, as the profiles spec requires.
 */
import { create } from '@bufbuild/protobuf';
import type { AnyValue } from '../gen/opentelemetry/proto/common/v1/common_pb.js';
import { AnyValueSchema } from '../gen/opentelemetry/proto/common/v1/common_pb.js';
import {
  FunctionSchema,
  KeyValueAndUnitSchema,
  LinkSchema,
  LocationSchema,
  MappingSchema,
  ProfilesDictionarySchema,
  StackSchema,
} from '../gen/opentelemetry/proto/profiles/v1development/profiles_pb.js';
import type {
  Function as OtlpFunction,
  KeyValueAndUnit,
  Location,
  Mapping as OtlpMapping,
  ProfilesDictionary,
  Stack,
} from '../gen/opentelemetry/proto/profiles/v1development/profiles_pb.js';
import type { Frame, Mapping } from '../profile/model.js';

/** Semantic-convention key for a GNU build id on a mapping. */
export const BUILD_ID_ATTRIBUTE = 'process.executable.build_id.gnu';
/** Semantic-convention key for the frame kind on a location. */
export const FRAME_TYPE_ATTRIBUTE = 'profile.frame.type';

/** An attribute value as the encoder produces them. */
export type OtlpAttributeValue = string | number;

/** Builds the shared tables of one request; not reusable across requests. */
export interface OtlpDictionaryBuilder {
  string(value: string): number;
  attribute(key: string, value: OtlpAttributeValue): number;
  /** Interns the frames (leaf first) as one stack. */
  stack(frames: readonly Frame[]): number;
  build(): ProfilesDictionary;
}

/** Creates an empty dictionary builder with every table's zero entry in place. */
export function createOtlpDictionaryBuilder(): OtlpDictionaryBuilder {
  const strings: string[] = [''];
  const stringIds = new Map<string, number>([['', 0]]);
  const attributes: KeyValueAndUnit[] = [create(KeyValueAndUnitSchema)];
  const mappings: OtlpMapping[] = [create(MappingSchema)];
  const functions: OtlpFunction[] = [create(FunctionSchema)];
  const locations: Location[] = [create(LocationSchema)];
  const stacks: Stack[] = [create(StackSchema)];
  // One map for every table: keys are prefixed by the table they index.
  const ids = new Map<string, number>();

  const intern = <T>(key: string, table: T[], make: () => T): number => {
    const known = ids.get(key);
    if (known !== undefined) return known;
    const id = table.length;
    table.push(make());
    ids.set(key, id);
    return id;
  };

  const string = (value: string): number => {
    const known = stringIds.get(value);
    if (known !== undefined) return known;
    strings.push(value);
    stringIds.set(value, strings.length - 1);
    return strings.length - 1;
  };

  const attribute = (key: string, value: OtlpAttributeValue): number =>
    intern(`a\0${key}\0${typeof value}\0${value}`, attributes, () =>
      create(KeyValueAndUnitSchema, { keyStrindex: string(key), value: anyValue(value) }),
    );

  const mapping = (m: Mapping | undefined): number => {
    if (m === undefined) return 0;
    const key = `m\0${m.file}\0${m.start}\0${m.limit}\0${m.fileOffset}\0${m.buildId ?? ''}`;
    return intern(key, mappings, () =>
      create(MappingSchema, {
        memoryStart: m.start,
        memoryLimit: m.limit,
        fileOffset: m.fileOffset,
        filenameStrindex: string(m.file),
        attributeIndices: m.buildId ? [attribute(BUILD_ID_ATTRIBUTE, m.buildId)] : [],
      }),
    );
  };

  const fn = (f: Frame): number => {
    const key = `f\0${f.functionName}\0${f.systemName ?? ''}\0${f.fileName ?? ''}`;
    return intern(key, functions, () =>
      create(FunctionSchema, {
        nameStrindex: string(f.functionName),
        systemNameStrindex: string(f.systemName ?? f.functionName),
        filenameStrindex: string(f.fileName ?? ''),
      }),
    );
  };

  const location = (f: Frame): number => {
    const mappingIndex = mapping(f.mapping);
    const functionIndex = fn(f);
    const key = `l\0${mappingIndex}\0${f.address}\0${functionIndex}\0${f.line ?? 0}\0${f.kind}`;
    return intern(key, locations, () =>
      create(LocationSchema, {
        mappingIndex,
        address: f.address,
        lines: [{ functionIndex, line: BigInt(f.line ?? 0) }],
        attributeIndices: [attribute(FRAME_TYPE_ATTRIBUTE, f.kind)],
      }),
    );
  };

  const stack = (frames: readonly Frame[]): number => {
    const locationIndices = frames.map(location);
    return intern(`s\0${locationIndices.join(',')}`, stacks, () => create(StackSchema, { locationIndices }));
  };

  const build = (): ProfilesDictionary =>
    create(ProfilesDictionarySchema, {
      mappingTable: mappings,
      locationTable: locations,
      functionTable: functions,
      linkTable: [create(LinkSchema)],
      stringTable: strings,
      attributeTable: attributes,
      stackTable: stacks,
    });

  return { string, attribute, stack, build };
}

function anyValue(value: OtlpAttributeValue): AnyValue {
  return typeof value === 'number'
    ? create(AnyValueSchema, { value: { case: 'intValue', value: BigInt(Math.trunc(value)) } })
    : create(AnyValueSchema, { value: { case: 'stringValue', value } });
}
