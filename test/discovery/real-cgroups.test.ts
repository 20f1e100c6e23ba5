/**
 * Real processes in real cgroups named as kubelet and containerd name them,
 * resolved through the same createDiscovery() path the agent uses, against
 * the fake API server. Needs root (CI runs as root); never skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoveryConfigFromEnv } from '../../src/config/discovery-env.js';
import { createDiscovery, type Discovery } from '../../src/discovery/discovery.js';
import type { TargetSet } from '../../src/discovery/target-selector.js';
import type { ProcessMetadata } from '../../src/profile/model.js';
import { startFakeKubeApi, type FakeKubeApi } from '../helpers/start-fake-kube-api.js';
import { cgroupfsContainerPath, createCgroupSandbox, systemdContainerPath, V1_ROOTS, V2_ROOT } from '../helpers/create-cgroup-sandbox.js';
import { NODE, containerId, injectedPod, pod, replicaSet } from '../helpers/k8s-objects.js';

const NS = 'shop';
const RS = 'cart-7d9f8b6c5d';
const appId = containerId();
const proxyId = containerId();
const ztunnelId = containerId();
const cart = injectedPod(`${RS}-x2x9q`, NS, appId, proxyId, RS);
const ztunnel = pod({
  name: 'ztunnel-8kq2v',
  namespace: 'istio-system',
  labels: { app: 'ztunnel', 'sidecar.istio.io/inject': 'false' },
  qosClass: 'BestEffort',
  containers: [{ name: 'istio-proxy', id: ztunnelId, image: 'docker.io/istio/ztunnel:1.24.2' }],
});

describe('discovery with real cgroups', () => {
  const sandbox = createCgroupSandbox();
  const children: ChildProcess[] = [];
  let api: FakeKubeApi;
  let discovery: Discovery;
  let dir: string;
  let envoyExe: string;

  const run = (exe: string, env: NodeJS.ProcessEnv = {}): number => {
    const child = spawn(exe, ['60'], { stdio: 'ignore', env: { PATH: '/usr/bin:/bin', ...env } });
    children.push(child);
    if (child.pid === undefined) throw new Error(`spawning ${exe}: no pid`);
    return child.pid;
  };
  const meta = (pid: number): ProcessMetadata => ({ pid, name: 'sleep', attributes: { 'process.pid': String(pid) } });

  let appPid: number;
  let proxyPid: number;
  let ztunnelPid: number;
  let hostPid: number;
  let hostNamedPid: number;

  beforeAll(async () => {
    expect(process.getuid?.(), 'creating cgroups needs root').toBe(0);
    // The sidecar's process is called envoy, as in the istio-proxy image.
    dir = mkdtempSync(join(tmpdir(), 'meshprof-discovery-'));
    envoyExe = join(dir, 'envoy');
    copyFileSync('/bin/sleep', envoyExe);

    api = await startFakeKubeApi();
    api.apply('replicasets', replicaSet(RS, NS, 'cart'));
    api.apply('pods', cart);
    api.apply('pods', ztunnel);

    appPid = run('/bin/sleep');
    proxyPid = run(envoyExe);
    ztunnelPid = run('/bin/sleep');
    hostPid = run('/bin/sleep');
    hostNamedPid = run('/bin/sleep', { OTEL_SERVICE_NAME: 'batch-report' });
    // systemd driver on the v2 hierarchy for the injected pod ...
    sandbox.place(V2_ROOT, systemdContainerPath('burstable', cart.metadata.uid, appId), appPid);
    sandbox.place(V2_ROOT, systemdContainerPath('burstable', cart.metadata.uid, proxyId), proxyPid);
    // ... and the cgroupfs driver on the v1 hierarchies for ztunnel.
    expect(V1_ROOTS.length).toBeGreaterThan(0);
    for (const root of V1_ROOTS) sandbox.place(root, cgroupfsContainerPath('besteffort', ztunnel.metadata.uid, ztunnelId), ztunnelPid);

    const config = discoveryConfigFromEnv({
      MESHPROF_HOST_PROC: '/proc',
      MESHPROF_KUBERNETES: 'on',
      MESHPROF_NODE_NAME: NODE,
      MESHPROF_TARGET_ROLES: 'sidecar',
    });
    discovery = await createDiscovery(config, { kubeConfig: api.kubeConfig() });
    await discovery.start();
  });

  afterAll(async () => {
    try {
      sandbox.cleanup();
    } finally {
      for (const c of children) c.kill('SIGKILL');
      await discovery?.stop();
      await api?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the app container of an injected pod', () => {
    const a = discovery.describer.describe(meta(appPid)).attributes;
    expect(a).toEqual({
      'process.pid': String(appPid),
      'k8s.namespace.name': NS,
      'k8s.pod.name': `${RS}-x2x9q`,
      'k8s.pod.uid': cart.metadata.uid,
      'k8s.container.name': 'cart',
      'k8s.node.name': NODE,
      'k8s.pod.ip': '10.244.1.17',
      'k8s.deployment.name': 'cart',
      'k8s.replicaset.name': RS,
      'container.id': appId,
      'container.image.name': 'registry.example.com:5000/shop/cart',
      'container.image.tags': '2.3.1',
      'service.name': 'cart',
      'service.namespace': NS,
      'service.instance.id': `${NS}.${RS}-x2x9q.cart`,
      'istio.canonical_service': 'cart',
      'istio.canonical_revision': 'v2',
      'mesh.role': 'app',
    });
  });

  it('names the istio-proxy container as the sidecar', () => {
    const a = discovery.describer.describe(meta(proxyPid)).attributes;
    expect(a).toMatchObject({
      'k8s.container.name': 'istio-proxy',
      'container.id': proxyId,
      'container.image.name': 'docker.io/istio/proxyv2',
      'service.name': 'cart',
      'service.instance.id': `${NS}.${RS}-x2x9q.istio-proxy`,
      'mesh.role': 'sidecar',
    });
    expect(discovery.describer.identify(proxyPid)?.facts.exeName).toBe('envoy');
  });

  it('names ztunnel from v1 cgroupfs paths', () => {
    const who = discovery.describer.identify(ztunnelPid);
    expect(who?.facts.cgroup).toMatchObject({ containerId: ztunnelId, podUid: ztunnel.metadata.uid, qosClass: 'BestEffort' });
    expect(discovery.describer.describe(meta(ztunnelPid)).attributes).toMatchObject({
      'k8s.namespace.name': 'istio-system',
      'k8s.pod.name': 'ztunnel-8kq2v',
      'service.name': 'ztunnel-8kq2v',
      'mesh.role': 'ztunnel',
    });
  });

  it('names a container the kubelet has not reported yet by its pod UID', () => {
    const pendingId = containerId();
    const pid = run('/bin/sleep');
    sandbox.place(V2_ROOT, systemdContainerPath('burstable', cart.metadata.uid, pendingId), pid);
    const a = discovery.describer.describe(meta(pid)).attributes;
    expect(a).toMatchObject({
      'k8s.namespace.name': NS,
      'k8s.pod.name': `${RS}-x2x9q`,
      'k8s.pod.uid': cart.metadata.uid,
      'k8s.deployment.name': 'cart',
      'container.id': pendingId,
      'service.name': 'cart',
    });
    // Sidecar or app cannot be told without the container name.
    expect(a['k8s.container.name']).toBeUndefined();
    expect(a['mesh.role']).toBeUndefined();
  });

  it('names host processes by OTEL_SERVICE_NAME or unknown_service', () => {
    expect(discovery.describer.describe(meta(hostPid)).attributes).toEqual({
      'process.pid': String(hostPid),
      'service.name': 'unknown_service:sleep',
    });
    expect(discovery.describer.describe(meta(hostNamedPid)).attributes['service.name']).toBe('batch-report');
  });

  it('selects only the sidecar, and adds a new sidecar process within a second', async () => {
    const seen: TargetSet[] = [];
    const selector = discovery.createTargetSelector((t) => seen.push(t), 200);
    selector.start();
    try {
      expect(seen).toEqual([[proxyPid]]);
      const second = run(envoyExe);
      sandbox.place(V2_ROOT, systemdContainerPath('burstable', cart.metadata.uid, proxyId), second);
      const t0 = Date.now();
      // Rescans run every 200 ms here (at most 1 s by construction); waiting
      // longer only absorbs a busy machine, it is not a speed target.
      while (!seen.some((s) => typeof s !== 'string' && s.includes(second)) && Date.now() - t0 < 10_000) {
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(seen.some((s) => typeof s !== 'string' && s.includes(second))).toBe(true);
      expect(selector.current()).toEqual([proxyPid, second].sort((a, b) => a - b));
    } finally {
      selector.stop();
    }
  });

  it('drops a sidecar from the selection when its pod is deleted', async () => {
    const seen: TargetSet[] = [];
    const selector = discovery.createTargetSelector((t) => seen.push(t), 1000);
    selector.start();
    try {
      expect(selector.current()).toContain(proxyPid);
      api.remove('pods', NS, cart.metadata.name);
      // The pod event alone triggers the rescan; it must not wait for the 1 s period.
      const t0 = Date.now();
      while (selector.current() !== 'none' && Date.now() - t0 < 900) {
        await new Promise((r) => setTimeout(r, 10));
      }
      // no sidecar left: the explicit empty selection, not an empty list
      expect(selector.current()).toBe('none');
      expect(discovery.describer.describe(meta(proxyPid)).attributes['k8s.pod.name']).toBeUndefined();
      expect(discovery.describer.describe(meta(proxyPid)).attributes['container.id']).toBe(proxyId);
    } finally {
      selector.stop();
      api.apply('pods', cart);
    }
  });
});
