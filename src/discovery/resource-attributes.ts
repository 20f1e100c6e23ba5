/**
 * OpenTelemetry resource attributes for a pod's container, after the k8s
 * semantic conventions and the OTel operator's service.* naming rules.
 */
import { canonicalService, type MeshRole } from './mesh-role.js';
import type { OwnerKind, PodSummary } from './pod-summary.js';
import type { ResolvedContainer } from './pod-resolver.js';

const OWNER_ATTRIBUTE: Readonly<Record<OwnerKind, string>> = {
  Deployment: 'k8s.deployment.name',
  ReplicaSet: 'k8s.replicaset.name',
  StatefulSet: 'k8s.statefulset.name',
  DaemonSet: 'k8s.daemonset.name',
  Job: 'k8s.job.name',
  CronJob: 'k8s.cronjob.name',
};

const SVC_ANNOTATION = 'resource.opentelemetry.io/service.name';
const NS_ANNOTATION = 'resource.opentelemetry.io/service.namespace';
const VERSION_ANNOTATION = 'resource.opentelemetry.io/service.version';

/**
 * service.name: the annotation, then app.kubernetes.io/instance, then
 * app.kubernetes.io/name, then the top owner, the pod, the container.
 */
export function podServiceName(c: ResolvedContainer): string {
  const { annotations, labels } = c.pod;
  return (
    annotations[SVC_ANNOTATION] ??
    labels['app.kubernetes.io/instance'] ??
    labels['app.kubernetes.io/name'] ??
    c.pod.owner?.name ??
    (c.pod.name !== '' ? c.pod.name : c.name)
  );
}

/** The image name without tag or digest, as container.image.name wants it. */
export function imageName(image: string): string {
  const at = image.indexOf('@');
  const noDigest = at < 0 ? image : image.slice(0, at);
  const colon = noDigest.lastIndexOf(':');
  // A colon before the last '/' belongs to a registry port, not a tag.
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(0, colon) : noDigest;
}

function imageTag(image: string): string | undefined {
  const noDigest = image.split('@')[0] ?? image;
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(colon + 1) : undefined;
}

/** Pod metadata the user asked for (MESHPROF_POD_LABELS, MESHPROF_POD_ANNOTATIONS, MESHPROF_CLUSTER_NAME). */
export interface PodAttributeOptions {
  readonly podLabelKeys?: readonly string[] | undefined;
  readonly podAnnotationKeys?: readonly string[] | undefined;
  readonly clusterName?: string | undefined;
}

/**
 * Attributes of a process known only by its pod (the kubelet has not yet
 * reported the container's id): no container name, no role unless ztunnel.
 */
export function podAttributes(pod: PodSummary, nodeName: string | undefined, containerId?: string, options: PodAttributeOptions = {}): Record<string, string> {
  const a: Record<string, string> = {
    'k8s.namespace.name': pod.namespace,
    'k8s.pod.name': pod.name,
    'k8s.pod.uid': pod.uid,
    'service.name': pod.annotations[SVC_ANNOTATION] ?? pod.labels['app.kubernetes.io/instance'] ??
      pod.labels['app.kubernetes.io/name'] ?? pod.owner?.name ?? pod.name,
    'service.namespace': pod.annotations[NS_ANNOTATION] ?? pod.namespace,
  };
  if (containerId !== undefined) a['container.id'] = containerId;
  if (pod.ip !== undefined && pod.ip !== '') a['k8s.pod.ip'] = pod.ip;
  const node = pod.nodeName ?? nodeName;
  if (node !== undefined) a['k8s.node.name'] = node;
  const version = pod.annotations[VERSION_ANNOTATION] ?? pod.labels['app.kubernetes.io/version'];
  if (version !== undefined) a['service.version'] = version;
  for (const [kind, name] of Object.entries(pod.owners) as [OwnerKind, string][]) a[OWNER_ATTRIBUTE[kind]] = name;
  // The semantic conventions name one Service; a pod selected by several gets them comma-separated.
  if (pod.services.length > 0) a['k8s.service.name'] = pod.services.join(',');
  if (options.clusterName !== undefined) a['k8s.cluster.name'] = options.clusterName;
  for (const key of options.podLabelKeys ?? []) {
    const v = pod.labels[key];
    if (v !== undefined) a[`k8s.pod.label.${key}`] = v;
  }
  for (const key of options.podAnnotationKeys ?? []) {
    const v = pod.annotations[key];
    if (v !== undefined) a[`k8s.pod.annotation.${key}`] = v;
  }
  // Every container of a ztunnel pod is ztunnel; elsewhere the role needs the container.
  if (pod.labels['app'] === 'ztunnel') Object.assign(a, meshAttributes(pod, 'ztunnel'));
  return a;
}

function meshAttributes(pod: PodSummary, role: MeshRole): Record<string, string> {
  const canon = canonicalService(pod.labels, pod.owner?.name ?? pod.name);
  return { 'mesh.role': role, 'istio.canonical_service': canon.name, 'istio.canonical_revision': canon.revision };
}

/** All resource attributes of a container in a pod. */
export function containerAttributes(c: ResolvedContainer, nodeName: string | undefined, options: PodAttributeOptions = {}): Record<string, string> {
  const a: Record<string, string> = {
    ...podAttributes(c.pod, nodeName, c.containerId, options),
    'k8s.container.name': c.name,
    'container.image.name': imageName(c.image),
    'service.name': podServiceName(c),
    'service.instance.id': `${c.pod.namespace}.${c.pod.name}.${c.name}`,
  };
  const tag = imageTag(c.image);
  // A list in the semantic conventions; one tag here (the one the pod names), encoded as a list by OTLP.
  if (tag !== undefined) a['container.image.tags'] = tag;
  if (c.role !== undefined) Object.assign(a, meshAttributes(c.pod, c.role));
  return a;
}
