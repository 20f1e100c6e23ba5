/**
 * Whether to talk to Kubernetes, and the KubeConfig to do it with.
 *
 * @kubernetes/client-node is a heavy module: only type imports of it are
 * allowed here, and loadKubeConfig imports it when a cluster is configured,
 * so `meshprof check` and `record` without a cluster never load it.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';

/** MESHPROF_KUBERNETES: auto detects a cluster, on requires one, off never watches. */
export type KubernetesMode = 'auto' | 'on' | 'off';

type Env = Readonly<Record<string, string | undefined>>;

const set = (v: string | undefined): boolean => v !== undefined && v.trim() !== '';

/**
 * auto is on in a pod (KUBERNETES_SERVICE_HOST) or with a kubeconfig file
 * (KUBECONFIG, else ~/.kube/config), as kubectl would find one.
 */
export function kubernetesEnabled(mode: KubernetesMode, env: Env = process.env): boolean {
  if (mode !== 'auto') return mode === 'on';
  if (set(env['KUBERNETES_SERVICE_HOST'])) return true;
  if (set(env['KUBECONFIG'])) return true;
  return existsSync(join(env['HOME'] ?? homedir(), '.kube', 'config'));
}

/**
 * In-cluster config in a pod (decided from `env`), else client-node's default
 * chain, which reads process.env.KUBECONFIG and then ~/.kube/config as kubectl does.
 * Loads @kubernetes/client-node on first use.
 */
export async function loadKubeConfig(env: Env = process.env): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    if (set(env['KUBERNETES_SERVICE_HOST'])) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (err) {
    throw new Error(`loading kubernetes config: ${(err as Error).message}`);
  }
  return kc;
}
