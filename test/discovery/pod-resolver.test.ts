import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClusterWatch, type ClusterWatch } from '../../src/discovery/cluster-watch.js';
import { createPodResolver, type PodEvent, type PodResolver } from '../../src/discovery/pod-resolver.js';
import { startFakeKubeApi, type FakeKubeApi } from '../helpers/start-fake-kube-api.js';
import { createLogger, type LogLevel } from '../../src/log/logger.js';
import { NODE, containerId, injectedPod, pod, replicaSet, service } from '../helpers/k8s-objects.js';

async function until<T>(fn: () => T | undefined, what: string, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('PodResolver over list and watch', () => {
  let api: FakeKubeApi;
  let watch: ClusterWatch;
  let resolver: PodResolver;
  let events: PodEvent[];

  beforeEach(async () => {
    api = await startFakeKubeApi();
    events = [];
  });
  afterEach(async () => {
    resolver?.close();
    await watch?.stop();
    await api.close();
  });

  async function start(namespaces?: string[]): Promise<void> {
    watch = createClusterWatch(api.kubeConfig(), { nodeName: NODE, namespaces, retryMs: 100 });
    resolver = createPodResolver(watch);
    resolver.on((e) => events.push(e));
    await watch.start();
  }

  it('indexes listed pods, then follows add, update and delete', async () => {
    const [app, proxy] = [containerId(), containerId()];
    api.apply('replicasets', replicaSet('cart-7d9f8b6c5d', 'shop', 'cart'));
    api.apply('services', service('cart', 'shop', { app: 'cart' }));
    api.apply('pods', injectedPod('cart-7d9f8b6c5d-x2x9q', 'shop', app, proxy, 'cart-7d9f8b6c5d'));
    // On another node: the field selector must keep it out.
    const elsewhere = containerId();
    api.apply('pods', pod({ name: 'far', namespace: 'shop', node: 'worker-2', containers: [{ name: 'c', id: elsewhere, image: 'busybox:1' }] }));
    await start();

    const listed = resolver.byContainerId(`containerd://${app}`);
    expect(listed?.name).toBe('cart');
    expect(listed?.role).toBe('app');
    expect(listed?.pod).toMatchObject({
      name: 'cart-7d9f8b6c5d-x2x9q',
      namespace: 'shop',
      nodeName: NODE,
      owner: { kind: 'Deployment', name: 'cart' },
      owners: { ReplicaSet: 'cart-7d9f8b6c5d', Deployment: 'cart' },
      services: ['cart'],
    });
    expect(resolver.byContainerId(proxy)?.role).toBe('sidecar');
    expect(resolver.byContainerId(elsewhere)).toBeUndefined();
    expect(api.requests.some((r) => r.startsWith('/api/v1/pods?') && r.includes('fieldSelector=spec.nodeName%3Dworker-1'))).toBe(true);

    // add
    const webId = containerId();
    const web = pod({ name: 'web-0', namespace: 'shop', containers: [{ name: 'web', id: webId, image: 'nginx:1.27' }] });
    api.apply('pods', web);
    const added = await until(() => events.find((e) => e.type === 'add' && e.pod.name === 'web-0'), 'add event');
    expect(added.pod.uid).toBe(web.metadata.uid);
    expect(resolver.byPodUid(web.metadata.uid)?.containers.map((c) => c.containerId)).toEqual([webId]);

    // update: the container restarted with a new id
    const restarted = containerId();
    api.apply('pods', pod({ name: 'web-0', namespace: 'shop', uid: web.metadata.uid, containers: [{ name: 'web', id: restarted, image: 'nginx:1.27' }] }));
    await until(() => events.find((e) => e.type === 'update' && e.pod.name === 'web-0'), 'update event');
    expect(resolver.byContainerId(restarted)?.pod.name).toBe('web-0');
    expect(resolver.byContainerId(webId)).toBeUndefined();

    // delete
    api.remove('pods', 'shop', 'web-0');
    await until(() => events.find((e) => e.type === 'delete' && e.pod.name === 'web-0'), 'delete event');
    expect(resolver.byContainerId(restarted)).toBeUndefined();
    expect(resolver.byPodUid(web.metadata.uid)).toBeUndefined();
    expect(resolver.pods().map((p) => p.name)).toEqual(['cart-7d9f8b6c5d-x2x9q']);
  });

  it('re-resolves services when a Service appears after the pod', async () => {
    const id = containerId();
    api.apply('pods', pod({ name: 'api-0', namespace: 'shop', labels: { app: 'api' }, containers: [{ name: 'api', id, image: 'api:1' }] }));
    await start();
    expect(resolver.byContainerId(id)?.pod.services).toEqual([]);
    api.apply('services', service('api', 'shop', { app: 'api' }));
    api.apply('services', service('other', 'shop', { app: 'other' }));
    await until(() => (resolver.byContainerId(id)?.pod.services.length ?? 0) > 0 || undefined, 'service match');
    expect(resolver.byContainerId(id)?.pod.services).toEqual(['api']);
  });

  it('keeps retrying while the API server fails, then indexes the pods', async () => {
    const id = containerId();
    api.apply('pods', pod({ name: 'late', namespace: 'shop', containers: [{ name: 'c', id, image: 'c:1' }] }));
    api.failNext(6);
    await start();
    await until(() => resolver.byContainerId(id), 'pod after retries');
    expect(events.some((e) => e.type === 'add' && e.pod.name === 'late')).toBe(true);
    expect(api.requests.length).toBeGreaterThan(6);
  });

  it("says once that ReplicaSets are forbidden (Rover's ClusterRole), asks again quietly, and still names the Deployment", async () => {
    const [app, proxy] = [containerId(), containerId()];
    api.forbid('replicasets');
    api.apply('pods', injectedPod('cart-7d9f8b6c5d-x2x9q', 'shop', app, proxy, 'cart-7d9f8b6c5d'));
    const lines: { level: LogLevel; text: string }[] = [];
    const log = createLogger((level, text) => lines.push({ level, text }));
    watch = createClusterWatch(api.kubeConfig(), { nodeName: NODE, retryMs: 50, forbiddenRetryMs: 50, log });
    resolver = createPodResolver(watch);
    await watch.start();
    expect(resolver.byContainerId(app)?.pod.owner).toEqual({ kind: 'Deployment', name: 'cart' });
    // Several refusals later: still one line above debug.
    const asked = (): number => api.requests.filter((r) => r.startsWith('/apis/apps/v1/replicasets')).length;
    await until(() => asked() >= 5 || undefined, 'five replicaset requests');
    const loud = lines.filter((l) => l.level !== 'debug' && l.text.includes('replicasets'));
    expect(loud).toHaveLength(1);
    expect(loud[0]!.text).toBe('watching /apis/apps/v1/replicasets: forbidden by RBAC; Deployment owners are told from the pod-template-hash label instead (grant list and watch on replicasets to fix)');
    expect(lines.filter((l) => l.level === 'debug' && l.text.includes('still forbidden')).length).toBeGreaterThanOrEqual(3);
    // Pods and Services were not refused: nothing about them.
    expect(lines.filter((l) => l.level !== 'debug' && !l.text.includes('replicasets'))).toEqual([]);
  });

  it('watches only the configured namespaces', async () => {
    const [a, b] = [containerId(), containerId()];
    api.apply('pods', pod({ name: 'a', namespace: 'shop', containers: [{ name: 'a', id: a, image: 'a:1' }] }));
    api.apply('pods', pod({ name: 'b', namespace: 'other', containers: [{ name: 'b', id: b, image: 'b:1' }] }));
    await start(['shop']);
    expect(resolver.byContainerId(a)?.pod.namespace).toBe('shop');
    expect(resolver.byContainerId(b)).toBeUndefined();
    expect(api.requests.some((r) => r.startsWith('/api/v1/namespaces/shop/pods?'))).toBe(true);
  });
});
