/** Reads a memory pprof back as the four Go heap values per function. */
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';

/** The four values summed over the samples whose stack holds a function. */
export interface HeapValues {
  allocObjects: number;
  allocBytes: number;
  inuseObjects: number;
  inuseBytes: number;
}

export interface HeapTotals {
  /** `type/unit` of each sample type, in order. */
  readonly types: readonly string[];
  /** Function names of every sample, leaf first. */
  readonly stacks: readonly (readonly string[])[];
  /** The values of the samples with `fn` anywhere in their stack (each sample once). */
  of(fn: string): HeapValues;
}

/** Any pprof's sample types, stacks and first value per function. */
export interface ProfileTotals {
  readonly types: readonly string[];
  readonly stacks: readonly (readonly string[])[];
  /** The first value summed over the samples with `fn` anywhere in their stack. */
  sumWith(fn: string): number;
}

/** Decodes a gzipped pprof of one value per sample (page faults). */
export function heapTotalsOf(gz: Uint8Array): ProfileTotals {
  const t = heapTotals(gz);
  return { types: t.types, stacks: t.stacks, sumWith: (fn) => t.of(fn).allocObjects };
}

/** Decodes a gzipped pprof written by `record --type memory`. */
export function heapTotals(gz: Uint8Array): HeapTotals {
  const p = PprofProfile.decode(gunzipSync(gz));
  const str = (i: number | bigint): string => p.stringTable.strings[Number(i)] ?? '';
  const fns = new Map(p.function.map((f) => [Number(f.id), str(f.name)]));
  const locs = new Map(p.location.map((l) => [Number(l.id), l.line.map((ln) => fns.get(Number(ln.functionId)) ?? '?')]));
  const samples = p.sample.map((s) => ({
    frames: s.locationId.flatMap((id) => locs.get(Number(id)) ?? ['?']),
    values: s.value.map(Number),
  }));
  return {
    types: p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`),
    stacks: samples.map((s) => s.frames),
    of(fn) {
      const v = { allocObjects: 0, allocBytes: 0, inuseObjects: 0, inuseBytes: 0 };
      for (const s of samples) {
        if (!s.frames.includes(fn)) continue;
        v.allocObjects += s.values[0] ?? 0;
        v.allocBytes += s.values[1] ?? 0;
        v.inuseObjects += s.values[2] ?? 0;
        v.inuseBytes += s.values[3] ?? 0;
      }
      return v;
    },
  };
}
