/**
 * Pyroscope input: a pprof (what Pyroscope SDKs send to /ingest and in
 * push.v1 PushRequests) with its series labels, as an OTLP request whose
 * resource carries the labels as attributes. From there it takes the same
 * path as received OTLP: enrichment, then every sink.
 */
import { create } from '@bufbuild/protobuf';
import { Profile as PprofProfile } from 'pprof-format';
import type { ExportProfilesServiceRequest } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { InstrumentationScopeSchema, KeyValueSchema } from '../gen/opentelemetry/proto/common/v1/common_pb.js';
import { ResourceSchema } from '../gen/opentelemetry/proto/resource/v1/resource_pb.js';
import { encodeOtlpUnits } from '../encode/otlp.js';
import type { Frame, Mapping, ProcessMetadata, Profile, ProfileSample } from '../profile/model.js';
import { InvalidRequestError } from './otlp-validation.js';

/** Pyroscope label names → resource attributes; other labels keep their name. */
const LABEL_ATTRIBUTES: Readonly<Record<string, string>> = {
  service_name: 'service.name',
  namespace: 'k8s.namespace.name',
  pod: 'k8s.pod.name',
  container: 'k8s.container.name',
  node: 'k8s.node.name',
  pid: 'process.pid',
};

/** One series: its labels (`__name__`, service_name, ...) and one uncompressed pprof. */
export interface PprofSeries {
  readonly labels: readonly { readonly name: string; readonly value: string }[];
  readonly pprof: Uint8Array;
}

const num = (v: number | bigint): number => Number(v);

/** Resource attributes of a series' labels; `__name__` and other `__` labels are Pyroscope's own and stay out. */
export function labelAttributes(labels: PprofSeries['labels']): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const { name, value } of labels) {
    if (name.startsWith('__') || value === '') continue;
    attrs[LABEL_ATTRIBUTES[name] ?? name] = value;
  }
  return attrs;
}

/** Decodes a pprof into the Profile model; throws InvalidRequestError on bytes or references it cannot read. */
export function pprofToProfile(bytes: Uint8Array, process: ProcessMetadata): Profile {
  let p: PprofProfile;
  try {
    p = PprofProfile.decode(bytes);
  } catch (err) {
    throw new InvalidRequestError(`decoding pprof: ${err instanceof Error ? err.message : String(err)}`);
  }
  const strings = p.stringTable.strings;
  const str = (i: number | bigint): string => {
    const s = strings[num(i)];
    if (s === undefined) throw new InvalidRequestError(`pprof string index ${i} is outside string_table (${strings.length} entries)`);
    return s;
  };
  const mappings = new Map<number, Mapping>(p.mapping.map((m) => [num(m.id), {
    start: BigInt(m.memoryStart), limit: BigInt(m.memoryLimit), fileOffset: BigInt(m.fileOffset), file: str(m.filename),
    buildId: num(m.buildId) !== 0 ? str(m.buildId) : undefined,
  }]));
  const functions = new Map(p.function.map((f) => [num(f.id), f]));
  const locations = new Map<number, Frame[]>();
  for (const l of p.location) {
    const mapping = mappings.get(num(l.mappingId));
    const address = BigInt(l.address);
    const frames = l.line.map((line): Frame => {
      const f = functions.get(num(line.functionId));
      if (f === undefined) throw new InvalidRequestError(`pprof location ${l.id} names function ${line.functionId}, which is not in the profile`);
      const name = str(f.name);
      const system = str(f.systemName);
      const file = str(f.filename);
      return {
        functionName: name, systemName: system !== '' && system !== name ? system : undefined, kind: 'native', address, mapping,
        fileName: file !== '' ? file : undefined, line: num(line.line) > 0 ? num(line.line) : undefined, symbolized: name !== '',
      };
    });
    locations.set(num(l.id), frames.length > 0 ? frames : [{ functionName: `0x${address.toString(16)}`, kind: 'native', address, mapping, symbolized: false }]);
  }
  const samples: ProfileSample[] = p.sample.map((s) => {
    let tid = 0;
    let threadName = '';
    for (const label of s.label) {
      const key = str(label.key);
      if (key === 'tid' || key === 'thread_id') tid = num(label.num) || Number(str(label.str)) || 0;
      else if (key === 'thread_name') threadName = str(label.str);
    }
    return {
      pid: process.pid, tid, threadName,
      frames: s.locationId.flatMap((id) => {
        const f = locations.get(num(id));
        if (f === undefined) throw new InvalidRequestError(`pprof sample names location ${id}, which is not in the profile`);
        return f;
      }),
      values: s.value.map(num),
    };
  });
  const valueType = (t: { type: number | bigint; unit: number | bigint } | undefined): { type: string; unit: string } =>
    ({ type: t ? str(t.type) : '', unit: t ? str(t.unit) : '' });
  return {
    sampleTypes: p.sampleType.map(valueType),
    periodType: valueType(p.periodType),
    period: num(p.period),
    startTimeNs: BigInt(p.timeNanos),
    durationNs: BigInt(p.durationNanos),
    samples,
    processes: new Map([[process.pid, process]]),
    drops: {},
  };
}

/** Series → one OTLP request (one shared dictionary), each series' labels as its resource. */
export function pprofSeriesToOtlp(series: readonly PprofSeries[]): { request: ExportProfilesServiceRequest; samples: number } {
  const units = series.map((s) => {
    const attributes = labelAttributes(s.labels);
    const pid = Number(attributes['process.pid'] ?? 0);
    const process: ProcessMetadata = { pid: Number.isSafeInteger(pid) ? pid : 0, name: attributes['service.name'] ?? '', attributes };
    const profile = pprofToProfile(s.pprof, process);
    return { attributes, unit: { process, parts: [{ profile, samples: profile.samples }] } };
  });
  const request = encodeOtlpUnits(units.map((u) => u.unit));
  let samples = 0;
  // The labels are the whole resource: nothing the encoder derives for meshprof's own processes.
  request.resourceProfiles.forEach((rp, i) => {
    const attributes = Object.entries(units[i]?.attributes ?? {}).map(([key, value]) => create(KeyValueSchema, {
      key,
      value: { value: key === 'process.pid' && /^\d+$/.test(value) ? { case: 'intValue', value: BigInt(value) } : { case: 'stringValue', value } },
    }));
    rp.resource = create(ResourceSchema, { attributes });
    for (const sp of rp.scopeProfiles) {
      sp.scope = create(InstrumentationScopeSchema, { name: 'meshprof-receiver/pyroscope' });
      for (const p of sp.profiles) samples += p.samples.length;
    }
  });
  return { request, samples };
}
