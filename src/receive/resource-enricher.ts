/**
 * Adds what this node knows to each received resource, as meshprof's own
 * profiles get it: from `process.pid` (this host's pid namespace) the
 * executable, container, k8s.*, service.name and Istio role; from
 * `container.id` alone, the container's pod attributes. Attributes the
 * producer set are never overwritten.
 */
import { create } from '@bufbuild/protobuf';
import { LRUCache } from 'lru-cache';
import type { AnyValue, KeyValue } from '../gen/opentelemetry/proto/common/v1/common_pb.js';
import { AnyValueSchema, KeyValueSchema } from '../gen/opentelemetry/proto/common/v1/common_pb.js';
import type { ExportProfilesServiceRequest } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { ResourceSchema } from '../gen/opentelemetry/proto/resource/v1/resource_pb.js';
import { scalarOf } from './otlp-to-profiles.js';

/** Attribute values the node can add: strings, and integers such as process.pid. */
export type NodeAttributes = Readonly<Record<string, string | number>>;

/** What the node knows of a process or container; the controller builds it from discovery. */
export interface ResourceDescriber {
  /** Attributes of a live process by host pid; undefined when there is no such process. */
  describePid(pid: number): NodeAttributes | undefined;
  /** Attributes of a container by id; undefined when the node does not know it. */
  describeContainer(containerId: string): NodeAttributes | undefined;
}

/** Enriches resources in place; a short-lived cache spares /proc reads when one producer sends many requests. */
export interface ResourceEnricher {
  /** Returns how many resources got attributes added. */
  enrich(request: ExportProfilesServiceRequest): number;
}

/** Options of createResourceEnricher. */
export interface ResourceEnricherOptions {
  /** How long a pid's or container's attributes are reused, ms (default 5000). */
  readonly cacheMs?: number;
  /** Bound on cached entries (default 4096). */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

/** Creates an enricher over a describer. */
export function createResourceEnricher(describer: ResourceDescriber, options: ResourceEnricherOptions = {}): ResourceEnricher {
  const cacheMs = options.cacheMs ?? 5000;
  const maxEntries = options.maxEntries ?? 4096;
  const now = options.now ?? Date.now;
  // Wrapped: lru-cache keeps no undefined values, and "nothing known" is worth keeping too.
  // The KeyValues are built once per entry and shared by every request that gets them: nothing downstream edits them.
  const cache = new LRUCache<string, { readonly attrs: readonly KeyValue[] | undefined }>({ max: maxEntries, ttl: cacheMs, perf: { now } });
  const cached = (key: string, look: () => NodeAttributes | undefined): readonly KeyValue[] | undefined => {
    const hit = cache.get(key);
    if (hit !== undefined) return hit.attrs;
    const found = look();
    const attrs = found && Object.entries(found).map(([k, value]) => create(KeyValueSchema, { key: k, value: anyValue(value) }));
    cache.set(key, { attrs });
    return attrs;
  };

  return {
    enrich(request) {
      let enriched = 0;
      for (const rp of request.resourceProfiles) {
        const resource = (rp.resource ??= create(ResourceSchema));
        const own = new Map<string, KeyValue>(resource.attributes.map((kv) => [kv.key, kv]));
        const pid = Number(scalarOf(own.get('process.pid')?.value));
        const containerId = scalarOf(own.get('container.id')?.value);
        let node: readonly KeyValue[] | undefined;
        if (Number.isSafeInteger(pid) && pid > 0) node = cached(`p${pid}`, () => describer.describePid(pid));
        if (node === undefined && containerId !== undefined && containerId !== '') node = cached(`c${containerId}`, () => describer.describeContainer(containerId));
        if (node === undefined) continue;
        let added = 0;
        for (const kv of node) {
          if (own.has(kv.key)) continue;
          resource.attributes.push(kv);
          added++;
        }
        if (added > 0) enriched++;
      }
      return enriched;
    },
  };
}

function anyValue(v: string | number): AnyValue {
  return create(AnyValueSchema, { value: typeof v === 'number' ? { case: 'intValue', value: BigInt(Math.trunc(v)) } : { case: 'stringValue', value: v } });
}
