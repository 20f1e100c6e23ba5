import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { summarizePod, type PodLookups, type PodSummary } from '../../src/discovery/pod-summary.js';
import type { ResolvedContainer } from '../../src/discovery/pod-resolver.js';
import { containerAttributes, imageName, podServiceName } from '../../src/discovery/resource-attributes.js';
import { containerId, pod } from '../helpers/k8s-objects.js';

const none: PodLookups = { replicaSet: () => undefined, services: () => [] };

function summarize(p: ReturnType<typeof pod>, lookups = none): PodSummary {
  const s = summarizePod(p as unknown as V1Pod, lookups);
  if (s === undefined) throw new Error('no summary');
  return s;
}
function first(s: PodSummary): ResolvedContainer {
  const c = s.containers[0];
  if (c === undefined) throw new Error('no container');
  return { ...c, pod: s };
}

describe('service.name precedence', () => {
  const id = containerId();
  const base = { name: 'pay-6b7f9-abcde', namespace: 'shop', replicaSet: 'pay-6b7f9', containers: [{ name: 'main', id, image: 'pay:1' }] };

  it('walks annotation, instance label, name label, owner, pod', () => {
    const all = {
      annotations: { 'resource.opentelemetry.io/service.name': 'from-annotation' },
      labels: { 'app.kubernetes.io/instance': 'from-instance', 'app.kubernetes.io/name': 'from-name', 'pod-template-hash': '6b7f9' },
    };
    expect(podServiceName(first(summarize(pod({ ...base, ...all }))))).toBe('from-annotation');
    expect(podServiceName(first(summarize(pod({ ...base, labels: all.labels }))))).toBe('from-instance');
    expect(podServiceName(first(summarize(pod({ ...base, labels: { 'app.kubernetes.io/name': 'from-name' } }))))).toBe('from-name');
    // No ReplicaSet cached: the Deployment comes from the pod-template-hash naming.
    expect(podServiceName(first(summarize(pod({ ...base, labels: { 'pod-template-hash': '6b7f9' } }))))).toBe('pay');
    // Without the hash label the ReplicaSet is the top owner.
    expect(podServiceName(first(summarize(pod({ ...base, labels: {} }))))).toBe('pay-6b7f9');
    const { replicaSet: _rs, ...bare } = base;
    expect(podServiceName(first(summarize(pod(bare))))).toBe('pay-6b7f9-abcde');
  });
});

describe('pod summary', () => {
  it('resolves the Deployment through the cached ReplicaSet', () => {
    const lookups: PodLookups = {
      replicaSet: (ns, name) =>
        ns === 'shop' && name === 'rs-1'
          ? { metadata: { name, namespace: ns, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'checkout', uid: 'u', controller: true }] } }
          : undefined,
      services: (ns): V1Service[] =>
        ns === 'shop'
          ? [
              { metadata: { name: 'b' }, spec: { selector: { app: 'x' } } },
              { metadata: { name: 'a' }, spec: { selector: { app: 'x', tier: 'web' } } },
              { metadata: { name: 'no-match' }, spec: { selector: { app: 'y' } } },
              { metadata: { name: 'headless-manual' }, spec: {} },
            ]
          : [],
    };
    const s = summarize(pod({ name: 'p', namespace: 'shop', replicaSet: 'rs-1', labels: { app: 'x', tier: 'web' }, containers: [{ name: 'c', id: containerId(), image: 'c:1' }] }), lookups);
    expect(s.owners).toEqual({ ReplicaSet: 'rs-1', Deployment: 'checkout' });
    expect(s.owner).toEqual({ kind: 'Deployment', name: 'checkout' });
    expect(s.services).toEqual(['a', 'b']);
  });

  it('finds a native istio-proxy sidecar in initContainerStatuses and strips every scheme', () => {
    const [app, proxy] = [containerId(), containerId()];
    const raw = pod({ name: 'p', namespace: 'shop', annotations: { 'sidecar.istio.io/status': '{}' }, containers: [{ name: 'app', id: app, image: 'app:1' }] });
    const status = raw['status'] as { containerStatuses: Array<Record<string, unknown>>; initContainerStatuses?: unknown[] };
    status.containerStatuses[0] = { ...status.containerStatuses[0], containerID: `cri-o://${app}` };
    status.initContainerStatuses = [{ name: 'istio-proxy', image: 'istio/proxyv2:1.24.2', containerID: `docker://${proxy}`, ready: true, restartCount: 0, imageID: '' }];
    const s = summarize(raw);
    expect(s.containers.map((c) => [c.name, c.containerId, c.role])).toEqual([
      ['app', app, 'app'],
      ['istio-proxy', proxy, 'sidecar'],
    ]);
  });

  it('gives no role outside the mesh and app to ambient pods', () => {
    const c = [{ name: 'app', id: containerId(), image: 'app:1' }];
    expect(summarize(pod({ name: 'p', namespace: 'n', containers: c })).containers[0]?.role).toBeUndefined();
    expect(summarize(pod({ name: 'p', namespace: 'n', annotations: { 'ambient.istio.io/redirection': 'enabled' }, containers: c })).containers[0]?.role).toBe('app');
  });
});

describe('container attributes', () => {
  it('sets version, owner kinds and Istio defaults', () => {
    const s = summarize(
      pod({
        name: 'db-0',
        namespace: 'data',
        labels: { app: 'db', version: 'v7', 'app.kubernetes.io/version': '16.2' },
        annotations: { 'sidecar.istio.io/status': '{}', 'resource.opentelemetry.io/service.namespace': 'storage' },
        containers: [{ name: 'postgres', id: containerId(), image: 'postgres@sha256:' + 'cd'.repeat(32) }],
      }),
    );
    const raw = { ...first(s), pod: { ...s, owners: { StatefulSet: 'db' }, owner: { kind: 'StatefulSet', name: 'db' } } };
    const a = containerAttributes(raw, 'node-a');
    expect(a).toMatchObject({
      'k8s.statefulset.name': 'db',
      'service.name': 'db',
      'service.namespace': 'storage',
      'service.version': '16.2',
      'container.image.name': 'postgres',
      'istio.canonical_service': 'db',
      'istio.canonical_revision': '16.2', // app.kubernetes.io/version before version, as Istio orders them
      'mesh.role': 'app',
    });
    expect(a['container.image.tags']).toBeUndefined();
  });

  it('strips tags and digests but keeps registry ports', () => {
    expect(imageName('localhost:5000/a/b:1.2')).toBe('localhost:5000/a/b');
    expect(imageName('localhost:5000/a/b')).toBe('localhost:5000/a/b');
    expect(imageName('nginx:1.27@sha256:abc')).toBe('nginx');
  });
});
