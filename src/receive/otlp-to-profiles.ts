/**
 * A validated OTLP request as meshprof Profiles, for the sinks that speak
 * the Profile model (Pyroscope, pprof/folded/HTML files): one Profile per
 * received profile, with its resource as the one process's metadata and
 * each location's lines (inlined functions, innermost first) as frames.
 */
import { basename } from 'node:path';
import type { AnyValue } from '../gen/opentelemetry/proto/common/v1/common_pb.js';
import type { KeyValue } from '../gen/opentelemetry/proto/common/v1/common_pb.js';
import type { ExportProfilesServiceRequest } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import type { ProfilesDictionary } from '../gen/opentelemetry/proto/profiles/v1development/profiles_pb.js';
import type { Frame, FrameKind, Mapping, ProcessMetadata, Profile, ProfileSample } from '../profile/model.js';
import { profileTypeName } from '../profile/pyroscope-names.js';
import type { ReceivedProfile } from './received-profiles.js';

const FRAME_KINDS: ReadonlySet<string> = new Set<FrameKind>(['native', 'kernel', 'go', 'jvm', 'v8js', 'cpython']);

/** An attribute value as a string, or undefined for arrays, maps and empty values. */
export function scalarOf(v: AnyValue | undefined): string | undefined {
  switch (v?.value.case) {
    case 'stringValue':
      return v.value.value;
    case 'intValue':
    case 'doubleValue':
    case 'boolValue':
      return String(v.value.value);
    default:
      return undefined;
  }
}

/** Resource attributes with scalar values, as strings. */
export function attributeRecord(attributes: readonly KeyValue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of attributes) {
    const v = scalarOf(kv.value);
    if (v !== undefined) out[kv.key] = v;
  }
  return out;
}

/** Converts every profile of a validated request. */
export function otlpToProfiles(request: ExportProfilesServiceRequest): ReceivedProfile[] {
  const dict = request.dictionary;
  if (dict === undefined) return [];
  const frames = createFrameReader(dict);
  const str = (i: number): string => dict.stringTable[i] ?? '';
  const out: ReceivedProfile[] = [];
  for (const rp of request.resourceProfiles) {
    const attributes = attributeRecord(rp.resource?.attributes ?? []);
    const pid = Number(attributes['process.pid'] ?? 0);
    const process: ProcessMetadata = {
      pid: Number.isSafeInteger(pid) ? pid : 0,
      name: attributes['process.executable.name'] ?? attributes['service.name'] ?? '',
      executablePath: attributes['process.executable.path'],
      commandLine: attributes['process.command_line'],
      attributes,
    };
    for (const sp of rp.scopeProfiles) {
      for (const p of sp.profiles) {
        const type = { type: str(p.sampleType?.typeStrindex ?? 0), unit: str(p.sampleType?.unitStrindex ?? 0) };
        const samples: ProfileSample[] = p.samples.map((s) => {
          let tid = 0;
          let threadName = '';
          for (const a of s.attributeIndices) {
            const attr = dict.attributeTable[a];
            const key = str(attr?.keyStrindex ?? 0);
            if (key === 'thread.id') tid = Number(scalarOf(attr?.value) ?? 0) || 0;
            else if (key === 'thread.name') threadName = scalarOf(attr?.value) ?? '';
          }
          const value = s.values.length > 0 ? s.values.reduce((n, v) => n + Number(v), 0) : s.timestampsUnixNano.length;
          return { pid: process.pid, tid, threadName, frames: frames(s.stackIndex), values: [value] };
        });
        const profile: Profile = {
          sampleTypes: [type],
          periodType: { type: str(p.periodType?.typeStrindex ?? 0), unit: str(p.periodType?.unitStrindex ?? 0) },
          period: Number(p.period),
          startTimeNs: p.timeUnixNano,
          durationNs: p.durationNano,
          samples,
          processes: new Map([[process.pid, process]]),
          drops: {},
        };
        out.push({ name: profileTypeName(type.type), profile });
      }
    }
  }
  return out;
}

/** Frames of a stack index, leaf first; each location is read once per request. */
function createFrameReader(dict: ProfilesDictionary): (stackIndex: number) => readonly Frame[] {
  const str = (i: number): string => dict.stringTable[i] ?? '';
  const attr = (indices: readonly number[], key: string): string | undefined => {
    for (const i of indices) {
      const a = dict.attributeTable[i];
      if (a !== undefined && str(a.keyStrindex) === key) return scalarOf(a.value);
    }
    return undefined;
  };
  const mappings = new Map<number, Mapping | undefined>();
  const mappingOf = (i: number): Mapping | undefined => {
    if (i === 0 && str(dict.mappingTable[0]?.filenameStrindex ?? 0) === '') return undefined;
    if (!mappings.has(i)) {
      const m = dict.mappingTable[i];
      mappings.set(i, m === undefined ? undefined : {
        start: m.memoryStart, limit: m.memoryLimit, fileOffset: m.fileOffset, file: str(m.filenameStrindex),
        buildId: attr(m.attributeIndices, 'process.executable.build_id.gnu'),
      });
    }
    return mappings.get(i);
  };
  const locations = new Map<number, Frame[]>();
  const locationFrames = (i: number): Frame[] => {
    const known = locations.get(i);
    if (known !== undefined) return known;
    const l = dict.locationTable[i];
    const mapping = mappingOf(l?.mappingIndex ?? 0);
    const kindAttr = attr(l?.attributeIndices ?? [], 'profile.frame.type') ?? 'native';
    const kind = (FRAME_KINDS.has(kindAttr) ? kindAttr : 'native') as FrameKind;
    const address = l?.address ?? 0n;
    const named = (l?.lines ?? []).map((line): Frame => {
      const f = dict.functionTable[line.functionIndex];
      const name = str(f?.nameStrindex ?? 0);
      const system = str(f?.systemNameStrindex ?? 0);
      const file = str(f?.filenameStrindex ?? 0);
      return {
        functionName: name, systemName: system !== '' && system !== name ? system : undefined, kind, address, mapping,
        fileName: file !== '' ? file : undefined, line: line.line > 0n ? Number(line.line) : undefined, symbolized: name !== '',
      };
    });
    const frames = named.length > 0 ? named : [{
      functionName: mapping !== undefined ? `${basename(mapping.file)}+0x${(address - mapping.start + mapping.fileOffset).toString(16)}` : `0x${address.toString(16)}`,
      kind, address, mapping, symbolized: false,
    }];
    locations.set(i, frames);
    return frames;
  };
  return (stackIndex) => (dict.stackTable[stackIndex]?.locationIndices ?? []).flatMap(locationFrames);
}
