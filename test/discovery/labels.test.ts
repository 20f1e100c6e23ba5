/**
 * Labels: attribute names checked against @opentelemetry/semantic-conventions,
 * pod labels/annotations and the cluster name on request, Prometheus-style
 * relabelling, and the same labels in Pyroscope series.
 */
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import * as semconv from '@opentelemetry/semantic-conventions/incubating';
import { describe, expect, it } from 'vitest';
import { readPodAttributeEnv, readRelabelEnv } from '../../src/config/labels-env.js';
import { summarizePod, type PodLookups } from '../../src/discovery/pod-summary.js';
import { relabelAttributes } from '../../src/discovery/relabel.js';
import { containerAttributes } from '../../src/discovery/resource-attributes.js';
import { buildOtlpResource } from '../../src/encode/otlp-resource.js';
import { pyroscopeLabels } from '../../src/export/pyroscope-serializer.js';
import type { Profile } from '../../src/profile/model.js';
import { relabelProfile, RELABEL_DROPPED } from '../../src/profile/relabel-profile.js';
import { containerId, injectedPod, replicaSet, service } from '../helpers/k8s-objects.js';

/** Every attribute name the semantic conventions define (stable and incubating). */
const conventions: ReadonlySet<string> = new Set(Object.entries(semconv).flatMap(([k, v]) => (k.startsWith('ATTR_') && typeof v === 'string' ? [v] : [])));

/** meshprof's own attributes, documented in docs/configuration.md ("Resource attributes"). */
const OWN = new Set(['mesh.role', 'istio.canonical_service', 'istio.canonical_revision']);

const lookups: PodLookups = {
  replicaSet: () => replicaSet('cart-7d9f8b6c5d', 'shop', 'cart') as unknown as ReturnType<PodLookups['replicaSet']>,
  services: () => [service('cart', 'shop', { app: 'cart' }) as unknown as V1Service],
};

function sidecarAndApp(): ReturnType<typeof containerAttributes>[] {
  const [app, proxy] = [containerId(), containerId()];
  const p = injectedPod('cart-7d9f8b6c5d-x2x9q', 'shop', app, proxy, 'cart-7d9f8b6c5d');
  (p.metadata as { annotations?: Record<string, string> }).annotations = { ...(p.metadata as { annotations?: Record<string, string> }).annotations, 'team.example.com/owner': 'payments' };
  const s = summarizePod(p as unknown as V1Pod, lookups)!;
  const options = readPodAttributeEnv({ MESHPROF_POD_LABELS: 'app, security.istio.io/tlsMode, missing', MESHPROF_POD_ANNOTATIONS: 'team.example.com/owner', MESHPROF_CLUSTER_NAME: 'prod-eu' });
  return s.containers.map((c) => containerAttributes({ ...c, pod: s }, 'node-a', options));
}

describe('resource attributes', () => {
  it('are semantic-convention names, or meshprof\'s own documented few', () => {
    const names = new Set(sidecarAndApp().flatMap((a) => Object.keys(a)));
    const unknown = [...names].filter((n) => !conventions.has(n) && !OWN.has(n) && !n.startsWith('k8s.pod.label.') && !n.startsWith('k8s.pod.annotation.'));
    expect(unknown).toEqual([]);
    // The list-typed image tags, not the singular name the conventions do not have.
    expect(names.has(semconv.ATTR_CONTAINER_IMAGE_TAGS)).toBe(true);
    expect(conventions.has('container.image.tag')).toBe(false);
  });

  it('copies the pod labels and annotations asked for, and the cluster name', () => {
    const [app] = sidecarAndApp();
    expect(app).toMatchObject({
      [semconv.ATTR_K8S_POD_LABEL('app')]: 'cart',
      'k8s.pod.label.security.istio.io/tlsMode': 'istio',
      [semconv.ATTR_K8S_POD_ANNOTATION('team.example.com/owner')]: 'payments',
      [semconv.ATTR_K8S_CLUSTER_NAME]: 'prod-eu',
    });
    expect(Object.keys(app!).filter((k) => k.startsWith('k8s.pod.label.'))).toEqual(['k8s.pod.label.app', 'k8s.pod.label.security.istio.io/tlsMode']);
    // Nothing copied when nothing is asked for.
    const plain = containerAttributes({ ...summarizePod(injectedPod('a-1-x', 'shop', containerId(), containerId(), 'a-1') as unknown as V1Pod, lookups)!.containers[0]!, pod: summarizePod(injectedPod('a-1-x', 'shop', containerId(), containerId(), 'a-1') as unknown as V1Pod, lookups)! }, 'node-a');
    expect(Object.keys(plain).filter((k) => k.startsWith('k8s.pod.') && !['k8s.pod.name', 'k8s.pod.uid', 'k8s.pod.ip'].includes(k))).toEqual([]);
    expect(plain['k8s.cluster.name']).toBeUndefined();
  });

  it('encodes container.image.tags as an OTLP string list', () => {
    const resource = buildOtlpResource({ pid: 7, name: 'x', attributes: { 'container.image.tags': '2.3.1', 'k8s.pod.name': 'p' } }, {});
    const tags = resource.attributes.find((a) => a.key === 'container.image.tags')?.value?.value;
    expect(tags?.case).toBe('arrayValue');
    expect(tags?.case === 'arrayValue' ? tags.value.values.map((v) => v.value.value) : []).toEqual(['2.3.1']);
    expect(resource.attributes.find((a) => a.key === 'k8s.pod.name')?.value?.value).toEqual({ case: 'stringValue', value: 'p' });
  });
});

describe('relabelling (MESHPROF_RELABEL)', () => {
  const attrs = { 'k8s.namespace.name': 'shop-prod', 'k8s.pod.name': 'cart-1', 'service.name': 'cart', 'k8s.pod.label.team': 'a' };

  it('replaces with groups, drops and keeps by anchored regex, and drops or keeps labels', () => {
    const rules = readRelabelEnv({ MESHPROF_RELABEL: JSON.stringify([
      { action: 'replace', source_labels: ['k8s.namespace.name'], regex: '(.*)-(prod|dev)', target_label: 'deployment.environment.name', replacement: '$2' },
      { source_labels: ['service.name', 'k8s.pod.name'], separator: '/', regex: '(.+)/(.+)', target_label: 'app.id', replacement: '${1}@${2}' },
      { action: 'labeldrop', regex: 'k8s\\.pod\\.label\\..*' },
    ]) });
    expect(relabelAttributes(attrs, rules)).toEqual({
      'k8s.namespace.name': 'shop-prod', 'k8s.pod.name': 'cart-1', 'service.name': 'cart',
      'deployment.environment.name': 'prod', 'app.id': 'cart@cart-1',
    });
    // Anchored: "shop" alone does not match "sho".
    const drop = readRelabelEnv({ MESHPROF_RELABEL: '[{"action":"drop","source_labels":["k8s.namespace.name"],"regex":"sho"}]' });
    expect(relabelAttributes(attrs, drop)).toEqual(attrs);
    const dropShop = readRelabelEnv({ MESHPROF_RELABEL: '[{"action":"drop","source_labels":["k8s.namespace.name"],"regex":"shop-.*"}]' });
    expect(relabelAttributes(attrs, dropShop)).toBeUndefined();
    const keepKube = readRelabelEnv({ MESHPROF_RELABEL: '[{"action":"keep","source_labels":["k8s.namespace.name"],"regex":"kube-.*"}]' });
    expect(relabelAttributes(attrs, keepKube)).toBeUndefined();
    const keepLabels = readRelabelEnv({ MESHPROF_RELABEL: '[{"action":"labelkeep","regex":"service\\\\.name|k8s\\\\.pod\\\\.name"}]' });
    expect(relabelAttributes(attrs, keepLabels)).toEqual({ 'k8s.pod.name': 'cart-1', 'service.name': 'cart' });
    // An empty replacement removes the target.
    const clear = readRelabelEnv({ MESHPROF_RELABEL: '[{"source_labels":["service.name"],"target_label":"k8s.pod.name","replacement":""}]' });
    expect(relabelAttributes(attrs, clear)?.['k8s.pod.name']).toBeUndefined();
  });

  it('drops the samples of dropped processes from a profile and counts them', () => {
    const profile: Profile = {
      sampleTypes: [{ type: 'samples', unit: 'count' }], periodType: { type: 'cpu', unit: 'nanoseconds' }, period: 1, startTimeNs: 0n, durationNs: 1n,
      samples: [{ pid: 1, tid: 1, threadName: 'a', frames: [], values: [5] }, { pid: 2, tid: 2, threadName: 'b', frames: [], values: [3] }],
      processes: new Map([[1, { pid: 1, name: 'a', attributes: { 'k8s.namespace.name': 'kube-system' } }], [2, { pid: 2, name: 'b', attributes: { 'k8s.namespace.name': 'shop' } }]]),
      drops: {},
    };
    const out = relabelProfile(profile, readRelabelEnv({ MESHPROF_RELABEL: '[{"action":"drop","source_labels":["k8s.namespace.name"],"regex":"kube-.*"}]' }));
    expect(out.samples.map((s) => s.pid)).toEqual([2]);
    expect([...out.processes.keys()]).toEqual([2]);
    expect(out.drops[RELABEL_DROPPED]).toBe(5);
    expect(relabelProfile(profile, [])).toBe(profile);
  });

  it('names the variable and the rule when one is wrong', () => {
    expect(() => readRelabelEnv({ MESHPROF_RELABEL: 'drop kube-*' })).toThrow('MESHPROF_RELABEL: not JSON');
    expect(() => readRelabelEnv({ MESHPROF_RELABEL: '[{"action":"hashmod","source_labels":["a"]}]' })).toThrow('MESHPROF_RELABEL: rule 1: action "hashmod" is not one of replace, keep, drop, labeldrop, labelkeep');
    expect(() => readRelabelEnv({ MESHPROF_RELABEL: '[{"action":"keep","source_labels":["a"]},{"source_labels":["a"],"regex":"("}]' })).toThrow(/rule 2: (replace needs a target_label|regex)/);
  });
});

describe('Pyroscope series labels', () => {
  it('carry the same attributes, OTEL_RESOURCE_ATTRIBUTES included, but no per-process ids', () => {
    const [app] = sidecarAndApp();
    const labels = pyroscopeLabels(
      { sampleTypes: [{ type: 'cpu', unit: 'nanoseconds' }] } as unknown as Profile,
      { pid: 42, name: 'cart', attributes: { ...app!, 'process.pid': '42' } },
      { resourceAttributes: { 'deployment.environment.name': 'prod', 'k8s.cluster.name': 'from-env' } },
    );
    const byName = Object.fromEntries(labels.map((l) => [l.name, l.value]));
    expect(byName).toMatchObject({
      __name__: 'process_cpu', service_name: 'cart', namespace: 'shop', pod: 'cart-7d9f8b6c5d-x2x9q', container: 'cart',
      deployment_environment_name: 'prod',
      // The process's own value wins over OTEL_RESOURCE_ATTRIBUTES, as in OTLP.
      k8s_cluster_name: 'prod-eu',
      k8s_pod_label_app: 'cart',
      k8s_pod_annotation_team_example_com_owner: 'payments',
      k8s_deployment_name: 'cart',
    });
    for (const id of ['process_pid', 'container_id', 'k8s_pod_uid', 'service_instance_id', 'k8s_namespace_name']) expect(byName[id], id).toBeUndefined();
    expect(labels.every((l) => /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l.name))).toBe(true);
  });
});
