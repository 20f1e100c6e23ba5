/**
 * Test helper: decode a request with the generated schema and resolve every
 * sample through the dictionary into plain, comparable rows.
 */
import { fromBinary } from '@bufbuild/protobuf';
import type { ExportProfilesServiceRequest } from '../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { ExportProfilesServiceRequestSchema } from '../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import type { AnyValue } from '../../src/gen/opentelemetry/proto/common/v1/common_pb.js';

export interface ResolvedSample {
  pid: number;
  sampleType: string;
  functions: string[];
  kinds: string[];
  value: number;
  threadName: string;
  threadId: number;
}

export interface ResolvedRequest {
  resources: Record<string, string | number>[];
  samples: ResolvedSample[];
  profiles: { pid: number; sampleType: string; periodType: string; period: number; timeUnixNano: bigint; durationNano: bigint }[];
  request: ExportProfilesServiceRequest;
}

const anyToPlain = (v: AnyValue | undefined): string | number => {
  switch (v?.value.case) {
    case 'stringValue':
      return v.value.value;
    case 'intValue':
      return Number(v.value.value);
    default:
      throw new Error(`unexpected attribute value ${v?.value.case}`);
  }
};

export function resolveRequest(bytes: Uint8Array): ResolvedRequest {
  const request = fromBinary(ExportProfilesServiceRequestSchema, bytes);
  const d = request.dictionary!;
  const str = (i: number): string => {
    const s = d.stringTable[i];
    if (s === undefined) throw new Error(`string index ${i} out of range`);
    return s;
  };
  const attr = (i: number): [string, string | number] => {
    const a = d.attributeTable[i];
    if (!a || i === 0) throw new Error(`bad attribute index ${i}`);
    return [str(a.keyStrindex), anyToPlain(a.value)];
  };
  const out: ResolvedRequest = { resources: [], samples: [], profiles: [], request };
  for (const rp of request.resourceProfiles) {
    const res = Object.fromEntries(rp.resource!.attributes.map((kv) => [kv.key, anyToPlain(kv.value)]));
    out.resources.push(res);
    const pid = res['process.pid'] as number;
    for (const sp of rp.scopeProfiles) {
      for (const p of sp.profiles) {
        const sampleType = `${str(p.sampleType!.typeStrindex)}/${str(p.sampleType!.unitStrindex)}`;
        out.profiles.push({
          pid,
          sampleType,
          periodType: `${str(p.periodType!.typeStrindex)}/${str(p.periodType!.unitStrindex)}`,
          period: Number(p.period),
          timeUnixNano: p.timeUnixNano,
          durationNano: p.durationNano,
        });
        for (const s of p.samples) {
          const stack = d.stackTable[s.stackIndex];
          if (!stack || s.stackIndex === 0) throw new Error(`bad stack index ${s.stackIndex}`);
          const locs = stack.locationIndices.map((li) => {
            const loc = d.locationTable[li];
            if (!loc || li === 0) throw new Error(`bad location index ${li}`);
            return loc;
          });
          const attrs = Object.fromEntries(s.attributeIndices.map(attr));
          out.samples.push({
            pid,
            sampleType,
            functions: locs.map((l) => str(d.functionTable[l.lines[0]!.functionIndex]!.nameStrindex)),
            kinds: locs.map((l) => String(Object.fromEntries(l.attributeIndices.map(attr))['profile.frame.type'])),
            value: Number(s.values[0]),
            threadName: String(attrs['thread.name']),
            threadId: Number(attrs['thread.id']),
          });
        }
      }
    }
  }
  return out;
}

/** The same rows computed straight from the input Profile, for comparison. */
export function expectedRows(
  profile: import('../../src/profile/model.js').Profile,
): ResolvedSample[] {
  return profile.sampleTypes.flatMap((t, i) =>
    profile.samples
      .filter((s) => (s.values[i] ?? 0) !== 0)
      .map((s) => ({
        pid: s.pid,
        sampleType: `${t.type}/${t.unit}`,
        functions: s.frames.map((f) => f.functionName),
        kinds: s.frames.map((f) => f.kind),
        value: s.values[i]!,
        threadName: s.threadName,
        threadId: s.tid,
      })),
  );
}

export const sortRows = (rows: ResolvedSample[]): ResolvedSample[] =>
  [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
