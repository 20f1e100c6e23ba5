/**
 * deploy/ as `kubectl kustomize` renders it, base and overlays: the DaemonSet
 * is unprivileged with named capabilities, probes and limits; RBAC is
 * read-only; every overlay's environment is valid configuration and selects
 * its backend.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  loadAllYaml,
  type KubernetesObject,
  type V1ClusterRole,
  type V1ClusterRoleBinding,
  type V1DaemonSet,
  type V1EnvVar,
  type V1Namespace,
} from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveMeshprofEnv } from '../../src/config/meshprof-env.js';
import { toolSkipReason } from '../helpers/bpf-prerequisites.js';

const root = new URL('../../', import.meta.url).pathname;
const kubectl = process.env.KUBECTL ?? '/usr/bin/kubectl';
const missing = toolSkipReason([kubectl], 'needs kubectl (kubectl kustomize renders deploy/; scripts/setup.sh --test installs kubernetes-client)');

function render(dir: string): KubernetesObject[] {
  return loadAllYaml(execFileSync(kubectl, ['kustomize', `${root}${dir}`], { encoding: 'utf8' })) as KubernetesObject[];
}

function find<T>(docs: readonly KubernetesObject[], kind: string): T {
  const d = docs.find((o) => o.kind === kind);
  if (d === undefined) throw new Error(`no ${kind} in the rendered manifests`);
  return d as T;
}

/** The container's environment as the kubelet would give it on node-a (10.0.0.7), $(VAR) expanded. */
function containerEnv(env: readonly V1EnvVar[]): Record<string, string> {
  const fields: Record<string, string> = { 'spec.nodeName': 'node-a', 'status.hostIP': '10.0.0.7' };
  const out: Record<string, string> = {};
  for (const e of env) {
    const raw = e.value ?? fields[e.valueFrom?.fieldRef?.fieldPath ?? ''] ?? '';
    out[e.name] = raw.replace(/\$\(([A-Z_]+)\)/g, (_, name: string) => out[name] ?? `$(${name})`);
  }
  return out;
}

/** The capabilities `npm run image:test` grants by default: what the image was measured with. */
const imageTestCaps = /^CAPS=\$\{CAPS:-([A-Z_,]+)\}$/m.exec(readFileSync(`${root}scripts/image-test.sh`, 'utf8'))?.[1]?.split(',');

describe('deploy/ rendered by kubectl kustomize', () => {
  let base: KubernetesObject[] = [];
  // A missing kubectl fails the tests with the reason instead of skipping them.
  beforeAll(() => {
    if (missing !== undefined) throw new Error(`cannot render deploy/: ${missing}`);
    base = render('deploy');
  });

  it('runs the agent unprivileged: hostPID, named capabilities only, read-only root and host mounts, no priority class', () => {
    const spec = find<V1DaemonSet>(base, 'DaemonSet').spec?.template.spec;
    expect(spec?.hostPID).toBe(true);
    expect(spec?.hostNetwork).toBeFalsy();
    expect(spec?.priorityClassName).toBeUndefined();
    const c = spec!.containers[0]!;
    const sc = c.securityContext!;
    expect(sc.privileged).not.toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.capabilities?.drop).toEqual(['ALL']);
    expect(sc.capabilities?.add).toEqual(['BPF', 'PERFMON', 'SYS_PTRACE', 'SYSLOG']);
    // The image test runs the image with exactly these.
    expect(imageTestCaps).toEqual(sc.capabilities?.add);
    for (const m of c.volumeMounts ?? []) {
      const hostPath = spec?.volumes?.find((v) => v.name === m.name)?.hostPath;
      if (hostPath !== undefined) expect(m.readOnly, `${m.mountPath} from the host`).toBe(true);
    }
    const ns = find<V1Namespace>(base, 'Namespace');
    expect(ns.metadata?.labels?.['istio-injection']).toBe('disabled');
  });

  it('probes /healthz and /readyz on the metrics port, and sets requests and limits', () => {
    const c = find<V1DaemonSet>(base, 'DaemonSet').spec!.template.spec!.containers[0]!;
    const env = containerEnv(c.env ?? []);
    const port = c.ports?.find((p) => p.name === 'metrics');
    expect(env.MESHPROF_METRICS_ADDR).toBe(`0.0.0.0:${port?.containerPort}`);
    expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'metrics' });
    expect(c.resources?.requests).toMatchObject({ cpu: '50m', memory: '192Mi' });
    expect(c.resources?.limits).toMatchObject({ memory: '512Mi' });
  });

  it('grants read-only get/list/watch on pods, services and replicasets to the agent', () => {
    const role = find<V1ClusterRole>(base, 'ClusterRole');
    const grants = (role.rules ?? []).flatMap((r) => (r.resources ?? []).map((res) => [`${r.apiGroups?.[0]}/${res}`, [...(r.verbs ?? [])].sort()]));
    expect(Object.fromEntries(grants)).toEqual({
      '/pods': ['get', 'list', 'watch'],
      '/services': ['get', 'list', 'watch'],
      'apps/replicasets': ['get', 'list', 'watch'],
    });
    const binding = find<V1ClusterRoleBinding>(base, 'ClusterRoleBinding');
    const ds = find<V1DaemonSet>(base, 'DaemonSet');
    expect(binding.roleRef.name).toBe(role.metadata?.name);
    expect(binding.subjects?.[0]).toMatchObject({ kind: 'ServiceAccount', name: ds.spec?.template.spec?.serviceAccountName, namespace: ds.metadata?.namespace });
  });

  it.each([
    ['deploy', (s: ReturnType<typeof resolveMeshprofEnv>) => expect(s.agent.outputDir).toBe('/var/lib/meshprof/profiles')],
    ['deploy/overlays/otlp-collector', (s: ReturnType<typeof resolveMeshprofEnv>) => {
      expect(s.exporters.otlp).toMatchObject({ endpointExplicit: true, protocol: 'grpc' });
      expect(JSON.stringify(s.exporters.otlp)).toContain('10.0.0.7:4317');
      expect(s.agent.outputDir).toBeUndefined();
    }],
    ['deploy/overlays/pyroscope', (s: ReturnType<typeof resolveMeshprofEnv>) => {
      expect(s.exporters.pyroscope).toBeDefined();
      expect(s.agent.outputDir).toBeUndefined();
    }],
    ['deploy/overlays/skywalking', (s: ReturnType<typeof resolveMeshprofEnv>) => {
      expect(s.skywalking).toMatchObject({ addr: 'skywalking-oap.skywalking.svc.cluster.local:11800', nodeName: 'node-a', hostProcPath: '/host/proc' });
      expect(s.agent.logLevel).toBe('info');
      expect(s.agent.outputDir).toBeUndefined();
    }],
  ])('%s: its environment is valid configuration with the host /proc where MESHPROF_HOST_PROC points', (dir, check) => {
    const docs = render(dir);
    const spec = find<V1DaemonSet>(docs, 'DaemonSet').spec!.template.spec!;
    const c = spec.containers[0]!;
    const env = containerEnv(c.env ?? []);
    const settings = resolveMeshprofEnv(env);
    check(settings);
    expect(settings.discovery).toMatchObject({ procRoot: '/host/proc', kubernetes: 'on', nodeName: 'node-a' });
    expect(settings.discovery.rules.exclude.namespaces).toEqual(['kube-system', 'meshprof']);
    const mount = c.volumeMounts?.find((m) => m.mountPath === env.MESHPROF_HOST_PROC);
    expect(spec.volumes?.find((v) => v.name === mount?.name)?.hostPath?.path).toBe('/proc');
    // Writable paths are volumes: the root filesystem is read-only.
    for (const path of [settings.agent.outputDir, env.MESHPROF_CACHE_DIR].filter((p) => p !== undefined)) {
      expect(c.volumeMounts?.some((m) => (path === m.mountPath || path!.startsWith(`${m.mountPath}/`)) && m.readOnly !== true), path).toBe(true);
    }
    // The privileged escape hatch must not creep back in through an overlay.
    expect(c.securityContext?.privileged).not.toBe(true);
  });
});
