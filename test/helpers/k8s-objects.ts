/**
 * Real-shaped Kubernetes objects (as the API server returns them) for tests.
 */
import { randomBytes, randomUUID } from 'node:crypto';

export const NODE = 'worker-1';

export function containerId(): string {
  return randomBytes(32).toString('hex');
}

export interface PodSpecInput {
  name: string;
  namespace: string;
  uid?: string;
  node?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  replicaSet?: string;
  /** name → container id (without scheme) */
  containers: Array<{ name: string; id: string; image: string }>;
  qosClass?: string;
}

export function pod(p: PodSpecInput): Record<string, unknown> & { metadata: { uid: string; name: string } } {
  const uid = p.uid ?? randomUUID();
  const obj = {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name: p.name,
      generateName: p.replicaSet !== undefined ? `${p.replicaSet}-` : undefined,
      namespace: p.namespace,
      uid,
      creationTimestamp: '2025-01-10T09:12:44Z',
      labels: p.labels ?? {},
      annotations: p.annotations ?? {},
      ownerReferences:
        p.replicaSet === undefined
          ? undefined
          : [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: p.replicaSet, uid: randomUUID(), controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      nodeName: p.node ?? NODE,
      serviceAccountName: 'default',
      restartPolicy: 'Always',
      containers: p.containers.map((c) => ({ name: c.name, image: c.image, resources: {} })),
    },
    status: {
      phase: 'Running',
      hostIP: '10.0.0.11',
      podIP: '10.244.1.17',
      qosClass: p.qosClass ?? 'Burstable',
      startTime: '2025-01-10T09:12:44Z',
      containerStatuses: p.containers.map((c) => ({
        name: c.name,
        ready: true,
        restartCount: 0,
        image: c.image,
        imageID: `${c.image.split(':')[0]}@sha256:${'ab'.repeat(32)}`,
        containerID: `containerd://${c.id}`,
        started: true,
        state: { running: { startedAt: '2025-01-10T09:12:46Z' } },
      })),
    },
  };
  return obj;
}

/** An Istio-injected pod of a Deployment: app container plus istio-proxy. */
export function injectedPod(name: string, namespace: string, appId: string, proxyId: string, rs: string) {
  return pod({
    name,
    namespace,
    replicaSet: rs,
    labels: {
      app: 'cart',
      'app.kubernetes.io/name': 'cart',
      'pod-template-hash': rs.slice(rs.lastIndexOf('-') + 1),
      'security.istio.io/tlsMode': 'istio',
      'service.istio.io/canonical-name': 'cart',
      'service.istio.io/canonical-revision': 'v2',
    },
    annotations: {
      'sidecar.istio.io/status':
        '{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["istio-envoy"],"imagePullSecrets":null,"revision":"default"}',
      'kubectl.kubernetes.io/default-container': 'cart',
    },
    containers: [
      { name: 'cart', id: appId, image: 'registry.example.com:5000/shop/cart:2.3.1' },
      { name: 'istio-proxy', id: proxyId, image: 'docker.io/istio/proxyv2:1.24.2' },
    ],
  });
}

export function replicaSet(name: string, namespace: string, deployment: string) {
  return {
    kind: 'ReplicaSet',
    apiVersion: 'apps/v1',
    metadata: {
      name,
      namespace,
      uid: randomUUID(),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment, uid: randomUUID(), controller: true, blockOwnerDeletion: true }],
    },
    spec: { replicas: 1, selector: { matchLabels: { app: 'cart' } } },
    status: { replicas: 1, readyReplicas: 1 },
  };
}

export function service(name: string, namespace: string, selector: Record<string, string>) {
  return {
    kind: 'Service',
    apiVersion: 'v1',
    metadata: { name, namespace, uid: randomUUID() },
    spec: { type: 'ClusterIP', clusterIP: '10.96.14.2', selector, ports: [{ name: 'http', port: 8080, protocol: 'TCP', targetPort: 8080 }] },
  };
}
