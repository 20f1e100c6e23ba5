/**
 * Issue 8's acceptance run: real processes in cgroups named as kubelet and
 * containerd name them, a Kubernetes API (the test server) that knows their
 * pod, and `meshprof record` as a user runs it with KUBECONFIG set.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKubeApi, type FakeKubeApi } from '../helpers/start-fake-kube-api.js';
import { createCgroupSandbox, systemdContainerPath, V2_ROOT } from '../helpers/create-cgroup-sandbox.js';
import { NODE, containerId, injectedPod, replicaSet } from '../helpers/k8s-objects.js';
import { startCli } from '../helpers/start-cli.js';
import { compileFixture } from '../helpers/compile-fixture.js';

const NS = 'shop';
const RS = 'cart-7d9f8b6c5d';
const appId = containerId();
const proxyId = containerId();
const cart = injectedPod(`${RS}-x2x9q`, NS, appId, proxyId, RS);

/** pprof sample labels by pid: string labels as key → value. */
function labelsByPid(file: string): Map<number, Record<string, string>> {
  const p = PprofProfile.decode(gunzipSync(readFileSync(file)));
  const str = (i: number | bigint): string => p.stringTable.strings[Number(i)] ?? '';
  const out = new Map<number, Record<string, string>>();
  for (const s of p.sample) {
    const labels: Record<string, string> = {};
    let pid = 0;
    for (const l of s.label) {
      if (str(l.key) === 'pid') pid = Number(l.num);
      else if (Number(l.str) !== 0) labels[str(l.key)] = str(l.str);
    }
    out.set(pid, labels);
  }
  return out;
}

describe('discovery in recorded profiles (real BPF, real cgroups, as root)', () => {
  const sandbox = createCgroupSandbox();
  const children: ChildProcess[] = [];
  let api: FakeKubeApi;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let appPid: number;
  let proxyPid: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshprof-discovery-record-'));
    const spin = compileFixture('split.c', { name: 'split', flags: ['-O0', '-g', '-fno-omit-frame-pointer'] });
    // The sidecar's executable is envoy, as in the istio-proxy image.
    const envoy = join(dir, 'envoy');
    const cartExe = join(dir, 'cart');
    copyFileSync(spin, envoy);
    copyFileSync(spin, cartExe);
    api = await startFakeKubeApi();
    api.apply('replicasets', replicaSet(RS, NS, 'cart'));
    api.apply('pods', cart);
    const start = (exe: string): number => {
      // Outlives the test on a busy machine; afterAll kills it.
      const child = spawn(exe, ['300'], { stdio: 'ignore' });
      children.push(child);
      if (child.pid === undefined) throw new Error(`spawning ${exe}: no pid`);
      return child.pid;
    };
    appPid = start(cartExe);
    proxyPid = start(envoy);
    sandbox.place(V2_ROOT, systemdContainerPath('burstable', cart.metadata.uid, appId), appPid);
    sandbox.place(V2_ROOT, systemdContainerPath('burstable', cart.metadata.uid, proxyId), proxyPid);
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: test',
      'clusters:', `- name: test`, `  cluster:`, `    server: ${api.url}`, '    insecure-skip-tls-verify: true',
      'contexts:', '- name: test', '  context:', '    cluster: test', '    user: test',
      'users:', '- name: test', '  user: {}', '',
    ].join('\n'));
    env = { ...process.env, KUBECONFIG: kubeconfig, MESHPROF_KUBERNETES: 'on', MESHPROF_NODE_NAME: NODE };
  });

  afterAll(async () => {
    try {
      sandbox.cleanup();
    } finally {
      for (const c of children) c.kill('SIGKILL');
      await api?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  async function record(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
    const run = startCli(['record', '-d', '2s', ...args], { ...env, ...extraEnv });
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
  }

  it('labels each process with its pod, namespace, container, service and Istio role', async () => {
    const pprof = join(dir, 'both.pb.gz');
    await record(['--pid', `${appPid},${proxyPid}`, '-o', pprof]);
    const labels = labelsByPid(pprof);
    expect(labels.get(appPid)).toMatchObject({
      k8s_namespace_name: NS, k8s_pod_name: `${RS}-x2x9q`, k8s_container_name: 'cart',
      k8s_deployment_name: 'cart', service_name: 'cart', mesh_role: 'app', container_id: appId,
    });
    expect(labels.get(proxyPid)).toMatchObject({
      k8s_namespace_name: NS, k8s_pod_name: `${RS}-x2x9q`, k8s_container_name: 'istio-proxy', mesh_role: 'sidecar',
    });

    const otlp = join(dir, 'both.otlp.json');
    await record(['--pid', `${appPid},${proxyPid}`, '-o', otlp]);
    const request = JSON.parse(readFileSync(otlp, 'utf8')) as {
      resourceProfiles: { resource: { attributes: { key: string; value: { stringValue?: string; intValue?: string } }[] } }[];
    };
    const resources = request.resourceProfiles.map((rp) =>
      Object.fromEntries(rp.resource.attributes.map((a) => [a.key, a.value.stringValue ?? a.value.intValue])));
    const app = resources.find((r) => r['process.pid'] === String(appPid));
    expect(app).toMatchObject({ 'k8s.pod.name': `${RS}-x2x9q`, 'k8s.namespace.name': NS, 'k8s.container.name': 'cart', 'service.name': 'cart', 'mesh.role': 'app' });
    const proxy = resources.find((r) => r['process.pid'] === String(proxyPid));
    expect(proxy).toMatchObject({ 'k8s.container.name': 'istio-proxy', 'mesh.role': 'sidecar' });
  });

  it('a sidecar-only selection keeps every other process out of the kernel filter', async () => {
    const pprof = join(dir, 'sidecar.pb.gz');
    await record(['--all', '-o', pprof], { MESHPROF_TARGET_ROLES: 'sidecar' });
    const pids = [...labelsByPid(pprof).keys()];
    expect(pids).toEqual([proxyPid]);
  });
});
