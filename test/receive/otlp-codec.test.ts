/**
 * The receiver's hand-written decode and the forwarder's hand-written merge
 * against @bufbuild/protobuf's reflective codec: random requests (every
 * field of the profiles schema, unknown fields included) must decode to the
 * very messages fromBinary() builds, and merged requests must name, through
 * their one dictionary, exactly what each input named through its own.
 */
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeMergedOtlpRequests } from '../../src/export/otlp-merge.js';
import type { ExportProfilesServiceRequest } from '../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { ExportProfilesServiceRequestSchema } from '../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { AnyValueSchema, type AnyValue } from '../../src/gen/opentelemetry/proto/common/v1/common_pb.js';
import { decodeExportProfilesRequest } from '../../src/receive/otlp-decode.js';
import { validateOtlpRequest } from '../../src/receive/otlp-validation.js';

type Init = MessageInitShape<typeof ExportProfilesServiceRequestSchema>;

const seed = Number(process.env.FUZZ_SEED ?? 17);
const runs = Number(process.env.FUZZ_RUNS ?? 200);

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const bytes = fc.uint8Array({ maxLength: 8 });
const small = (n: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: n });

/** A valid request of up to `size` entries per table, every index in range; strings start with "". */
const request: fc.Arbitrary<Init> = fc.record({ strings: small(6), attrs: small(4), maps: small(3), fns: small(5), locs: small(6), stacks: small(5), links: small(2) }).chain((n) => {
  const s = fc.integer({ min: 0, max: n.strings });
  const ix = (k: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: k });
  const list = (k: number): fc.Arbitrary<number[]> => fc.array(ix(k), { maxLength: 3 });
  const anyValue: fc.Arbitrary<AnyValue['value']> = fc.oneof(
    fc.string({ maxLength: 6 }).map((v) => ({ case: 'stringValue' as const, value: v })),
    fc.boolean().map((v) => ({ case: 'boolValue' as const, value: v })),
    int64.map((v) => ({ case: 'intValue' as const, value: v })),
    fc.double({ noNaN: true }).map((v) => ({ case: 'doubleValue' as const, value: v })),
    bytes.map((v) => ({ case: 'bytesValue' as const, value: v })),
    s.map((v) => ({ case: 'stringValueStrindex' as const, value: v })),
    fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }).map((v) => ({ case: 'arrayValue' as const, value: { values: v.map((x) => ({ value: { case: 'stringValue' as const, value: x } })) } })),
    fc.constant({ case: undefined, value: undefined }),
  ) as fc.Arbitrary<AnyValue['value']>;
  const valueType = fc.option(fc.record({ typeStrindex: s, unitStrindex: s }), { nil: undefined });
  const sample = fc.record({
    stackIndex: ix(n.stacks), attributeIndices: list(n.attrs), linkIndex: ix(n.links),
    values: fc.array(int64, { minLength: 1, maxLength: 3 }), timestampsUnixNano: fc.constant([] as bigint[]),
  });
  const profile = fc.record({
    sampleType: valueType, samples: fc.array(sample, { maxLength: 4 }), timeUnixNano: uint64, durationNano: uint64, periodType: valueType,
    period: int64, profileId: bytes, droppedAttributesCount: fc.nat(), originalPayloadFormat: fc.string({ maxLength: 4 }), originalPayload: bytes,
    attributeIndices: list(n.attrs),
  });
  const keyValue = fc.record({ key: fc.string({ maxLength: 5 }), value: anyValue.map((v) => ({ value: v })) });
  return fc.record({
    resourceProfiles: fc.array(fc.record({
      resource: fc.option(fc.record({ attributes: fc.array(keyValue, { maxLength: 3 }), droppedAttributesCount: fc.nat() }), { nil: undefined }),
      scopeProfiles: fc.array(fc.record({
        scope: fc.option(fc.record({ name: fc.string({ maxLength: 4 }), version: fc.string({ maxLength: 3 }) }), { nil: undefined }),
        profiles: fc.array(profile, { maxLength: 3 }),
        schemaUrl: fc.string({ maxLength: 4 }),
      }), { maxLength: 2 }),
      schemaUrl: fc.string({ maxLength: 4 }),
    }), { maxLength: 3 }),
    dictionary: fc.record({
      stringTable: fc.array(fc.string({ maxLength: 5 }), { minLength: n.strings, maxLength: n.strings }).map((t) => ['', ...t]),
      attributeTable: fc.array(fc.record({ keyStrindex: s, value: anyValue.map((v) => ({ value: v })), unitStrindex: s }), { minLength: n.attrs + 1, maxLength: n.attrs + 1 }),
      mappingTable: fc.array(fc.record({ memoryStart: uint64, memoryLimit: uint64, fileOffset: uint64, filenameStrindex: s, attributeIndices: list(n.attrs) }), { minLength: n.maps + 1, maxLength: n.maps + 1 }),
      functionTable: fc.array(fc.record({ nameStrindex: s, systemNameStrindex: s, filenameStrindex: s, startLine: int64 }), { minLength: n.fns + 1, maxLength: n.fns + 1 }),
      locationTable: fc.array(fc.record({
        mappingIndex: ix(n.maps), address: uint64,
        lines: fc.array(fc.record({ functionIndex: ix(n.fns), line: int64, column: int64 }), { maxLength: 3 }),
        attributeIndices: list(n.attrs),
      }), { minLength: n.locs + 1, maxLength: n.locs + 1 }),
      stackTable: fc.array(fc.record({ locationIndices: fc.array(ix(n.locs), { maxLength: 4 }) }), { minLength: n.stacks + 1, maxLength: n.stacks + 1 }),
      linkTable: fc.array(fc.record({ traceId: bytes, spanId: bytes }), { minLength: n.links + 1, maxLength: n.links + 1 }),
    }),
  }) as fc.Arbitrary<Init>;
});

/** The spec's zero entries at index 0 of every table (the merge keeps index 0 as "nothing"). */
function zeroRows(init: Init): Init {
  const d = init.dictionary!;
  const z = <T>(t: T[] | undefined): T[] => [{} as T, ...(t ?? []).slice(1)];
  return { resourceProfiles: init.resourceProfiles, dictionary: { ...d, attributeTable: z(d.attributeTable), mappingTable: z(d.mappingTable), functionTable: z(d.functionTable), locationTable: z(d.locationTable), stackTable: z(d.stackTable), linkTable: z(d.linkTable) } as Init['dictionary'] };
}

const encode = (init: Init): Uint8Array => toBinary(ExportProfilesServiceRequestSchema, create(ExportProfilesServiceRequestSchema, init));

/** Every sample of a request with every index replaced by what it names, in arrival order. */
function resolved(req: ExportProfilesServiceRequest): unknown[] {
  const d = req.dictionary!;
  const str = (i: number): string => d.stringTable[i]!;
  const value = (v: AnyValue | undefined): unknown => (v?.value.case === 'stringValueStrindex' ? { s: str(v.value.value) } : v && Buffer.from(toBinary(AnyValueSchema, v)).toString('hex'));
  const attr = (i: number): unknown => {
    const a = d.attributeTable[i]!;
    return [str(a.keyStrindex), str(a.unitStrindex), value(a.value)];
  };
  const attrs = (l: readonly number[]): unknown => l.map(attr);
  const vt = (v: { typeStrindex: number; unitStrindex: number } | undefined): unknown => v && [str(v.typeStrindex), str(v.unitStrindex)];
  const loc = (i: number): unknown => {
    const l = d.locationTable[i]!;
    const m = d.mappingTable[l.mappingIndex]!;
    return {
      mapping: [m.memoryStart, m.memoryLimit, m.fileOffset, str(m.filenameStrindex), attrs(m.attributeIndices)],
      address: l.address,
      lines: l.lines.map((ln) => {
        const f = d.functionTable[ln.functionIndex]!;
        return [str(f.nameStrindex), str(f.systemNameStrindex), str(f.filenameStrindex), f.startLine, ln.line, ln.column];
      }),
      attrs: attrs(l.attributeIndices),
    };
  };
  return req.resourceProfiles.map((rp) => ({
    resource: rp.resource && [rp.resource.droppedAttributesCount, rp.resource.attributes.map((kv) => [kv.key, value(kv.value)])],
    schemaUrl: rp.schemaUrl,
    scopes: rp.scopeProfiles.map((sp) => ({
      scope: sp.scope?.name,
      schemaUrl: sp.schemaUrl,
      profiles: sp.profiles.map((p) => ({
        sampleType: vt(p.sampleType), periodType: vt(p.periodType), period: p.period, time: p.timeUnixNano, duration: p.durationNano,
        profileId: p.profileId, dropped: p.droppedAttributesCount, format: p.originalPayloadFormat, payload: p.originalPayload, attrs: attrs(p.attributeIndices),
        samples: p.samples.map((s) => {
          const k = d.linkTable[s.linkIndex]!;
          return { stack: d.stackTable[s.stackIndex]!.locationIndices.map(loc), attrs: attrs(s.attributeIndices), link: [k.traceId, k.spanId], values: s.values, ts: s.timestampsUnixNano };
        }),
      })),
    })),
  }));
}

describe('decodeExportProfilesRequest', () => {
  it('decodes random requests to what fromBinary builds', () => {
    fc.assert(fc.property(request, (init) => {
      const b = encode(init);
      expect(decodeExportProfilesRequest(b)).toEqual(fromBinary(ExportProfilesServiceRequestSchema, b));
    }), { seed, numRuns: runs });
  });

  it('keeps unknown fields, reads unpacked repeated scalars and merges a message given twice, as fromBinary does', () => {
    const w = new BinaryWriter();
    // resource_profiles { scope_profiles { profiles { samples { attribute_indices 3, 4 unpacked; values 7 unpacked; field 99 } sample_type twice } } }
    w.tag(1, WireType.LengthDelimited).fork().tag(2, WireType.LengthDelimited).fork().tag(2, WireType.LengthDelimited).fork();
    w.tag(2, WireType.LengthDelimited).fork().tag(2, WireType.Varint).int32(3).tag(2, WireType.Varint).int32(4).tag(4, WireType.Varint).int64(7n).tag(99, WireType.Varint).uint32(5).join();
    w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int32(1).join();
    w.tag(1, WireType.LengthDelimited).fork().tag(2, WireType.Varint).int32(2).join();
    w.tag(50, WireType.LengthDelimited).string('future');
    w.join().join().join();
    w.tag(2, WireType.LengthDelimited).fork().tag(5, WireType.LengthDelimited).string('').join();
    w.tag(2, WireType.LengthDelimited).fork().tag(5, WireType.LengthDelimited).string('x').join();
    const b = w.finish();
    const got = decodeExportProfilesRequest(b);
    expect(got).toEqual(fromBinary(ExportProfilesServiceRequestSchema, b));
    const p = got.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!;
    expect(p.samples[0]!.attributeIndices).toEqual([3, 4]);
    expect(p.sampleType).toMatchObject({ typeStrindex: 1, unitStrindex: 2 });
    expect(p.$unknown).toHaveLength(1);
    expect(got.dictionary!.stringTable).toEqual(['', 'x']);
    // What was unknown goes on when forwarded.
    const merged = fromBinary(ExportProfilesServiceRequestSchema, encodeMergedOtlpRequests([got]));
    expect(merged.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.$unknown).toEqual(p.$unknown);
  });

  it('refuses every truncation that fromBinary refuses, and reads the others alike', () => {
    fc.assert(fc.property(request, fc.nat(), (init, cut) => {
      const b = encode(init);
      if (b.length === 0) return;
      const t = b.subarray(0, cut % b.length);
      let want: unknown;
      try {
        want = fromBinary(ExportProfilesServiceRequestSchema, t);
      } catch {
        expect(() => decodeExportProfilesRequest(t)).toThrow();
        return;
      }
      expect(decodeExportProfilesRequest(t)).toEqual(want);
    }), { seed, numRuns: runs });
  });

  it('refuses a field with the wrong wire type and a length past the end', () => {
    expect(() => decodeExportProfilesRequest(new BinaryWriter().tag(1, WireType.Varint).uint32(1).finish())).toThrow(/wire type/);
    expect(() => decodeExportProfilesRequest(new Uint8Array([0x0a, 0x05, 0x12]))).toThrow();
  });
});

describe('encodeMergedOtlpRequests', () => {
  it('names through one deduplicated dictionary exactly what every input named through its own', () => {
    fc.assert(fc.property(fc.array(request, { minLength: 1, maxLength: 4 }), (inits) => {
      const inputs = inits.map((i) => fromBinary(ExportProfilesServiceRequestSchema, encode(zeroRows(i))));
      const merged = fromBinary(ExportProfilesServiceRequestSchema, encodeMergedOtlpRequests(inputs));
      expect(validateOtlpRequest(structuredClone(merged)).rejectedProfiles).toBe(0);
      expect(resolved(merged)).toEqual(inputs.flatMap(resolved));
      const d = merged.dictionary!;
      expect(new Set(d.stringTable).size).toBe(d.stringTable.length);
      expect(d.stringTable[0]).toBe('');
      // Merging the same request twice adds no dictionary entry.
      const twice = fromBinary(ExportProfilesServiceRequestSchema, encodeMergedOtlpRequests([...inputs, ...inputs]));
      expect(twice.dictionary!.stackTable.length).toBe(d.stackTable.length);
      expect(twice.dictionary!.attributeTable.length).toBe(d.attributeTable.length);
    }), { seed, numRuns: runs });
  });
});
