import { Function as PprofFunction, Label, Line, Location, Mapping, Profile as PprofProfile, Sample, StringTable, ValueType } from 'pprof-format';
import { describe, expect, it } from 'vitest';
import { buildPprofProfile } from '../../src/encode/pprof.js';
import { writePprof } from '../../src/encode/pprof-writer.js';
import { buildTestProfile } from '../helpers/build-test-profile.js';

/** Hex of both encodings, so a failure shows where they part. */
function bothEncodings(p: PprofProfile): { ours: string; theirs: string } {
  return { ours: Buffer.from(writePprof(p)).toString('hex'), theirs: Buffer.from(p.encode()).toString('hex') };
}

/** Every field pprof-format writes, with the numbers where varints change length or go negative. */
function edgeProfile(): PprofProfile {
  const strings = new StringTable();
  const s = (x: string): number => strings.dedup(x);
  const samples = 'samples';
  return new PprofProfile({
    sampleType: [new ValueType({ type: s(samples), unit: s('count') }), new ValueType({ type: s('cpu'), unit: s('nanoseconds') })],
    sample: [
      // zeros stay in packed arrays; 2^28-1, 2^28, 2^32-1, 2^32, 2^53-1 and negatives around the varint boundaries
      new Sample({ locationId: [1, 2, 3], value: [0, 268435455], label: [new Label({ key: s('pid'), num: 4242 }), new Label({ key: s('thread'), str: s('worker') })] }),
      new Sample({ locationId: [3], value: [268435456, 4294967295], label: [new Label({ key: s('bytes'), num: 4294967296, numUnit: s('bytes') })] }),
      new Sample({ locationId: [2, 1], value: [Number.MAX_SAFE_INTEGER, -1] }),
      new Sample({ locationId: [1], value: [-268435456, 9223372036854775807n] }),
      new Sample({ locationId: [], value: [-9223372036854775808n, 127] }),
      new Sample({ locationId: [2], value: [128, 16383], label: [] }),
      // doubles past 2^53 and 2^64, fractions and negative fractions: whatever pprof-format makes of them
      new Sample({ locationId: [2], value: [2 ** 60, 2 ** 70, 1.5, -1.5, 2 ** 64 + 2 ** 12], label: [new Label({ key: s('x'), num: -3n })] }),
      // what a received profile can carry: a thread id of 127.5, NaN, infinities, a label with both str and num
      new Sample({ locationId: [1], value: [127.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 16383.5], label: [new Label({ key: s('thread.id'), num: 127.5 }), new Label({ key: s('both'), str: s('v'), num: 7, numUnit: s('ms') })] }),
    ],
    mapping: [
      new Mapping({ id: 1, memoryStart: 0x400000n, memoryLimit: 0x500000n, fileOffset: 0, filename: s('/usr/bin/app'), buildId: s('abcdef'), hasFunctions: true, hasFilenames: true, hasLineNumbers: true, hasInlineFrames: true }),
      new Mapping({ id: 2, memoryStart: 0x7f0000000000n, memoryLimit: 0xffffffffffffffffn, fileOffset: 0x28000, filename: s('[kernel.kallsyms]') }),
    ],
    location: [
      new Location({ id: 1, mappingId: 1, address: 0x401234n, line: [new Line({ functionId: 1, line: 42, column: 7 }), new Line({ functionId: 2, line: 0 })] }),
      new Location({ id: 2, mappingId: 2, address: 0xffffffff81000000n, line: [new Line({ functionId: 2, line: 9 })], isFolded: true }),
      new Location({ id: 3, mappingId: 0, address: 0, line: [new Line({ functionId: 3, line: 2097152 })] }),
    ],
    function: [
      new PprofFunction({ id: 1, name: s('main'), systemName: s('main'), filename: s('main.c'), startLine: 40 }),
      new PprofFunction({ id: 2, name: s('inlined'), systemName: s('_Z7inlinedv'), filename: s('x.h') }),
      new PprofFunction({ id: 3, name: s('λ→ unicode'), startLine: 0 }),
    ],
    stringTable: strings,
    dropFrames: s('drop.*'),
    keepFrames: s('keep.*'),
    timeNanos: 1764950400123456789n,
    durationNanos: 15_000_000_000,
    periodType: new ValueType({ type: s('cpu'), unit: s('nanoseconds') }),
    period: 10101010,
    comment: [s('dropped: unwind_no_info=3'), s('dropped: x=1')],
    defaultSampleType: s(samples),
    docUrl: s('https://example.com/doc'),
  });
}

describe('writePprof', () => {
  it('writes the bytes pprof-format writes for every field and varint length', () => {
    const { ours, theirs } = bothEncodings(edgeProfile());
    expect(ours).toBe(theirs);
    expect(ours.length).toBeGreaterThan(400);
  });

  it('writes the bytes pprof-format writes for a profile the serializer builds', () => {
    const p = buildPprofProfile(buildTestProfile());
    expect(p.sample.length).toBeGreaterThan(2);
    const { ours, theirs } = bothEncodings(p);
    expect(ours).toBe(theirs);
  });

  it('decodes back to what it was given', () => {
    const p = edgeProfile();
    const back = PprofProfile.decode(writePprof(p));
    // pprof-format reads every varint as unsigned: the int64 values are the same 64 bits.
    expect(back.sample.map((s) => s.value.map((v) => BigInt.asIntN(64, BigInt(v)).toString()))).toEqual([
      ['0', '268435455'], ['268435456', '4294967295'], [String(Number.MAX_SAFE_INTEGER), '-1'],
      ['-268435456', '9223372036854775807'], ['-9223372036854775808', '127'], ['128', '16383'],
      ['1152921504606846976', '0', '1', '-1', '4096'],
      ['127', '0', '0', '0', '16383'],
    ]);
    expect(back.location.map((l) => [Number(l.id), BigInt(l.address).toString(16), l.isFolded])).toEqual([[1, '401234', false], [2, 'ffffffff81000000', true], [3, '0', false]]);
    expect(back.stringTable.strings[Number(back.function[2]!.name)]).toBe('λ→ unicode');
    expect(BigInt(back.timeNanos)).toBe(1764950400123456789n);
    expect(back.comment.length).toBe(2);
  });

  it('leaves out a scalar that is NaN or missing, which pprof-format counts but does not write', () => {
    const p = edgeProfile();
    p.sample[0]!.label[0]!.num = Number.NaN;
    (p.function[0] as { startLine: unknown }).startLine = undefined;
    const back = PprofProfile.decode(writePprof(p));
    expect(back.sample.length).toBe(p.sample.length);
    expect(Number(back.sample[0]!.label[0]!.num)).toBe(0);
    expect(back.stringTable.strings[Number(back.sample[0]!.label[0]!.key)]).toBe('pid');
    expect(Number(back.function[0]!.startLine)).toBe(0);
    expect(back.function.length).toBe(3);
  });

  it('writes an empty submessage whole, where pprof-format measures it as nothing', () => {
    // A received profile without sample or period types becomes ValueTypes of 0 and 0.
    const p = new PprofProfile({ sampleType: [new ValueType({})], sample: [new Sample({ locationId: [1], value: [3] })], periodType: new ValueType({}), period: 10 });
    const back = PprofProfile.decode(writePprof(p));
    expect(back.sampleType.length).toBe(1);
    expect(back.sample.map((s) => s.value.map(Number))).toEqual([[3]]);
    expect(back.periodType).toBeDefined();
    expect(Number(back.period)).toBe(10);
  });

  it('writes an empty profile as pprof-format does', () => {
    const { ours, theirs } = bothEncodings(new PprofProfile());
    expect(ours).toBe(theirs);
  });
});
