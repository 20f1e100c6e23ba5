import { readFileSync } from 'node:fs';
import {
  loadAllYaml,
  type KubernetesObject,
  type V1ClusterRole,
  type V1ClusterRoleBinding,
  type V1DaemonSet,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { discoveryConfigFromEnv } from '../../src/config/discovery-env.js';

const docs = loadAllYaml(readFileSync(new URL('../../deploy/meshprof-daemonset.yaml', import.meta.url), 'utf8')) as KubernetesObject[];
const find = <T>(kind: string): T => {
  const d = docs.find((o) => o.kind === kind);
  if (d === undefined) throw new Error(`no ${kind} in the manifest`);
  return d as T;
};

describe('deploy/meshprof-daemonset.yaml', () => {
  it('grants read-only get/list/watch on pods, services and replicasets to the agent', () => {
    const role = find<V1ClusterRole>('ClusterRole');
    const grants = (role.rules ?? []).flatMap((r) => (r.resources ?? []).map((res) => [`${r.apiGroups?.[0]}/${res}`, [...(r.verbs ?? [])].sort()]));
    expect(Object.fromEntries(grants)).toEqual({
      '/pods': ['get', 'list', 'watch'],
      '/services': ['get', 'list', 'watch'],
      'apps/replicasets': ['get', 'list', 'watch'],
    });
    const binding = find<V1ClusterRoleBinding>('ClusterRoleBinding');
    const ds = find<V1DaemonSet>('DaemonSet');
    expect(binding.roleRef.name).toBe(role.metadata?.name);
    expect(binding.subjects?.[0]).toMatchObject({ kind: 'ServiceAccount', name: ds.spec?.template.spec?.serviceAccountName, namespace: ds.metadata?.namespace });
  });

  it('runs privileged with the host PID namespace and the host /proc where MESHPROF_HOST_PROC points', () => {
    const spec = find<V1DaemonSet>('DaemonSet').spec?.template.spec;
    expect(spec?.hostPID).toBe(true);
    const c = spec?.containers[0];
    expect(c?.securityContext?.privileged).toBe(true);
    const env = Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value]));
    const nodeRef = c?.env?.find((e) => e.name === 'MESHPROF_NODE_NAME')?.valueFrom?.fieldRef?.fieldPath;
    expect(nodeRef).toBe('spec.nodeName');
    const mount = c?.volumeMounts?.find((m) => m.mountPath === env['MESHPROF_HOST_PROC']);
    expect(spec?.volumes?.find((v) => v.name === mount?.name)?.hostPath?.path).toBe('/proc');
    // The env block must be valid configuration as it stands.
    const config = discoveryConfigFromEnv({ ...env, MESHPROF_NODE_NAME: 'node-a' });
    expect(config).toMatchObject({ procRoot: '/host/proc', kubernetes: 'on', nodeName: 'node-a' });
    expect(config.rules.exclude.namespaces).toEqual(['kube-system', 'meshprof']);
  });
});
