import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kubernetesEnabled, loadKubeConfig } from '../../src/discovery/kube-config.js';

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'meshprof-home-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: dev
  cluster:
    server: https://10.1.2.3:6443
    insecure-skip-tls-verify: true
users:
- name: dev-user
  user:
    token: not-a-secret
contexts:
- name: dev
  context:
    cluster: dev
    user: dev-user
current-context: dev
`;

describe('kubernetesEnabled', () => {
  it('follows on/off, and detects a pod or a kubeconfig in auto', () => {
    expect(kubernetesEnabled('on', { HOME: home })).toBe(true);
    expect(kubernetesEnabled('off', { HOME: home, KUBERNETES_SERVICE_HOST: '10.96.0.1' })).toBe(false);
    expect(kubernetesEnabled('auto', { HOME: home })).toBe(false);
    expect(kubernetesEnabled('auto', { HOME: home, KUBERNETES_SERVICE_HOST: ' ' })).toBe(false);
    expect(kubernetesEnabled('auto', { HOME: home, KUBERNETES_SERVICE_HOST: '10.96.0.1' })).toBe(true);
    expect(kubernetesEnabled('auto', { HOME: home, KUBECONFIG: '/x/config' })).toBe(true);
  });
});

describe('loadKubeConfig', () => {
  it('honours KUBECONFIG outside a pod', async () => {
    const file = join(home, 'kc.yaml');
    writeFileSync(file, KUBECONFIG);
    const saved = process.env['KUBECONFIG'];
    process.env['KUBECONFIG'] = file;
    try {
      const kc = await loadKubeConfig({ HOME: home, KUBECONFIG: file });
      expect(kc.getCurrentCluster()?.server).toBe('https://10.1.2.3:6443');
      expect(kc.getCurrentUser()?.name).toBe('dev-user');
    } finally {
      if (saved === undefined) delete process.env['KUBECONFIG'];
      else process.env['KUBECONFIG'] = saved;
    }
  });
});
