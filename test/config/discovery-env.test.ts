import { describe, expect, it } from 'vitest';
import { discoveryConfigFromEnv } from '../../src/config/discovery-env.js';
import { settingsList } from '../helpers/settings-list.js';

describe('discoveryConfigFromEnv', () => {
  it('defaults, with blank values counting as unset', () => {
    const c = discoveryConfigFromEnv({ MESHPROF_HOST_PROC: '  ', MESHPROF_NODE_NAME: '', MESHPROF_TARGET_PIDS: ' ' });
    expect(c).toMatchObject({ procRoot: '/proc', kubernetes: 'auto', nodeName: undefined, watchNamespaces: [], readEnviron: true });
    expect(c.rules.include.pids).toBeUndefined();
  });

  it('reads every target and exclude variable', () => {
    const c = discoveryConfigFromEnv({
      MESHPROF_HOST_PROC: '/host/proc',
      MESHPROF_KUBERNETES: 'on',
      MESHPROF_NODE_NAME: 'worker-1',
      MESHPROF_TARGET_NAMESPACES: 'shop, pay',
      MESHPROF_TARGET_LABELS: 'app=cart,env in (prod,staging)',
      MESHPROF_TARGET_CONTAINERS: 'istio-proxy',
      MESHPROF_TARGET_EXE: 'envoy,/^java$/i',
      MESHPROF_TARGET_PIDS: '1,22',
      MESHPROF_TARGET_ROLES: 'sidecar,ztunnel',
      MESHPROF_EXCLUDE_NAMESPACES: 'kube-system',
      MESHPROF_EXCLUDE_LABELS: '!canary',
      MESHPROF_EXCLUDE_CONTAINERS: 'debug',
      MESHPROF_EXCLUDE_EXE: 'pilot-agent',
      MESHPROF_EXCLUDE_PIDS: '7',
      MESHPROF_EXCLUDE_ROLES: 'app',
    });
    expect(c.procRoot).toBe('/host/proc');
    expect(c.kubernetes).toBe('on');
    expect(c.nodeName).toBe('worker-1');
    expect(c.watchNamespaces).toEqual(['shop', 'pay']);
    const inc = c.rules.include;
    expect(inc.namespaces).toEqual(['shop', 'pay']);
    expect(inc.labels?.matches({ app: 'cart', env: 'prod' })).toBe(true);
    expect(inc.labels?.matches({ app: 'cart', env: 'dev' })).toBe(false);
    expect(inc.containers).toEqual(['istio-proxy']);
    expect(inc.exe?.[0]).toBe('envoy');
    expect((inc.exe?.[1] as RegExp).test('JAVA')).toBe(true);
    expect(inc.pids).toEqual([1, 22]);
    expect(inc.roles).toEqual(['sidecar', 'ztunnel']);
    const exc = c.rules.exclude;
    expect(exc).toMatchObject({ namespaces: ['kube-system'], containers: ['debug'], exe: ['pilot-agent'], pids: [7], roles: ['app'] });
    expect(exc.labels?.matches({ canary: 'true' })).toBe(false);
  });

  it('takes an absolute path as that executable, not as a regex with flags', () => {
    const exe = discoveryConfigFromEnv({ MESHPROF_TARGET_EXE: '/tmp/p13/spin,/usr/local/bin/envoy' }).rules.include.exe ?? [];
    const [spin, envoy] = exe as RegExp[];
    expect(spin?.test('/tmp/p13/spin')).toBe(true);
    expect(spin?.test('/tmp/p13/spinner')).toBe(false);
    expect(spin?.test('spin')).toBe(false);
    expect(envoy?.test('/usr/local/bin/envoy')).toBe(true);
  });

  it('reads the boolean words, and on/off for MESHPROF_KUBERNETES in any of them', () => {
    expect(discoveryConfigFromEnv({ MESHPROF_READ_ENVIRON: 'no' }).readEnviron).toBe(false);
    expect(discoveryConfigFromEnv({ MESHPROF_READ_ENVIRON: 'On' }).readEnviron).toBe(true);
    expect(discoveryConfigFromEnv({ MESHPROF_KUBERNETES: 'true' }).kubernetes).toBe('on');
    expect(discoveryConfigFromEnv({ MESHPROF_KUBERNETES: '0' }).kubernetes).toBe('off');
    expect(discoveryConfigFromEnv({ MESHPROF_KUBERNETES: 'off' }).kubernetes).toBe('off');
    expect(discoveryConfigFromEnv({ MESHPROF_KUBERNETES: 'Auto' }).kubernetes).toBe('auto');
  });

  it('names the variable in validation errors', () => {
    expect(() => discoveryConfigFromEnv({ MESHPROF_KUBERNETES: 'maybe' })).toThrow(/^reading MESHPROF_KUBERNETES: "maybe"/);
    expect(() => discoveryConfigFromEnv({ MESHPROF_TARGET_PIDS: '12,abc' })).toThrow(/^reading MESHPROF_TARGET_PIDS: "abc"/);
    expect(() => discoveryConfigFromEnv({ MESHPROF_EXCLUDE_ROLES: 'gateway' })).toThrow(/^reading MESHPROF_EXCLUDE_ROLES: "gateway" is not one of sidecar, app, ztunnel/);
    expect(() => discoveryConfigFromEnv({ MESHPROF_TARGET_LABELS: 'env in ()' })).toThrow(/^reading MESHPROF_TARGET_LABELS: parsing label selector/);
    expect(() => discoveryConfigFromEnv({ MESHPROF_EXCLUDE_EXE: '/[/' })).toThrow(/^reading MESHPROF_EXCLUDE_EXE: /);
    expect(() => discoveryConfigFromEnv({ MESHPROF_READ_ENVIRON: 'maybe' })).toThrow(/^MESHPROF_READ_ENVIRON=maybe: not a boolean/);
  });

  it('lists every bad variable at once, one line each', () => {
    expect(() => discoveryConfigFromEnv({ MESHPROF_KUBERNETES: 'maybe', MESHPROF_TARGET_PIDS: 'x,y', MESHPROF_EXCLUDE_ROLES: 'gateway' })).toThrow(settingsList(
      'reading MESHPROF_KUBERNETES: "maybe" is not one of auto, on, off',
      'reading MESHPROF_TARGET_PIDS: "x" is not a process id',
      'reading MESHPROF_EXCLUDE_ROLES: "gateway" is not one of sidecar, app, ztunnel',
    ));
  });
});
