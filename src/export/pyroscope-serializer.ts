/**
 * Pyroscope push serializer: one RawProfileSeries per process, each carrying
 * that process's samples as a gzipped pprof, packed into PushRequests under
 * the size limit.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { encodePprof } from '../encode/pprof.js';
import type { OtlpResourceOptions } from '../encode/otlp-resource.js';
import { serviceNameOf } from '../encode/otlp-resource.js';
import { groupByProcess } from '../encode/otlp.js';
import type { RawProfileSeries } from '../gen/pyroscope/push/v1/push_pb.js';
import { PushRequestSchema, RawProfileSeriesSchema } from '../gen/pyroscope/push/v1/push_pb.js';
import type { ProcessMetadata, Profile } from '../profile/model.js';
import type { ReceivedProfiles } from '../receive/received-profiles.js';
import type { ItemSerializer, ProfileSerializer, SerializedRequest } from './queued-exporter.js';
import { pyroscopeProfileName } from '../profile/pyroscope-names.js';

/** Resource attributes that become Pyroscope labels, and their label names. */
export const PYROSCOPE_LABELS: Readonly<Record<string, string>> = {
  'k8s.namespace.name': 'namespace',
  'k8s.pod.name': 'pod',
  'k8s.container.name': 'container',
  'k8s.node.name': 'node',
};

/** Attributes never made labels: service.name is service_name already; the rest are per-instance ids. */
const PYROSCOPE_UNLABELLED: ReadonlySet<string> = new Set(['service.name', 'container.id', 'k8s.pod.uid', 'service.instance.id']);

/** An attribute name as a Pyroscope (Prometheus) label name: `k8s.pod.label.app` → `k8s_pod_label_app`. */
export function pyroscopeLabelName(attribute: string): string {
  const name = attribute.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** Named once for every way a profile reaches Pyroscope (profile/pyroscope-names.ts). */
export { pyroscopeProfileName };

/** Series labels for one process's profile, sorted by name as Pyroscope stores them. */
export function pyroscopeLabels(
  profile: Profile,
  process: ProcessMetadata,
  options: OtlpResourceOptions,
  profileName: string = pyroscopeProfileName(profile),
): { name: string; value: string }[] {
  const labels = [
    { name: '__name__', value: profileName },
    { name: 'service_name', value: serviceNameOf(process, options) },
  ];
  for (const [attr, label] of Object.entries(PYROSCOPE_LABELS)) {
    const value = process.attributes[attr];
    if (value) labels.push({ name: label, value });
  }
  // The same attributes OTLP carries (OTEL_RESOURCE_ATTRIBUTES, then the process's own), as
  // Pyroscope label names; ids (process.*, container and pod uids) would start new series at every restart.
  const rest: Record<string, string> = { ...options.resourceAttributes, ...process.attributes };
  for (const [attr, value] of Object.entries(rest)) {
    if (value === '' || attr in PYROSCOPE_LABELS || PYROSCOPE_UNLABELLED.has(attr) || attr.startsWith('process.')) continue;
    const name = pyroscopeLabelName(attr);
    if (!labels.some((l) => l.name === name)) labels.push({ name, value });
  }
  return labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** One series to push: a process's samples of one profile. */
interface SeriesPart {
  readonly profile: Profile;
  readonly process: ProcessMetadata;
  readonly samples: Profile['samples'];
  readonly name?: string | undefined;
}

/** Creates the serializer; maxBytes bounds each PushRequest. */
export function createPyroscopeSerializer(options: OtlpResourceOptions, maxBytes: number): ProfileSerializer {
  return {
    serialize: (profiles) => packSeries(
      groupByProcess(profiles).flatMap((unit) => unit.parts.map((part) => ({ ...part, process: unit.process }))),
      options,
      maxBytes,
    ),
  };
}

/**
 * The serializer of received profiles: each is one resource's and becomes
 * one series, named by its sample type (`__name__`) and labelled from that
 * resource only, never the agent's OTEL_SERVICE_NAME.
 */
export function createReceivedPyroscopeSerializer(maxBytes: number): ItemSerializer<ReceivedProfiles> {
  return {
    serialize: (items) => packSeries(items.flatMap((r) => r.profiles().flatMap(({ name, profile }) => {
      const process = [...profile.processes.values()][0];
      return process === undefined ? [] : [{ profile, process, samples: profile.samples, name }];
    })), {}, maxBytes),
  };
}

function packSeries(parts: readonly SeriesPart[], options: OtlpResourceOptions, maxBytes: number): ReturnType<ProfileSerializer['serialize']> {
  const series: { series: RawProfileSeries; size: number; samples: number }[] = [];
  for (const part of parts) {
    const own: Profile = { ...part.profile, samples: part.samples, processes: new Map([[part.process.pid, part.process]]) };
    const s = create(RawProfileSeriesSchema, {
      labels: pyroscopeLabels(part.profile, part.process, options, part.name),
      samples: [{ rawProfile: encodePprof(own) }],
    });
    series.push({ series: s, size: toBinary(RawProfileSeriesSchema, s).length + 8, samples: part.samples.length });
  }
  // Greedy packing in input order; a series alone over the limit cannot be sent.
  const requests: SerializedRequest[] = [];
  let tooLargeSamples = 0;
  let batch: typeof series = [];
  let batchSize = 0;
  const close = (): void => {
    if (batch.length === 0) return;
    const bytes = toBinary(PushRequestSchema, create(PushRequestSchema, { series: batch.map((b) => b.series) }));
    requests.push({ bytes, samples: batch.reduce((n, b) => n + b.samples, 0) });
    batch = [];
    batchSize = 0;
  };
  for (const s of series) {
    if (s.size > maxBytes) {
      tooLargeSamples += s.samples;
      continue;
    }
    if (batchSize + s.size > maxBytes) close();
    batch.push(s);
    batchSize += s.size;
  }
  close();
  return { requests, tooLargeSamples };
}
