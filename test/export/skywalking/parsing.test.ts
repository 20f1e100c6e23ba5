import { create } from '@bufbuild/protobuf';
import type { V1Pod } from '@kubernetes/client-node';
import { summarizePod } from '../../../src/discovery/pod-summary.js';
import { containerAttributes } from '../../../src/discovery/resource-attributes.js';
import { containerId, pod } from '../../helpers/k8s-objects.js';
import { describe, expect, it } from 'vitest';
import { CommandSchema } from '../../../src/gen/skywalking/common/Command_pb.js';
import { parseProfilingTaskCommand } from '../../../src/export/skywalking/task-command.js';
import { parsePolicyCommand } from '../../../src/export/skywalking/continuous-policy.js';
import { defaultEntityRules, resolveProcessEntity } from '../../../src/export/skywalking/process-entity.js';
import { SampleWindow } from '../../../src/export/skywalking/sample-window.js';
import { parseStatFields } from '../../../src/process/proc-reader.js';
import { otelServiceName } from '../../../src/export/skywalking/procfs-process-source.js';

const command = (name: string, args: Record<string, string>) =>
  create(CommandSchema, { command: name, args: Object.entries(args).map(([key, value]) => ({ key, value })) });

describe('profiling task commands', () => {
  const args = {
    TaskId: 't1',
    ProcessId: 'p1,p2',
    TaskUpdateTime: '1700000000123',
    TriggerType: 'FIXED_TIME',
    TargetType: 'OFF_CPU',
    TaskStartTime: '1700000000000',
    FixedTriggerDuration: '60',
    ExtensionConfigJSON: '',
  };
  it('parses the upstream argument keys', () => {
    expect(parseProfilingTaskCommand(command('EBPFProfilingTaskQuery', args))).toEqual({
      taskId: 't1',
      processIds: ['p1', 'p2'],
      updateTime: 1700000000123,
      startTime: 1700000000000,
      triggerType: 'FIXED_TIME',
      targetType: 'OFF_CPU',
      durationMs: 60_000,
      networkSamplings: [],
    });
  });
  it('rejects malformed tasks with the argument name', () => {
    expect(() => parseProfilingTaskCommand(command('EBPFProfilingTaskQuery', { ...args, TargetType: 'MEMORY' }))).toThrow(/MEMORY/);
    const { FixedTriggerDuration: _, ...noDuration } = args;
    expect(() => parseProfilingTaskCommand(command('EBPFProfilingTaskQuery', noDuration))).toThrow(/FixedTriggerDuration/);
    expect(() => parseProfilingTaskCommand(command('EBPFProfilingTaskQuery', { ...args, TaskStartTime: '12a' }))).toThrow(
      /TaskStartTime/,
    );
  });
});

describe('continuous policies', () => {
  it('parses ServiceWithPolicyJSON and skips invalid items', () => {
    const json = JSON.stringify([
      {
        ServiceName: 'svc',
        UUID: 'u1',
        Profiling: {
          ON_CPU: { PROCESS_CPU: { Threshold: '75', Period: 10, Count: 3 }, SYSTEM_LOAD: { Threshold: '2', Period: 1, Count: 5 } },
          NETWORK: { HTTP_ERROR_RATE: { Threshold: '10', Period: 5, Count: 1, URIRegex: '/api/.*' } },
        },
      },
    ]);
    const { policies, problems } = parsePolicyCommand(command('ContinuousProfilingPolicyQuery', { ServiceWithPolicyJSON: json }));
    expect(policies).toEqual([
      {
        serviceName: 'svc',
        uuid: 'u1',
        targets: [
          { target: 'ON_CPU', items: [{ monitor: 'PROCESS_CPU', threshold: 75, period: 10, count: 3, uriList: [], uriRegex: undefined }] },
          {
            target: 'NETWORK',
            items: [{ monitor: 'HTTP_ERROR_RATE', threshold: 10, period: 5, count: 1, uriList: [], uriRegex: '/api/.*' }],
          },
        ],
      },
    ]);
    expect(problems).toEqual(['svc/ON_CPU/SYSTEM_LOAD: count cannot exceed period']);
    expect(() => parsePolicyCommand(command('ContinuousProfilingPolicyQuery', { ServiceWithPolicyJSON: '{' }))).toThrow(
      /parsing continuous policies/,
    );
  });

  it('fires when at least Count of the last Period samples reach the threshold', () => {
    const w = new SampleWindow();
    for (const v of [90, 10, 10, 80, 10]) w.add(v);
    expect(w.match(4, 2, 50)).toBeUndefined(); // only 80 among the last 4
    expect(w.match(5, 2, 50)).toBe(80);
  });
});

describe('entity rules', () => {
  const rules = defaultEntityRules('10.0.0.1', 'east');
  const pod = {
    'k8s.pod.name': 'reviews-v1-abc',
    'k8s.namespace.name': 'shop',
    'k8s.pod.label.app': 'reviews-app',
    'k8s.pod.label.service.istio.io/canonical-name': 'reviews',
  };
  const meta = (attributes: Record<string, string>, exe = '/usr/local/bin/envoy') => ({
    pid: 10,
    name: 'x',
    executablePath: exe,
    attributes,
  });

  it('follows Rover: MESH_DP for istio-proxy, MESH for its neighbours, K8S_SERVICE otherwise', () => {
    expect(resolveProcessEntity(meta({ ...pod, 'k8s.container.name': 'istio-proxy' }), rules)).toEqual({
      layer: 'MESH_DP',
      serviceName: 'east::reviews.shop',
      instanceName: 'reviews-v1-abc',
      processName: 'envoy',
      labels: ['mesh-envoy'],
    });
    expect(
      resolveProcessEntity(meta({ ...pod, 'k8s.container.name': 'reviews', 'mesh.role': 'application' }, '/app/java'), rules),
    ).toMatchObject({ layer: 'MESH', serviceName: 'east::reviews.shop', processName: 'java' });
    const plain = { 'k8s.pod.name': 'db-0', 'k8s.namespace.name': 'data', 'k8s.container.name': 'pg' };
    expect(resolveProcessEntity(meta({ ...plain, 'k8s.service.name': 'postgres' }, '/usr/bin/postgres'), rules)).toMatchObject({
      layer: 'K8S_SERVICE',
      serviceName: 'east::postgres.data',
      instanceName: 'db-0',
    });
    expect(resolveProcessEntity(meta(plain), rules)).toBeUndefined();
  });

  it('uses app.kubernetes.io/name, then app, when the canonical name is missing', () => {
    const { ['k8s.pod.label.service.istio.io/canonical-name']: _, ...rest } = pod;
    const e = resolveProcessEntity(meta({ ...rest, 'k8s.container.name': 'istio-proxy' }), defaultEntityRules('h'));
    expect(e?.serviceName).toBe('reviews-app.shop');
  });

  it('reports host processes as OS_LINUX, named by OTEL_SERVICE_NAME or the executable', () => {
    expect(resolveProcessEntity(meta({ 'service.name': 'billing' }, '/opt/billing/bin/server'), rules)).toMatchObject({
      layer: 'OS_LINUX',
      serviceName: 'east::billing',
      instanceName: '10.0.0.1',
      processName: 'server',
    });
    expect(resolveProcessEntity(meta({}, '/opt/billing/bin/server'), defaultEntityRules('h'))?.serviceName).toBe('server');
    expect(otelServiceName('PATH=/bin\0OTEL_SERVICE_NAME=billing\0')).toBe('billing');
  });
});

describe('procfs parsing', () => {
  it('reads stat fields after a comm with spaces and parentheses', () => {
    const stat = '42 (my (odd) proc) R 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 123 0 0';
    const f = parseStatFields(stat);
    expect(f[0]).toBe('R');
    expect(Number(f[11]) + Number(f[12])).toBe(300); // utime + stime
    expect(Number(f[17])).toBe(7); // num_threads
  });
});

describe('SkyWalking naming from discovery, as Rover names pods', () => {
  it("names reviews-v1's sidecar and app reviews.<ns> from the canonical-name label, with the pod's IP", () => {
    const [app, proxy] = [containerId(), containerId()];
    const p = pod({
      name: 'reviews-v1-5b8f7c9d4-x2x9q', namespace: 'bookinfo', replicaSet: 'reviews-v1-5b8f7c9d4',
      labels: { app: 'reviews', version: 'v1', 'pod-template-hash': '5b8f7c9d4', 'service.istio.io/canonical-name': 'reviews', 'service.istio.io/canonical-revision': 'v1' },
      annotations: { 'sidecar.istio.io/status': '{}' },
      containers: [{ name: 'reviews', id: app, image: 'docker.io/istio/examples-bookinfo-reviews-v1:1.20.1' }, { name: 'istio-proxy', id: proxy, image: 'docker.io/istio/proxyv2:1.24.0' }],
    });
    // No ReplicaSet cached and no MESHPROF_POD_LABELS: what a Rover ClusterRole and default settings give.
    const summary = summarizePod(p as unknown as V1Pod, { replicaSet: () => undefined, services: () => [] })!;
    const entityOf = (name: string, exe: string) => {
      const c = summary.containers.find((x) => x.name === name)!;
      const attributes = containerAttributes({ ...c, pod: summary }, 'node-a');
      return { attributes, entity: resolveProcessEntity({ pid: 7, name: exe, executablePath: `/usr/local/bin/${exe}`, attributes }, defaultEntityRules('10.0.0.11')) };
    };
    const sidecar = entityOf('istio-proxy', 'envoy');
    expect(sidecar.attributes['k8s.deployment.name']).toBe('reviews-v1');
    expect(sidecar.entity).toEqual({ layer: 'MESH_DP', serviceName: 'reviews.bookinfo', instanceName: 'reviews-v1-5b8f7c9d4-x2x9q', processName: 'envoy', labels: ['mesh-envoy'] });
    const application = entityOf('reviews', 'java');
    expect(application.entity).toMatchObject({ layer: 'MESH', serviceName: 'reviews.bookinfo', processName: 'java' });
    // container_ip in the process report comes from k8s.pod.ip.
    expect(sidecar.attributes['k8s.pod.ip']).toBe('10.244.1.17');
  });
});
