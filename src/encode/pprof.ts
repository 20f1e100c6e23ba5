/**
 * pprof serializer: a Profile as gzipped profile.proto bytes, readable by
 * `go tool pprof`, Pyroscope and every other pprof consumer.
 */
import { gzipSync } from 'node:zlib';
import { Label, Profile as PprofProfile, Sample, StringTable, ValueType as PprofValueType } from 'pprof-format';
import type { Mapping, Profile, ProfileSample, ValueType } from '../profile/model.js';
import { sampleLabels } from './pprof-labels.js';
import { KERNEL_MAPPING_FILE, PprofTables } from './pprof-tables.js';
import { writePprof } from './pprof-writer.js';

/** Encodes a profile as gzipped pprof (profile.proto) bytes. */
export function encodePprof(profile: Profile): Uint8Array {
  return gzipSync(writePprof(buildPprofProfile(profile)));
}

/**
 * Builds the uncompressed pprof message, for callers that compress or
 * inspect it themselves.
 */
export function buildPprofProfile(profile: Profile): PprofProfile {
  const strings = new StringTable();
  const valueType = (t: ValueType): PprofValueType =>
    new PprofValueType({ type: strings.dedup(t.type), unit: strings.dedup(t.unit) });
  const sampleType = profile.sampleTypes.map(valueType);
  const periodType = valueType(profile.periodType);
  const tables = new PprofTables(strings, kernelMappingOf(profile));
  const width = profile.sampleTypes.length;
  // User mappings first, in root-first order so the executable of the first
  // stack becomes mapping 1 (pprof's "main binary"), the kernel last.
  for (const kernelPass of [false, true]) {
    for (const s of profile.samples) {
      for (let i = s.frames.length - 1; i >= 0; i--) {
        const frame = s.frames[i];
        if (frame !== undefined && (frame.kind === 'kernel') === kernelPass) tables.mappingIdOf(frame);
      }
    }
  }

  // A whole-host interval has ~10 stacks per thread: the samples of one thread
  // share its labels (the encoder only reads them) instead of building each anew.
  // By tid, checked against pid and name: a thread renamed mid-interval gets its new name.
  const labelsOfThread = new Map<number, { readonly pid: number; readonly threadName: string; readonly labels: Label[] }>();
  const labelsOf = (s: ProfileSample): Label[] => {
    const known = labelsOfThread.get(s.tid);
    if (known !== undefined && known.pid === s.pid && known.threadName === s.threadName) return known.labels;
    const labels = sampleLabels(s, profile.processes.get(s.pid), strings);
    labelsOfThread.set(s.tid, { pid: s.pid, threadName: s.threadName, labels });
    return labels;
  };
  const sample = profile.samples.map(
    (s) =>
      new Sample({
        // pprof wants the leaf first, which is how the model stores frames.
        locationId: s.frames.map((frame) => tables.locationId(frame)),
        value: Array.from({ length: width }, (_, i) => s.values[i] ?? 0),
        label: labelsOf(s),
      }),
  );
  const comment = Object.entries(profile.drops)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([reason, count]) => strings.dedup(`dropped: ${reason}=${count}`));

  return new PprofProfile({
    sampleType,
    sample,
    mapping: tables.mappings,
    location: tables.locations,
    function: tables.functions,
    stringTable: strings,
    timeNanos: profile.startTimeNs,
    durationNanos: profile.durationNs,
    periodType,
    period: profile.period,
    comment,
    // The first type (sample count) is what pprof shows when asked nothing;
    // a heap profile shows inuse_space, as Go's do.
    defaultSampleType: sampleType[defaultTypeIndex(profile)]?.type ?? 0,
  });
}

/**
 * One synthetic `[kernel.kallsyms]` mapping spanning every kernel address
 * that arrived without a mapping, or undefined when there is none.
 */
function kernelMappingOf(profile: Profile): Mapping | undefined {
  let low: bigint | undefined;
  let high: bigint | undefined;
  for (const sample of profile.samples) {
    for (const frame of sample.frames) {
      if (frame.kind !== 'kernel' || frame.mapping !== undefined) continue;
      if (low === undefined || frame.address < low) low = frame.address;
      if (high === undefined || frame.address > high) high = frame.address;
    }
  }
  if (low === undefined || high === undefined) return undefined;
  return { start: low, limit: high + 1n, fileOffset: 0n, file: KERNEL_MAPPING_FILE, buildId: undefined };
}

function defaultTypeIndex(profile: Profile): number {
  const inuse = profile.sampleTypes.findIndex((t) => t.type === 'inuse_space');
  return inuse >= 0 ? inuse : 0;
}
