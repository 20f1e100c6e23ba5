/**
 * Decodes an ExportProfilesServiceRequest without reflection: the same
 * messages fromBinary() builds (field for field, unknown fields kept in
 * $unknown so forwarding keeps them), read by code written for this one
 * schema. At a thousand requests a second the reflective decode was the
 * receiver's largest single cost. Resource and InstrumentationScope (small,
 * once per resource) and nested AnyValue arrays and maps go through
 * fromBinary. Field numbers are those of proto/opentelemetry/proto/
 * profiles/v1development/profiles.proto and the collector's service.
 */
import { fromBinary, mergeFromBinary, type UnknownField } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import type { ExportProfilesServiceRequest } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { AnyValueSchema, InstrumentationScopeSchema, type AnyValue } from '../gen/opentelemetry/proto/common/v1/common_pb.js';
import { ResourceSchema } from '../gen/opentelemetry/proto/resource/v1/resource_pb.js';
import type {
  Function as OtlpFunction, KeyValueAndUnit, Line, Link, Location, Mapping, Profile, ProfilesDictionary,
  ResourceProfiles, Sample, ScopeProfiles, Stack, ValueType,
} from '../gen/opentelemetry/proto/profiles/v1development/profiles_pb.js';

const P = 'opentelemetry.proto.profiles.v1development.';
const MAX_DEPTH = 100;

/** Reads fields until end, dispatching each known number; the rest go to unknown. */
function fields(r: BinaryReader, end: number, known: (no: number, wt: WireType) => boolean): UnknownField[] | undefined {
  let unknown: UnknownField[] | undefined;
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no === 0) throw new Error('field number 0');
    if (!known(no, wt)) (unknown ??= []).push({ no, wireType: wt, data: r.skip(wt, no, MAX_DEPTH) });
  }
  if (r.pos > end) throw new Error('premature end of a message');
  return unknown;
}

/** The end of a length-delimited field that starts at the reader's position. */
function sub(r: BinaryReader): number {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len) throw new Error('premature EOF');
  return end;
}

function expect(wt: WireType, want: WireType, no: number): void {
  if (wt !== want) throw new Error(`field ${no} has wire type ${wt}, not ${want}`);
}

function packedEnd(r: BinaryReader, end: number): void {
  if (r.pos !== end) throw new Error('a packed field ends inside a value');
}

/** A repeated int32, packed or not. */
function int32s(r: BinaryReader, wt: WireType, out: number[]): void {
  if (wt === WireType.LengthDelimited) {
    const end = sub(r);
    while (r.pos < end) out.push(r.int32());
    packedEnd(r, end);
  } else {
    expect(wt, WireType.Varint, 0);
    out.push(r.int32());
  }
}

function int64s(r: BinaryReader, wt: WireType, out: bigint[]): void {
  if (wt === WireType.LengthDelimited) {
    const end = sub(r);
    while (r.pos < end) out.push(r.int64() as bigint);
    packedEnd(r, end);
  } else {
    expect(wt, WireType.Varint, 0);
    out.push(r.int64() as bigint);
  }
}

function fixed64s(r: BinaryReader, wt: WireType, out: bigint[]): void {
  if (wt === WireType.LengthDelimited) {
    const end = sub(r);
    while (r.pos < end) out.push(r.fixed64() as bigint);
    packedEnd(r, end);
  } else {
    expect(wt, WireType.Bit64, 0);
    out.push(r.fixed64() as bigint);
  }
}

/** Reads one length-delimited field with read; the field must be length-delimited. */
function message<T>(r: BinaryReader, wt: WireType, no: number, read: (r: BinaryReader, end: number) => T): T {
  expect(wt, WireType.LengthDelimited, no);
  const end = sub(r);
  const m = read(r, end);
  r.pos = end;
  return m;
}

const varint = (r: BinaryReader, wt: WireType, no: number): void => expect(wt, WireType.Varint, no);
const delimited = (r: BinaryReader, wt: WireType, no: number): void => expect(wt, WireType.LengthDelimited, no);

/** A ValueType; into (a second occurrence of the field) is merged into, as protobuf does. */
function valueType(r: BinaryReader, end: number, into?: ValueType): ValueType {
  const m: ValueType = into ?? { $typeName: `${P}ValueType`, typeStrindex: 0, unitStrindex: 0 };
  const u = fields(r, end, (no, wt) => {
    if (no === 1) { varint(r, wt, no); m.typeStrindex = r.int32(); } else if (no === 2) { varint(r, wt, no); m.unitStrindex = r.int32(); } else return false;
    return true;
  });
  if (u) (m.$unknown ??= []).push(...u);
  return m;
}

function sample(r: BinaryReader, end: number): Sample {
  const m: Sample = { $typeName: `${P}Sample`, stackIndex: 0, attributeIndices: [], linkIndex: 0, values: [], timestampsUnixNano: [] };
  const u = fields(r, end, (no, wt) => {
    switch (no) {
      case 1: varint(r, wt, no); m.stackIndex = r.int32(); return true;
      case 2: int32s(r, wt, m.attributeIndices); return true;
      case 3: varint(r, wt, no); m.linkIndex = r.int32(); return true;
      case 4: int64s(r, wt, m.values); return true;
      case 5: fixed64s(r, wt, m.timestampsUnixNano); return true;
      default: return false;
    }
  });
  if (u) m.$unknown = u;
  return m;
}

function profile(r: BinaryReader, end: number): Profile {
  const m: Profile = {
    $typeName: `${P}Profile`, sampleType: undefined, samples: [], timeUnixNano: 0n, durationNano: 0n, periodType: undefined, period: 0n,
    profileId: new Uint8Array(0), droppedAttributesCount: 0, originalPayloadFormat: '', originalPayload: new Uint8Array(0), attributeIndices: [],
  };
  const u = fields(r, end, (no, wt) => {
    switch (no) {
      case 1: m.sampleType = message(r, wt, no, (rr, e) => valueType(rr, e, m.sampleType)); return true;
      case 2: m.samples.push(message(r, wt, no, sample)); return true;
      case 3: expect(wt, WireType.Bit64, no); m.timeUnixNano = r.fixed64() as bigint; return true;
      case 4: varint(r, wt, no); m.durationNano = r.uint64() as bigint; return true;
      case 5: m.periodType = message(r, wt, no, (rr, e) => valueType(rr, e, m.periodType)); return true;
      case 6: varint(r, wt, no); m.period = r.int64() as bigint; return true;
      case 7: delimited(r, wt, no); m.profileId = r.bytes(); return true;
      case 8: varint(r, wt, no); m.droppedAttributesCount = r.uint32(); return true;
      case 9: delimited(r, wt, no); m.originalPayloadFormat = r.string(); return true;
      case 10: delimited(r, wt, no); m.originalPayload = r.bytes(); return true;
      case 11: int32s(r, wt, m.attributeIndices); return true;
      default: return false;
    }
  });
  if (u) m.$unknown = u;
  return m;
}

function scopeProfiles(r: BinaryReader, end: number): ScopeProfiles {
  const m: ScopeProfiles = { $typeName: `${P}ScopeProfiles`, scope: undefined, profiles: [], schemaUrl: '' };
  const u = fields(r, end, (no, wt) => {
    switch (no) {
      case 1: delimited(r, wt, no); m.scope = m.scope ? mergeFromBinary(InstrumentationScopeSchema, m.scope, r.bytes()) : fromBinary(InstrumentationScopeSchema, r.bytes()); return true;
      case 2: m.profiles.push(message(r, wt, no, profile)); return true;
      case 3: delimited(r, wt, no); m.schemaUrl = r.string(); return true;
      default: return false;
    }
  });
  if (u) m.$unknown = u;
  return m;
}

function resourceProfiles(r: BinaryReader, end: number): ResourceProfiles {
  const m: ResourceProfiles = { $typeName: `${P}ResourceProfiles`, resource: undefined, scopeProfiles: [], schemaUrl: '' };
  const u = fields(r, end, (no, wt) => {
    switch (no) {
      case 1: delimited(r, wt, no); m.resource = m.resource ? mergeFromBinary(ResourceSchema, m.resource, r.bytes()) : fromBinary(ResourceSchema, r.bytes()); return true;
      case 2: m.scopeProfiles.push(message(r, wt, no, scopeProfiles)); return true;
      case 3: delimited(r, wt, no); m.schemaUrl = r.string(); return true;
      default: return false;
    }
  });
  if (u) m.$unknown = u;
  return m;
}

function mapping(r: BinaryReader, end: number): Mapping {
  const m: Mapping = { $typeName: `${P}Mapping`, memoryStart: 0n, memoryLimit: 0n, fileOffset: 0n, filenameStrindex: 0, attributeIndices: [] };
  const u = fields(r, end, (no, wt) => {
    switch (no) {
      case 1: varint(r, wt, no); m.memoryStart = r.uint64() as bigint; return true;
      case 2: varint(r, wt, no); m.memoryLimit = r.uint64() as bigint; return true;
      case 3: varint(r, wt, no); m.fileOffset = r.uint64() as bigint; return true;
      case 4: varint(r, wt, no); m.filenameStrindex = r.int32(); return true;
      case 5: int32s(r, wt, m.attributeIndices); return true;
      default: return false;
    }
  });
  if (u) m.$unknown = u;
  return m;
}

function line(r: BinaryReader, end: number): Line {
  const m: Line = { $typeName: `${P}Line`, functionIndex: 0, line: 0n, column: 0n };
  const u = fields(r, end, (no, wt) => {
    switch (no) {
      case 1: varint(r, wt, no); m.functionIndex = r.int32(); return true;
      case 2: varint(r, wt, no); m.line = r.int64() as bigint; return true;
      case 3: varint(r, wt, no); m.column = r.int64() as bigint; return true;
      default: return false;
    }
  });
  if (u) m.$unknown = u;
  return m;
}

function location(r: BinaryReader, end: number): Location {
  const m: Location = { $typeName: `${P}Location`, mappingIndex: 0, address: 0n, lines: [], attributeIndices: [] };
  const u = fields(r, end, (no, wt) => {
    switch (no) {
      case 1: varint(r, wt, no); m.mappingIndex = r.int32(); return true;
      case 2: varint(r, wt, no); m.address = r.uint64() as bigint; return true;
      case 3: m.lines.push(message(r, wt, no, line)); return true;
      case 4: int32s(r, wt, m.attributeIndices); return true;
      default: return false;
    }
  });
  if (u) m.$unknown = u;
  return m;
}

function fn(r: BinaryReader, end: number): OtlpFunction {
  const m: OtlpFunction = { $typeName: `${P}Function`, nameStrindex: 0, systemNameStrindex: 0, filenameStrindex: 0, startLine: 0n };
  const u = fields(r, end, (no, wt) => {
    switch (no) {
      case 1: varint(r, wt, no); m.nameStrindex = r.int32(); return true;
      case 2: varint(r, wt, no); m.systemNameStrindex = r.int32(); return true;
      case 3: varint(r, wt, no); m.filenameStrindex = r.int32(); return true;
      case 4: varint(r, wt, no); m.startLine = r.int64() as bigint; return true;
      default: return false;
    }
  });
  if (u) m.$unknown = u;
  return m;
}

function link(r: BinaryReader, end: number): Link {
  const m: Link = { $typeName: `${P}Link`, traceId: new Uint8Array(0), spanId: new Uint8Array(0) };
  const u = fields(r, end, (no, wt) => {
    if (no === 1) { delimited(r, wt, no); m.traceId = r.bytes(); } else if (no === 2) { delimited(r, wt, no); m.spanId = r.bytes(); } else return false;
    return true;
  });
  if (u) m.$unknown = u;
  return m;
}

function stack(r: BinaryReader, end: number): Stack {
  const m: Stack = { $typeName: `${P}Stack`, locationIndices: [] };
  const u = fields(r, end, (no, wt) => {
    if (no !== 1) return false;
    int32s(r, wt, m.locationIndices);
    return true;
  });
  if (u) m.$unknown = u;
  return m;
}

/** An attribute value: its scalar cases here, arrays and maps (and anything unusual) by fromBinary. */
function anyValue(bytes: Uint8Array): AnyValue {
  const r = new BinaryReader(bytes);
  if (bytes.length > 0) {
    const [no, wt] = r.tag();
    let v: AnyValue['value'] | undefined;
    if (no === 1 && wt === WireType.LengthDelimited) v = { case: 'stringValue', value: r.string() };
    else if (no === 2 && wt === WireType.Varint) v = { case: 'boolValue', value: r.bool() };
    else if (no === 3 && wt === WireType.Varint) v = { case: 'intValue', value: r.int64() as bigint };
    else if (no === 4 && wt === WireType.Bit64) v = { case: 'doubleValue', value: r.double() };
    else if (no === 8 && wt === WireType.Varint) v = { case: 'stringValueStrindex', value: r.int32() };
    if (v !== undefined && r.pos === bytes.length) return { $typeName: 'opentelemetry.proto.common.v1.AnyValue', value: v };
  }
  return fromBinary(AnyValueSchema, bytes);
}

function keyValueAndUnit(r: BinaryReader, end: number): KeyValueAndUnit {
  const m: KeyValueAndUnit = { $typeName: `${P}KeyValueAndUnit`, keyStrindex: 0, value: undefined, unitStrindex: 0 };
  const u = fields(r, end, (no, wt) => {
    switch (no) {
      case 1: varint(r, wt, no); m.keyStrindex = r.int32(); return true;
      // A second occurrence of a message field merges into the first; rare enough for the reflective path.
      case 2: delimited(r, wt, no); m.value = m.value === undefined ? anyValue(r.bytes()) : mergeFromBinary(AnyValueSchema, m.value, r.bytes()); return true;
      case 3: varint(r, wt, no); m.unitStrindex = r.int32(); return true;
      default: return false;
    }
  });
  if (u) m.$unknown = u;
  return m;
}

function dictionary(r: BinaryReader, end: number): ProfilesDictionary {
  const m: ProfilesDictionary = {
    $typeName: `${P}ProfilesDictionary`, mappingTable: [], locationTable: [], functionTable: [], linkTable: [], stringTable: [], attributeTable: [], stackTable: [],
  };
  const u = fields(r, end, (no, wt) => {
    switch (no) {
      case 1: m.mappingTable.push(message(r, wt, no, mapping)); return true;
      case 2: m.locationTable.push(message(r, wt, no, location)); return true;
      case 3: m.functionTable.push(message(r, wt, no, fn)); return true;
      case 4: m.linkTable.push(message(r, wt, no, link)); return true;
      case 5: delimited(r, wt, no); m.stringTable.push(r.string()); return true;
      case 6: m.attributeTable.push(message(r, wt, no, keyValueAndUnit)); return true;
      case 7: m.stackTable.push(message(r, wt, no, stack)); return true;
      default: return false;
    }
  });
  if (u) m.$unknown = u;
  return m;
}

/** Decodes bytes as fromBinary(ExportProfilesServiceRequestSchema, bytes) would; throws on malformed input. */
export function decodeExportProfilesRequest(bytes: Uint8Array): ExportProfilesServiceRequest {
  const r = new BinaryReader(bytes);
  const m: ExportProfilesServiceRequest = {
    $typeName: 'opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceRequest', resourceProfiles: [], dictionary: undefined,
  };
  const u = fields(r, bytes.length, (no, wt) => {
    switch (no) {
      case 1: m.resourceProfiles.push(message(r, wt, no, resourceProfiles)); return true;
      // A repeated dictionary field merges: rare, so its tables are simply appended as protobuf's merge would.
      case 2: m.dictionary = mergeDictionary(m.dictionary, message(r, wt, no, dictionary)); return true;
      default: return false;
    }
  });
  if (u) m.$unknown = u;
  return m;
}

function mergeDictionary(a: ProfilesDictionary | undefined, b: ProfilesDictionary): ProfilesDictionary {
  if (a === undefined) return b;
  a.mappingTable.push(...b.mappingTable);
  a.locationTable.push(...b.locationTable);
  a.functionTable.push(...b.functionTable);
  a.linkTable.push(...b.linkTable);
  a.stringTable.push(...b.stringTable);
  a.attributeTable.push(...b.attributeTable);
  a.stackTable.push(...b.stackTable);
  if (b.$unknown) (a.$unknown ??= []).push(...b.$unknown);
  return a;
}
