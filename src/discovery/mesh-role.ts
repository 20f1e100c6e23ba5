/**
 * Istio roles: which containers are the Envoy sidecar, which are the meshed
 * application, and which are ambient mode's ztunnel.
 */

/** A process's place in the mesh; undefined for processes outside it. */
export type MeshRole = 'sidecar' | 'app' | 'ztunnel';

/** Every role, for validating configuration. */
export const MESH_ROLES: readonly MeshRole[] = ['sidecar', 'app', 'ztunnel'];

/** Name of the container the Istio injector adds (a regular or a native sidecar). */
export const ISTIO_PROXY_CONTAINER = 'istio-proxy';
/** Annotation the injector writes on every pod it injected. */
export const ISTIO_SIDECAR_STATUS = 'sidecar.istio.io/status';
/** Annotation the ambient CNI writes on pods whose traffic ztunnel redirects. */
export const ISTIO_AMBIENT_REDIRECTION = 'ambient.istio.io/redirection';

/** The pod fields the role depends on. */
export interface MeshPodFacts {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** The role of container `containerName` in a pod. */
export function meshRoleOf(pod: MeshPodFacts, containerName: string): MeshRole | undefined {
  if (pod.labels['app'] === 'ztunnel') return 'ztunnel';
  if (containerName === ISTIO_PROXY_CONTAINER) return 'sidecar';
  if (pod.annotations[ISTIO_SIDECAR_STATUS] !== undefined) return 'app';
  // Ambient pods have no sidecar, but their traffic is meshed through ztunnel.
  if (pod.annotations[ISTIO_AMBIENT_REDIRECTION] === 'enabled') return 'app';
  return undefined;
}

/**
 * Istio's canonical service and revision, derived as Istio itself does when
 * the service.istio.io labels are absent.
 */
export function canonicalService(
  labels: Readonly<Record<string, string>>,
  workloadName: string,
): { readonly name: string; readonly revision: string } {
  const name =
    labels['service.istio.io/canonical-name'] ?? labels['app.kubernetes.io/name'] ?? labels['app'] ?? workloadName;
  const revision =
    labels['service.istio.io/canonical-revision'] ?? labels['app.kubernetes.io/version'] ?? labels['version'] ?? 'latest';
  return { name, revision };
}
