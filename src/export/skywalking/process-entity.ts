/**
 * Which SkyWalking entity (layer, service, instance, process) a process is,
 * following Rover's default finder rules.
 */
import { basename } from 'node:path';
import type { ProcessMetadata } from '../../profile/model.js';

/** A process as OAP identifies it. */
export interface ProcessEntity {
  readonly layer: string;
  readonly serviceName: string;
  readonly instanceName: string;
  readonly processName: string;
  readonly labels: readonly string[];
}

/** The configurable parts of the rules; defaults are Rover's. */
export interface EntityRules {
  /** Prefixed to every service name as `cluster::service`. */
  readonly clusterName?: string | undefined;
  /** Instance name of host processes (Rover uses the host's address). */
  readonly hostInstanceName: string;
  /** The sidecar container's name. */
  readonly proxyContainer: string;
  /** Pod labels tried in order for mesh service names. */
  readonly serviceNameLabels: readonly string[];
  readonly hostLayer: string;
  readonly meshDataPlaneLayer: string;
  readonly meshLayer: string;
  readonly k8sServiceLayer: string;
}

/** Rover's default rules. */
export function defaultEntityRules(hostInstanceName: string, clusterName?: string): EntityRules {
  return {
    clusterName,
    hostInstanceName,
    proxyContainer: 'istio-proxy',
    serviceNameLabels: ['service.istio.io/canonical-name', 'app.kubernetes.io/name', 'app'],
    hostLayer: 'OS_LINUX',
    meshDataPlaneLayer: 'MESH_DP',
    meshLayer: 'MESH',
    k8sServiceLayer: 'K8S_SERVICE',
  };
}

const PROXY_ROLES = new Set(['proxy', 'sidecar', 'envoy', 'gateway']);

function attr(meta: ProcessMetadata, key: string): string | undefined {
  const v = meta.attributes[key]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/** Executable base name, as Rover's `{{.Process.ExeName}}`. */
export function exeName(meta: ProcessMetadata): string {
  return meta.executablePath !== undefined && meta.executablePath !== '' ? basename(meta.executablePath) : meta.name;
}

/**
 * The entity for a process, or undefined when the rules select none (a pod
 * that is neither in the mesh nor behind a Service). Kubernetes processes are
 * recognised by `k8s.pod.name`; pod labels are read from `k8s.pod.label.<key>`,
 * the Service from `k8s.service.name`, the sidecar from `k8s.container.name`
 * or `mesh.role` (proxy/sidecar, or any other value for an application).
 */
export function resolveProcessEntity(meta: ProcessMetadata, rules: EntityRules): ProcessEntity | undefined {
  const prefix = rules.clusterName !== undefined && rules.clusterName !== '' ? `${rules.clusterName}::` : '';
  const processName = exeName(meta);
  const pod = attr(meta, 'k8s.pod.name');
  if (pod === undefined) {
    // `unknown_service:…` is OpenTelemetry's placeholder, not a name: Rover names such processes by their executable.
    const named = attr(meta, 'service.name');
    const service = named === undefined || named.startsWith('unknown_service') ? processName : named;
    return { layer: rules.hostLayer, serviceName: prefix + service, instanceName: rules.hostInstanceName, processName, labels: [] };
  }

  const namespace = attr(meta, 'k8s.namespace.name') ?? 'default';
  const container = attr(meta, 'k8s.container.name');
  const role = attr(meta, 'mesh.role')?.toLowerCase();
  const isProxy = container === rules.proxyContainer || (role !== undefined && PROXY_ROLES.has(role));
  // Rover's `.Pod.LabelValue "service.istio.io/canonical-name,app.kubernetes.io/name,app"`: the labels
  // when copied (MESHPROF_POD_LABELS), else istio.canonical_service, which discovery derives from the
  // same labels in the same order. A sidecar of reviews-v1 is `reviews.<ns>`, not `reviews-v1.<ns>`.
  const labelName =
    rules.serviceNameLabels.map((l) => attr(meta, `k8s.pod.label.${l}`)).find((v) => v !== undefined) ??
    attr(meta, 'istio.canonical_service') ??
    attr(meta, 'k8s.deployment.name') ??
    container ??
    processName;
  const meshService = `${prefix}${labelName}.${namespace}`;

  if (isProxy) {
    return { layer: rules.meshDataPlaneLayer, serviceName: meshService, instanceName: pod, processName, labels: ['mesh-envoy'] };
  }
  if (role !== undefined) {
    return { layer: rules.meshLayer, serviceName: meshService, instanceName: pod, processName, labels: ['mesh-application'] };
  }
  const k8sService = attr(meta, 'k8s.service.name');
  if (k8sService === undefined) return undefined;
  return {
    layer: rules.k8sServiceLayer,
    serviceName: `${prefix}${k8sService}.${namespace}`,
    instanceName: pod,
    processName,
    labels: ['k8s-service'],
  };
}

/** Same entity: what Rover compares when matching OAP's answer to a process. */
export function sameEntity(
  a: Pick<ProcessEntity, 'layer' | 'serviceName' | 'instanceName' | 'processName'>,
  b: Pick<ProcessEntity, 'layer' | 'serviceName' | 'instanceName' | 'processName'>,
): boolean {
  return (
    a.layer === b.layer && a.serviceName === b.serviceName && a.instanceName === b.instanceName && a.processName === b.processName
  );
}
