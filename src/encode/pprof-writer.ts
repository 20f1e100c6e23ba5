/**
 * Writes a pprof-format Profile as profile.proto bytes: the same bytes as
 * its own encode(), in a third of the CPU. An always-on agent encodes one
 * small profile per interval, code that runs too seldom for V8 to optimize
 * it: pprof-format measures every submessage twice through getters and
 * splits every number into a fresh [hi, lo] array, 2-4 ms for a 5-12 KB
 * profile where this takes 0.7-1.2 ms (docs/benchmarks.md, nineteenth
 * session). Each submessage is measured once into a size array, then
 * written into one buffer. Field order, and the rule that a zero scalar is
 * left out while a zero in a packed array is kept, are pprof-format's, which
 * builds the profile and decodes it back in the tests. Where pprof-format's
 * measure and write disagree, this writes a whole message instead: an empty
 * submessage (a ValueType of 0 and 0, which a received profile without
 * sample types makes) it measures as no bytes but writes two, then throws or
 * cuts the message short; a NaN or missing scalar it measures but leaves out,
 * so the lengths before it are wrong. Here both are consistent (the scalar
 * left out).
 */
import type { Label, Line, Location, Mapping, Profile, Sample, ValueType, Function as PprofFunction } from 'pprof-format';

type Numeric = number | bigint;

const TWO_32 = 4294967296;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A bigint that fits a double exactly, as a number: addresses and times come
 * as bigints, and number arithmetic is what stays cheap in baseline code.
 */
const asNumber = (v: Numeric): Numeric => (typeof v === 'bigint' && v >= 0n && v <= MAX_SAFE ? Number(v) : v);

/** The high and low 32 bits of `v` as a 64-bit two's complement integer, as protobuf encodes an int64. */
function halves(v: Numeric): [number, number] {
  // NaN, the infinities (and a missing value): pprof-format writes 0 for them, so this does too.
  const u = BigInt.asUintN(64, typeof v === 'bigint' ? v : Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n);
  return [Number(u >> 32n), Number(u & 0xffffffffn)];
}

/** The two 32-bit halves pprof-format writes for `v`: a double past 2^64 keeps its low 64 bits, as there. */
function splitNumber(v: number): [number, number] {
  return v >= 0 ? [Math.floor(v / TWO_32) >>> 0, v >>> 0] : halves(v);
}

/** Bytes of `v` as a varint. */
function varintLength(v: Numeric): number {
  v = asNumber(v);
  if (typeof v === 'number' && v >= 0 && v < 268435456) return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4;
  let [hi, lo] = typeof v === 'number' ? splitNumber(v) : halves(v);
  let n = 1;
  while (hi !== 0) {
    n++;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo > 127) {
    n++;
    lo >>>= 7;
  }
  return n;
}

/** pprof-format leaves a scalar out when it is falsy: 0, 0n, NaN, or missing. */
const isZero = (v: Numeric): boolean => !v;

/** A scalar field: tag and varint, or nothing when the value is zero. */
const scalarLength = (v: Numeric): number => (isZero(v) ? 0 : 1 + varintLength(v));
const flagLength = (v: boolean): number => (v ? 2 : 0);
/** A length-delimited field of `n` bytes, tag and length included. */
const delimitedLength = (n: number): number => 1 + varintLength(n) + n;

function packedLength(values: readonly Numeric[]): number {
  let n = 0;
  for (const v of values) n += varintLength(v);
  return n;
}

const valueTypeLength = (t: ValueType): number => scalarLength(t.type) + scalarLength(t.unit);
const labelLength = (l: Label): number => scalarLength(l.key) + scalarLength(l.str) + scalarLength(l.num) + scalarLength(l.numUnit);
const lineLength = (l: Line): number => scalarLength(l.functionId) + scalarLength(l.line) + scalarLength(l.column);
const functionLength = (f: PprofFunction): number =>
  scalarLength(f.id) + scalarLength(f.name) + scalarLength(f.systemName) + scalarLength(f.filename) + scalarLength(f.startLine);
const mappingLength = (m: Mapping): number =>
  scalarLength(m.id) + scalarLength(m.memoryStart) + scalarLength(m.memoryLimit) + scalarLength(m.fileOffset) +
  scalarLength(m.filename) + scalarLength(m.buildId) +
  flagLength(m.hasFunctions) + flagLength(m.hasFilenames) + flagLength(m.hasLineNumbers) + flagLength(m.hasInlineFrames);

function sampleLength(s: Sample): number {
  let n = 0;
  if (s.locationId.length > 0) n += delimitedLength(packedLength(s.locationId));
  if (s.value.length > 0) n += delimitedLength(packedLength(s.value));
  for (const l of s.label) n += delimitedLength(labelLength(l));
  return n;
}

function locationLength(loc: Location): number {
  let n = scalarLength(loc.id) + scalarLength(loc.mappingId) + scalarLength(loc.address);
  for (const l of loc.line) n += delimitedLength(lineLength(l));
  return n + flagLength(loc.isFolded);
}

/** A buffer of known size and the offset written so far. */
class ProtoWriter {
  readonly bytes: Uint8Array;
  offset = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }

  byte(b: number): void {
    this.bytes[this.offset++] = b;
  }

  varint(v: Numeric): void {
    const b = this.bytes;
    v = asNumber(v);
    if (typeof v === 'number' && v >= 0 && v < TWO_32) {
      v >>>= 0; // a fraction is written truncated, as pprof-format writes it (127.5 is 127)
      while (v > 127) {
        b[this.offset++] = (v & 127) | 128;
        v >>>= 7;
      }
      b[this.offset++] = v;
      return;
    }
    let [hi, lo] = typeof v === 'number' ? splitNumber(v) : halves(v);
    while (hi !== 0) {
      b[this.offset++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 127) {
      b[this.offset++] = (lo & 127) | 128;
      lo >>>= 7;
    }
    b[this.offset++] = lo;
  }

  /** A scalar field, left out when zero. `tag` is (field << 3) | wire type. */
  scalar(tag: number, v: Numeric): void {
    if (isZero(v)) return;
    this.bytes[this.offset++] = tag;
    this.varint(v);
  }

  flag(tag: number, v: boolean): void {
    if (v) this.scalar(tag, 1);
  }

  /** A packed repeated field: tag, byte length, the varints; zeros kept. */
  packed(tag: number, values: readonly Numeric[]): void {
    if (values.length === 0) return;
    this.byte(tag);
    this.varint(packedLength(values));
    for (const v of values) this.varint(v);
  }

  valueType(tag: number, t: ValueType): void {
    this.byte(tag);
    this.varint(valueTypeLength(t));
    this.scalar(8, t.type);
    this.scalar(16, t.unit);
  }
}

/** The profile.proto bytes of `p`, byte for byte what `p.encode()` gives. */
export function writePprof(p: Profile): Uint8Array {
  const sampleSizes = new Int32Array(p.sample.length);
  const locationSizes = new Int32Array(p.location.length);
  const strings = p.stringTable.encode();
  let total = strings.length;
  for (const t of p.sampleType) total += delimitedLength(valueTypeLength(t));
  for (let i = 0; i < p.sample.length; i++) total += delimitedLength((sampleSizes[i] = sampleLength(p.sample[i]!)));
  for (const m of p.mapping) total += delimitedLength(mappingLength(m));
  for (let i = 0; i < p.location.length; i++) total += delimitedLength((locationSizes[i] = locationLength(p.location[i]!)));
  for (const f of p.function) total += delimitedLength(functionLength(f));
  total += scalarLength(p.dropFrames) + scalarLength(p.keepFrames) + scalarLength(p.timeNanos) + scalarLength(p.durationNanos);
  if (p.periodType !== undefined) total += delimitedLength(valueTypeLength(p.periodType));
  total += scalarLength(p.period);
  if (p.comment.length > 0) total += delimitedLength(packedLength(p.comment));
  total += scalarLength(p.defaultSampleType) + scalarLength(p.docUrl);

  const w = new ProtoWriter(total);
  for (const t of p.sampleType) w.valueType(10, t);
  for (let i = 0; i < p.sample.length; i++) {
    const s = p.sample[i]!;
    w.byte(18);
    w.varint(sampleSizes[i]!);
    w.packed(10, s.locationId);
    w.packed(18, s.value);
    for (const l of s.label) {
      w.byte(26);
      w.varint(labelLength(l));
      w.scalar(8, l.key);
      w.scalar(16, l.str);
      w.scalar(24, l.num);
      w.scalar(32, l.numUnit);
    }
  }
  for (const m of p.mapping) {
    w.byte(26);
    w.varint(mappingLength(m));
    w.scalar(8, m.id);
    w.scalar(16, m.memoryStart);
    w.scalar(24, m.memoryLimit);
    w.scalar(32, m.fileOffset);
    w.scalar(40, m.filename);
    w.scalar(48, m.buildId);
    w.flag(56, m.hasFunctions);
    w.flag(64, m.hasFilenames);
    w.flag(72, m.hasLineNumbers);
    w.flag(80, m.hasInlineFrames);
  }
  for (let i = 0; i < p.location.length; i++) {
    const loc = p.location[i]!;
    w.byte(34);
    w.varint(locationSizes[i]!);
    w.scalar(8, loc.id);
    w.scalar(16, loc.mappingId);
    w.scalar(24, loc.address);
    for (const l of loc.line) {
      w.byte(34);
      w.varint(lineLength(l));
      w.scalar(8, l.functionId);
      w.scalar(16, l.line);
      w.scalar(24, l.column);
    }
    w.flag(40, loc.isFolded);
  }
  for (const f of p.function) {
    w.byte(42);
    w.varint(functionLength(f));
    w.scalar(8, f.id);
    w.scalar(16, f.name);
    w.scalar(24, f.systemName);
    w.scalar(32, f.filename);
    w.scalar(40, f.startLine);
  }
  w.bytes.set(strings, w.offset);
  w.offset += strings.length;
  w.scalar(56, p.dropFrames);
  w.scalar(64, p.keepFrames);
  w.scalar(72, p.timeNanos);
  w.scalar(80, p.durationNanos);
  if (p.periodType !== undefined) w.valueType(90, p.periodType);
  w.scalar(96, p.period);
  w.packed(106, p.comment);
  w.scalar(112, p.defaultSampleType);
  w.scalar(120, p.docUrl);
  // A size pass that disagrees with the writes would leave zeros or overrun: never hand those out.
  if (w.offset !== total) throw new Error(`writing pprof: measured ${total} bytes, wrote ${w.offset}`);
  return w.bytes;
}
