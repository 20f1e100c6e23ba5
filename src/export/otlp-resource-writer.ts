/**
 * The request side of a merged forward, written by hand with
 * @bufbuild/protobuf's BinaryWriter: a received request's resource profiles
 * with every dictionary index moved to the merged tables (otlp-merge.ts),
 * samples sized first so they need no fork/join. Field numbers are those of
 * proto/opentelemetry/proto/profiles/v1development/profiles.proto.
 */
import { toBinary, type UnknownField } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { InstrumentationScopeSchema, type AnyValue, type KeyValue } from '../gen/opentelemetry/proto/common/v1/common_pb.js';
import { ResourceSchema } from '../gen/opentelemetry/proto/resource/v1/resource_pb.js';
import type { Profile, ResourceProfiles, Sample, ValueType } from '../gen/opentelemetry/proto/profiles/v1development/profiles_pb.js';

/** Writes packed int32 indices (field no) when there are any. */
export function packedInt32(w: BinaryWriter, no: number, list: readonly number[]): void {
  if (list.length === 0) return;
  w.tag(no, WireType.LengthDelimited).fork();
  for (const x of list) w.int32(x);
  w.join();
}

/** Unknown fields, written as they came. */
function unknown(w: BinaryWriter, fields: readonly UnknownField[] | undefined): void {
  if (fields === undefined) return;
  for (const f of fields) w.tag(f.no, f.wireType).raw(f.data);
}

function valueType(w: BinaryWriter, no: number, vt: ValueType | undefined, str: (i: number) => number): void {
  if (vt === undefined) return;
  w.tag(no, WireType.LengthDelimited).fork();
  const t = str(vt.typeStrindex);
  const u = str(vt.unitStrindex);
  if (t !== 0) w.tag(1, WireType.Varint).int32(t);
  if (u !== 0) w.tag(2, WireType.Varint).int32(u);
  unknown(w, vt.$unknown);
  w.join();
}

/** A value's string_value_strindex moved to the merged string table (the only index an AnyValue holds). */
export function remapValue(v: AnyValue | undefined, str: (i: number) => number): AnyValue | undefined {
  if (v?.value.case !== 'stringValueStrindex') return v;
  return { ...v, value: { case: 'stringValueStrindex', value: str(v.value.value) } };
}

/** Key-values whose key_strindex or string_value_strindex name the dictionary's strings, moved to the merged table. */
function remapKeyValues(list: readonly KeyValue[], str: (i: number) => number): KeyValue[] | undefined {
  if (!list.some((kv) => kv.keyStrindex !== 0 || kv.value?.value.case === 'stringValueStrindex')) return undefined;
  return list.map((kv) => ({ ...kv, keyStrindex: str(kv.keyStrindex), value: remapValue(kv.value, str) }));
}

/** resource_profiles = 1 of the request, indices moved to the merged tables. */
export function writeResourceProfiles(
  w: BinaryWriter,
  rp: ResourceProfiles,
  str: (i: number) => number,
  attrs: (list: readonly number[]) => number[],
  stack: (i: number) => number,
  link: (i: number) => number,
): void {
  w.tag(1, WireType.LengthDelimited).fork();
  if (rp.resource !== undefined) {
    const moved = remapKeyValues(rp.resource.attributes, str);
    w.tag(1, WireType.LengthDelimited).bytes(toBinary(ResourceSchema, moved === undefined ? rp.resource : { ...rp.resource, attributes: moved }));
  }
  for (const sp of rp.scopeProfiles) {
    w.tag(2, WireType.LengthDelimited).fork();
    if (sp.scope !== undefined) {
      const moved = remapKeyValues(sp.scope.attributes, str);
      w.tag(1, WireType.LengthDelimited).bytes(toBinary(InstrumentationScopeSchema, moved === undefined ? sp.scope : { ...sp.scope, attributes: moved }));
    }
    for (const p of sp.profiles) writeProfile(w, p, str, attrs, stack, link);
    if (sp.schemaUrl !== '') w.tag(3, WireType.LengthDelimited).string(sp.schemaUrl);
    unknown(w, sp.$unknown);
    w.join();
  }
  if (rp.schemaUrl !== '') w.tag(3, WireType.LengthDelimited).string(rp.schemaUrl);
  unknown(w, rp.$unknown);
  w.join();
}

/** profiles = 2 of a scope. */
function writeProfile(
  w: BinaryWriter,
  p: Profile,
  str: (i: number) => number,
  attrs: (list: readonly number[]) => number[],
  stack: (i: number) => number,
  link: (i: number) => number,
): void {
  w.tag(2, WireType.LengthDelimited).fork();
  valueType(w, 1, p.sampleType, str);
  for (const s of p.samples) writeSample(w, s, attrs, stack, link);
  if (p.timeUnixNano !== 0n) w.tag(3, WireType.Bit64).fixed64(p.timeUnixNano);
  if (p.durationNano !== 0n) w.tag(4, WireType.Varint).uint64(p.durationNano);
  valueType(w, 5, p.periodType, str);
  if (p.period !== 0n) w.tag(6, WireType.Varint).int64(p.period);
  if (p.profileId.length > 0) w.tag(7, WireType.LengthDelimited).bytes(p.profileId);
  if (p.droppedAttributesCount !== 0) w.tag(8, WireType.Varint).uint32(p.droppedAttributesCount);
  if (p.originalPayloadFormat !== '') w.tag(9, WireType.LengthDelimited).string(p.originalPayloadFormat);
  if (p.originalPayload.length > 0) w.tag(10, WireType.LengthDelimited).bytes(p.originalPayload);
  packedInt32(w, 11, attrs(p.attributeIndices));
  unknown(w, p.$unknown);
  w.join();
}

/** Bytes of an int32 as a varint (negatives take ten, as protobuf sign-extends them). */
function int32Size(x: number): number {
  if (x < 0) return 10;
  return x < 0x80 ? 1 : x < 0x4000 ? 2 : x < 0x200000 ? 3 : x < 0x10000000 ? 4 : 5;
}

/** Bytes of an int64 as a varint. */
function int64Size(x: bigint): number {
  if (x >= 0n && x < 0x10000000n) return int32Size(Number(x));
  if (x < 0n) return 10;
  let n = 1;
  for (let v = x >> 7n; v > 0n; v >>= 7n) n++;
  return n;
}

const packedSize = (list: readonly number[]): number => list.reduce((n, x) => n + int32Size(x), 0);

/** A length-delimited field's tag and length prefix are this long, besides its content. */
const prefixed = (len: number): number => 1 + int32Size(len) + len;

/**
 * samples = 2 of a profile. Sized first and written without fork/join: a
 * thousand requests a second carry a hundred thousand samples, and fork/join
 * per sample and per packed field was most of the encoding time.
 */
function writeSample(w: BinaryWriter, s: Sample, attrs: (list: readonly number[]) => number[], stack: (i: number) => number, link: (i: number) => number): void {
  if (s.$unknown !== undefined) return writeSampleForked(w, s, attrs, stack, link);
  const st = stack(s.stackIndex);
  const ax = attrs(s.attributeIndices);
  const k = link(s.linkIndex);
  const axSize = packedSize(ax);
  let valuesSize = 0;
  for (const v of s.values) valuesSize += int64Size(v);
  const tsSize = s.timestampsUnixNano.length * 8;
  const size = (st !== 0 ? 1 + int32Size(st) : 0) + (axSize > 0 ? prefixed(axSize) : 0) + (k !== 0 ? 1 + int32Size(k) : 0)
    + (valuesSize > 0 ? prefixed(valuesSize) : 0) + (tsSize > 0 ? prefixed(tsSize) : 0);
  w.tag(2, WireType.LengthDelimited).uint32(size);
  if (st !== 0) w.tag(1, WireType.Varint).int32(st);
  if (axSize > 0) {
    w.tag(2, WireType.LengthDelimited).uint32(axSize);
    for (const x of ax) w.int32(x);
  }
  if (k !== 0) w.tag(3, WireType.Varint).int32(k);
  if (valuesSize > 0) {
    w.tag(4, WireType.LengthDelimited).uint32(valuesSize);
    // Values under 2^31 (counts, CPU ns of a profile) take the writer's number path, not its bigint one: same bytes.
    for (const v of s.values) if (v >= 0n && v < 0x80000000n) w.uint32(Number(v)); else w.int64(v);
  }
  if (tsSize > 0) {
    w.tag(5, WireType.LengthDelimited).uint32(tsSize);
    for (const t of s.timestampsUnixNano) w.fixed64(t);
  }
}

/** A sample with unknown fields, which are written as they came. */
function writeSampleForked(w: BinaryWriter, s: Sample, attrs: (list: readonly number[]) => number[], stack: (i: number) => number, link: (i: number) => number): void {
  w.tag(2, WireType.LengthDelimited).fork();
  const st = stack(s.stackIndex);
  if (st !== 0) w.tag(1, WireType.Varint).int32(st);
  packedInt32(w, 2, attrs(s.attributeIndices));
  const k = link(s.linkIndex);
  if (k !== 0) w.tag(3, WireType.Varint).int32(k);
  if (s.values.length > 0) {
    w.tag(4, WireType.LengthDelimited).fork();
    for (const v of s.values) w.int64(v);
    w.join();
  }
  if (s.timestampsUnixNano.length > 0) {
    w.tag(5, WireType.LengthDelimited).fork();
    for (const t of s.timestampsUnixNano) w.fixed64(t);
    w.join();
  }
  unknown(w, s.$unknown);
  w.join();
}
