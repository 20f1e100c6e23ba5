import { describe, expect, it } from 'vitest';
import { parseCgroupPath } from '../../src/discovery/cgroup-path.js';
import { parseLabelSelector } from '../../src/discovery/label-selector.js';
import type { MeshRole } from '../../src/discovery/mesh-role.js';
import type { ProcessIdentity } from '../../src/discovery/process-describer.js';
import type { PodSummary } from '../../src/discovery/pod-summary.js';
import { isTarget, selectsEverything, type TargetRules } from '../../src/discovery/target-rules.js';

function proc(pid: number, exe: string, pod?: { ns: string; container: string; role?: MeshRole; labels?: Record<string, string> }): ProcessIdentity {
  const facts = { pid, startTime: '1', comm: exe.slice(0, 15), exePath: `/usr/local/bin/${exe}`, exeName: exe, cgroup: parseCgroupPath('/'), firstSeenMs: 0 };
  if (pod === undefined) return { facts, container: undefined, pod: undefined, role: undefined };
  const summary: PodSummary = {
    uid: `uid-${pid}`, name: `pod-${pid}`, namespace: pod.ns, nodeName: 'n', labels: pod.labels ?? {}, annotations: {},
    owners: {}, owner: undefined, services: [], containers: [], qosClass: undefined,
  };
  return { facts, container: { containerId: 'x', name: pod.container, image: 'i', role: pod.role, pod: summary }, pod: summary, role: pod.role };
}

const shopProxy = proc(10, 'envoy', { ns: 'shop', container: 'istio-proxy', role: 'sidecar', labels: { app: 'cart' } });
const shopApp = proc(11, 'cart', { ns: 'shop', container: 'cart', role: 'app', labels: { app: 'cart', tier: 'web' } });
const otherProxy = proc(12, 'envoy', { ns: 'pay', container: 'istio-proxy', role: 'sidecar', labels: { app: 'pay' } });
const ztunnel = proc(13, 'ztunnel', { ns: 'istio-system', container: 'istio-proxy', role: 'ztunnel', labels: { app: 'ztunnel' } });
const host = proc(14, 'sshd');
const all = [shopProxy, shopApp, otherProxy, ztunnel, host];

const pick = (rules: TargetRules): number[] => all.filter((p) => isTarget(rules, p)).map((p) => p.facts.pid);

describe('target rules', () => {
  it('selects everything without rules', () => {
    expect(selectsEverything({ include: {}, exclude: {} })).toBe(true);
    expect(selectsEverything({ include: { pids: [] }, exclude: { labels: parseLabelSelector('') } })).toBe(true);
    expect(selectsEverything({ include: {}, exclude: { pids: [1] } })).toBe(false);
  });

  it('only istio-proxy containers in namespace shop', () => {
    expect(pick({ include: { namespaces: ['shop'], containers: ['istio-proxy'] }, exclude: {} })).toEqual([10]);
  });

  it('by role, exe name, exe regex on the full path, pid', () => {
    expect(pick({ include: { roles: ['sidecar', 'ztunnel'] }, exclude: {} })).toEqual([10, 12, 13]);
    expect(pick({ include: { exe: ['envoy', 'sshd'] }, exclude: {} })).toEqual([10, 12, 14]);
    expect(pick({ include: { exe: [/^\/usr\/local\/bin\/(cart|ztunnel)$/] }, exclude: {} })).toEqual([11, 13]);
    expect(pick({ include: { pids: [11, 14] }, exclude: {} })).toEqual([11, 14]);
  });

  it('label selectors only match pod processes', () => {
    expect(pick({ include: { labels: parseLabelSelector('app in (cart,pay),tier!=web') }, exclude: {} })).toEqual([10, 12]);
    expect(pick({ include: {}, exclude: { labels: parseLabelSelector('!tier') } })).toEqual([11, 14]);
  });

  it('excludes when any exclude criterion matches', () => {
    expect(pick({ include: {}, exclude: { namespaces: ['istio-system'], exe: ['sshd'] } })).toEqual([10, 11, 12]);
    expect(pick({ include: { roles: ['sidecar'] }, exclude: { namespaces: ['pay'] } })).toEqual([10]);
  });
});
