/**
 * Flattens a V1Pod into what naming and selection need: its containers by
 * runtime id, its owners up to the Deployment, its Services and mesh roles.
 */
import type { V1OwnerReference, V1Pod, V1ReplicaSet, V1Service } from '@kubernetes/client-node';
import { meshRoleOf, type MeshRole } from './mesh-role.js';

/** Owner kinds named by OTel's k8s.<kind>.name attributes. */
export type OwnerKind = 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';

/** One running (or last run) container of a pod. */
export interface PodContainer {
  /** Runtime id, without the `containerd://` style prefix. */
  readonly containerId: string;
  readonly name: string;
  readonly image: string;
  readonly role: MeshRole | undefined;
}

/** A pod as discovery sees it. */
export interface PodSummary {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly nodeName: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Owners by kind: a Deployment's pod has both ReplicaSet and Deployment. */
  readonly owners: Readonly<Partial<Record<OwnerKind, string>>>;
  /** The top-level owner: Deployment over ReplicaSet, CronJob over Job. */
  readonly owner: { readonly kind: string; readonly name: string } | undefined;
  /** Names of Services in the pod's namespace whose selector matches its labels, sorted. */
  readonly services: readonly string[];
  readonly containers: readonly PodContainer[];
  readonly qosClass: string | undefined;
  /** status.podIP, once the pod has one (SkyWalking's container_ip). */
  readonly ip?: string | undefined;
}

/** Look-ups into the cluster caches. */
export interface PodLookups {
  replicaSet(namespace: string, name: string): V1ReplicaSet | undefined;
  services(namespace: string): readonly V1Service[];
}

/** Strips `containerd://`, `cri-o://`, `docker://` (any scheme) from a status container id. */
export function stripContainerIdScheme(id: string): string {
  const i = id.indexOf('://');
  return i < 0 ? id : id.slice(i + 3);
}

/** Builds the summary of `pod`; undefined when it lacks a uid or name. */
export function summarizePod(pod: V1Pod, lookups: PodLookups): PodSummary | undefined {
  const meta = pod.metadata;
  if (meta?.uid === undefined || meta.name === undefined) return undefined;
  const namespace = meta.namespace ?? 'default';
  const labels = { ...(meta.labels ?? {}) };
  const annotations = { ...(meta.annotations ?? {}) };
  const owners = resolveOwners(meta.ownerReferences, namespace, labels, lookups);
  const top = (['Deployment', 'CronJob', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet'] as const).find(
    (k) => owners[k] !== undefined,
  );
  const statuses = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.ephemeralContainerStatuses ?? []),
  ];
  const containers: PodContainer[] = [];
  for (const s of statuses) {
    if (s.containerID === undefined || s.containerID === '') continue;
    containers.push({
      containerId: stripContainerIdScheme(s.containerID),
      name: s.name,
      image: s.image,
      role: meshRoleOf({ labels, annotations }, s.name),
    });
  }
  return {
    uid: meta.uid,
    name: meta.name,
    namespace,
    nodeName: pod.spec?.nodeName,
    labels,
    annotations,
    owners,
    owner: top === undefined ? undefined : { kind: top, name: owners[top] ?? '' },
    services: matchingServices(lookups.services(namespace), labels),
    containers,
    qosClass: pod.status?.qosClass,
    ip: pod.status?.podIP,
  };
}

function controllerOf(refs: readonly V1OwnerReference[] | undefined): V1OwnerReference | undefined {
  return refs?.find((r) => r.controller === true) ?? refs?.[0];
}

function resolveOwners(
  refs: readonly V1OwnerReference[] | undefined,
  namespace: string,
  labels: Readonly<Record<string, string>>,
  lookups: PodLookups,
): Partial<Record<OwnerKind, string>> {
  const ref = controllerOf(refs);
  const out: Partial<Record<OwnerKind, string>> = {};
  if (ref === undefined) return out;
  switch (ref.kind) {
    case 'ReplicaSet': {
      out.ReplicaSet = ref.name;
      const rsOwner = controllerOf(lookups.replicaSet(namespace, ref.name)?.metadata?.ownerReferences);
      if (rsOwner?.kind === 'Deployment') out.Deployment = rsOwner.name;
      else if (rsOwner === undefined) {
        // Until the ReplicaSet is cached, Deployment naming (<deploy>-<pod-template-hash>) tells the owner.
        const hash = labels['pod-template-hash'];
        if (hash !== undefined && ref.name.endsWith(`-${hash}`)) out.Deployment = ref.name.slice(0, -hash.length - 1);
      }
      break;
    }
    case 'StatefulSet':
    case 'DaemonSet':
    case 'Job':
      out[ref.kind] = ref.name;
      break;
  }
  return out;
}

function matchingServices(services: readonly V1Service[], labels: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const svc of services) {
    const sel = svc.spec?.selector;
    // A Service without a selector has hand-made endpoints; it selects no pod by label.
    if (sel === undefined || Object.keys(sel).length === 0) continue;
    if (Object.entries(sel).every(([k, v]) => labels[k] === v) && svc.metadata?.name !== undefined) {
      out.push(svc.metadata.name);
    }
  }
  return out.sort();
}
