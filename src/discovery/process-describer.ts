/**
 * Names a process: container and pod attributes when it runs in one,
 * otherwise its own OTEL_SERVICE_NAME or `unknown_service:<exe>`.
 * It plugs into the symbolizer's `describeProcess` hook.
 */
import { basename } from 'node:path';
import type { ProcessMetadata } from '../stacks/process-metadata.js';
import type { MeshRole } from './mesh-role.js';
import type { PodResolver, ResolvedContainer } from './pod-resolver.js';
import type { ProcessFacts, ProcessInspector } from './process-inspector.js';
import type { PodSummary } from './pod-summary.js';
import { containerAttributes, podAttributes, type PodAttributeOptions } from './resource-attributes.js';

/** What discovery knows about one live process, for naming and target selection. */
export interface ProcessIdentity {
  readonly facts: ProcessFacts;
  /** The pod container, when the resolver knows the process's container id. */
  readonly container: ResolvedContainer | undefined;
  /** The pod: the container's, or found by the cgroup's pod UID before the kubelet reports the container. */
  readonly pod: PodSummary | undefined;
  readonly role: MeshRole | undefined;
}

/** Adds resource attributes to process metadata. */
export interface ProcessDescriber {
  /** Returns `base` with discovery's attributes added (they win over base's). */
  describe(base: ProcessMetadata): ProcessMetadata;
  /**
   * The process's facts and pod container; undefined once unknown. With
   * `reuse`, facts already cached are not re-read from /proc.
   */
  identify(pid: number, reuse?: boolean): ProcessIdentity | undefined;
}

/** Options of createProcessDescriber. */
export interface ProcessDescriberOptions {
  readonly inspector: ProcessInspector;
  /** Absent outside Kubernetes. */
  readonly resolver?: PodResolver | undefined;
  /** Fallback for k8s.node.name when a pod lacks spec.nodeName. */
  readonly nodeName?: string | undefined;
  /** Read OTEL_SERVICE_NAME from /proc/PID/environ (default true). */
  readonly readEnviron?: boolean | undefined;
  /** Pod labels and annotations to copy, and the cluster's name. */
  readonly attributes?: PodAttributeOptions | undefined;
}

/** Creates a describer over an inspector and, in Kubernetes, a pod resolver. */
export function createProcessDescriber(opts: ProcessDescriberOptions): ProcessDescriber {
  const { inspector, resolver } = opts;
  // environ is read once per process (pid + start time); it rarely changes after exec.
  const envNames = new Map<string, string | null>();

  const identify = (pid: number, reuse = false): ProcessIdentity | undefined => {
    const facts = (reuse ? inspector.cached(pid) : undefined) ?? inspector.inspect(pid);
    if (facts === undefined) return undefined;
    const id = facts.cgroup.containerId;
    const container = id !== undefined ? resolver?.byContainerId(id) : undefined;
    const uid = facts.cgroup.podUid;
    const pod = container?.pod ?? (uid !== undefined ? resolver?.byPodUid(uid) : undefined);
    const role = container?.role ?? (pod?.labels['app'] === 'ztunnel' ? 'ztunnel' : undefined);
    return { facts, container, pod, role };
  };

  const envServiceName = (facts: ProcessFacts): string | undefined => {
    if (opts.readEnviron === false) return undefined;
    const key = `${facts.pid}:${facts.startTime}`;
    let name = envNames.get(key);
    if (name === undefined) {
      name = inspector.proc.readEnvVar(facts.pid, 'OTEL_SERVICE_NAME')?.trim() || null;
      if (name === null) name = serviceNameFromResourceAttributes(inspector.proc.readEnvVar(facts.pid, 'OTEL_RESOURCE_ATTRIBUTES'));
      if (envNames.size > 8192) envNames.clear();
      envNames.set(key, name);
    }
    return name ?? undefined;
  };

  return {
    identify,
    describe(base) {
      const who = identify(base.pid);
      const attrs: Record<string, string> = {};
      if (who?.container !== undefined) {
        Object.assign(attrs, containerAttributes(who.container, opts.nodeName, opts.attributes));
      } else if (who?.pod !== undefined) {
        Object.assign(attrs, podAttributes(who.pod, opts.nodeName, who.facts.cgroup.containerId, opts.attributes));
      } else {
        if (who?.facts.cgroup.containerId !== undefined) attrs['container.id'] = who.facts.cgroup.containerId;
        if (who?.facts.cgroup.podUid !== undefined) attrs['k8s.pod.uid'] = who.facts.cgroup.podUid;
        const exe = who?.facts.exeName ?? (base.executablePath !== undefined ? basename(base.executablePath) : base.name);
        attrs['service.name'] = (who !== undefined ? envServiceName(who.facts) : undefined) ?? `unknown_service:${exe}`;
      }
      // The node's cluster, for pods and host processes alike.
      if (opts.attributes?.clusterName !== undefined) attrs['k8s.cluster.name'] = opts.attributes.clusterName;
      return { ...base, attributes: { ...base.attributes, ...attrs } };
    },
  };
}

/** service.name out of an OTEL_RESOURCE_ATTRIBUTES value (`k=v,k2=v2`, percent-encoded). */
function serviceNameFromResourceAttributes(value: string | undefined): string | null {
  for (const kv of (value ?? '').split(',')) {
    const eq = kv.indexOf('=');
    if (eq > 0 && kv.slice(0, eq).trim() === 'service.name') {
      try {
        const v = decodeURIComponent(kv.slice(eq + 1).trim());
        if (v !== '') return v;
      } catch {
        return null;
      }
    }
  }
  return null;
}
