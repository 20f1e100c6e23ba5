/**
 * @kubernetes/client-node is a heavy module: the CLI must load it only when a
 * cluster is configured (KUBECONFIG, a pod's service account, ~/.kube/config,
 * MESHPROF_KUBERNETES=on). Runs bin/meshprof.js as users do, with a module
 * resolution hook that logs every URL the process resolves, and looks for the
 * client's files in that log. Needs root for `record` (CI runs as root); never skipped.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKubeApi, type FakeKubeApi } from '../helpers/start-fake-kube-api.js';
import { NODE } from '../helpers/k8s-objects.js';
import { cliPath } from '../helpers/start-cli.js';
import { loadedModules } from '../helpers/bundle-modules.js';
import { writeResolveLogHooks } from '../helpers/resolve-log.js';


const KUBE_CLIENT = '/node_modules/@kubernetes/client-node/';

interface Run {
  readonly code: number | null;
  readonly stderr: string;
  /** Every module URL the CLI process resolved, in order. */
  readonly resolved: readonly string[];
}

describe('the Kubernetes client is loaded only with a cluster configured', () => {
  let dir: string;
  let home: string;
  let register: string;
  let api: FakeKubeApi;
  let kubeconfig: string;
  let runs = 0;

  /** The environment without any cluster: no KUBECONFIG, no pod, an empty HOME. */
  function baseEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (k === 'KUBECONFIG' || k.startsWith('KUBERNETES_') || k.startsWith('MESHPROF_')) continue;
      env[k] = v;
    }
    env['HOME'] = home;
    return env;
  }

  async function cli(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
    const log = join(dir, `resolved-${++runs}.log`);
    writeFileSync(log, '');
    const child = spawn('node', ['--import', register, cliPath, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...baseEnv(), ...extraEnv, MESHPROF_TEST_RESOLVED_LOG: log },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, stderr, resolved: readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') };
  }

  // The CLI runs from dist/bundle when built: a module is loaded when its bundle file is.
  const loaded = (run: Run, module: string): boolean => loadedModules(run.resolved).has(module);

  beforeAll(async () => {
    expect(process.getuid?.(), 'meshprof record needs root').toBe(0);
    dir = mkdtempSync(join(tmpdir(), 'meshprof-kube-lazy-'));
    home = join(dir, 'home');
    mkdirSync(home);
    register = writeResolveLogHooks(dir);
    api = await startFakeKubeApi();
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: test',
      'clusters:', '- name: test', '  cluster:', `    server: ${api.url}`, '    insecure-skip-tls-verify: true',
      'contexts:', '- name: test', '  context:', '    cluster: test', '    user: test',
      'users:', '- name: test', '  user: {}', '',
    ].join('\n'));
  });

  afterAll(async () => {
    await api?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('check does not load it', async () => {
    const run = await cli(['check']);
    // The hook saw the CLI load, so an absent client is a real absence.
    expect(loaded(run, 'dist/src/cli/check-command.js'), run.stderr).toBe(true);
    expect(run.resolved.find((u) => u.includes(KUBE_CLIENT))).toBeUndefined();
  });

  it('record --pid without a cluster runs discovery but does not load it', async () => {
    const run = await cli(['record', '--pid', String(process.pid), '-d', '500ms', '-o', join(dir, 'none.folded')]);
    expect(run.code, run.stderr).toBe(0);
    expect(loaded(run, 'dist/src/discovery/discovery.js')).toBe(true);
    expect(run.resolved.find((u) => u.includes(KUBE_CLIENT))).toBeUndefined();
  });

  it('record --pid with KUBECONFIG loads it and lists the node\'s pods', async () => {
    const before = api.requests.length;
    const run = await cli(['record', '--pid', String(process.pid), '-d', '500ms', '-o', join(dir, 'kube.folded')], {
      KUBECONFIG: kubeconfig,
      MESHPROF_NODE_NAME: NODE,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.resolved.some((u) => u.includes(`${KUBE_CLIENT}dist/index.js`))).toBe(true);
    const requests = api.requests.slice(before);
    expect(requests.some((r) => r.startsWith('/api/v1/pods?') && r.includes(`spec.nodeName%3D${NODE}`)), requests.join('\n')).toBe(true);
  });
});
