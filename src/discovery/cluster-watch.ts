/**
 * List-and-watch caches of this node's pods and of the Services and
 * ReplicaSets their names depend on, kept current by client-node informers.
 */
import {
  AppsV1Api,
  CoreV1Api,
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Pod,
  type V1ReplicaSet,
  type V1Service,
} from '@kubernetes/client-node';
import { type Logger } from '../log/logger.js';

/** One change seen by a watch. */
export type ClusterEvent =
  | { readonly resource: 'pod'; readonly type: 'add' | 'update' | 'delete'; readonly object: V1Pod }
  | { readonly resource: 'service'; readonly type: 'add' | 'update' | 'delete'; readonly object: V1Service }
  | { readonly resource: 'replicaset'; readonly type: 'add' | 'update' | 'delete'; readonly object: V1ReplicaSet };

/** Where log lines go; a pino logger fits. */

/** Options of createClusterWatch. */
export interface ClusterWatchOptions {
  /** Only pods with spec.nodeName equal to this are watched. */
  readonly nodeName: string;
  /** Limit every watch to these namespaces; empty or undefined means all. */
  readonly namespaces?: readonly string[] | undefined;
  /** Delay before restarting a watch whose list or connection failed (default 5000 ms). */
  readonly retryMs?: number | undefined;
  /** Delay before asking again for a resource the API refused with 403 (default 300000 ms): RBAC rarely changes. */
  readonly forbiddenRetryMs?: number | undefined;
  readonly log?: Logger | undefined;
}

/** The caches, plus a listener API. Lifetime: start() once, stop() once. */
export interface ClusterWatch {
  /** Resolves once every informer listed (or failed to list) for the first time. */
  start(): Promise<void>;
  stop(): Promise<void>;
  pods(): readonly V1Pod[];
  services(namespace: string): readonly V1Service[];
  replicaSet(namespace: string, name: string): V1ReplicaSet | undefined;
  /** Adds a listener; returns its remover. */
  on(listener: (event: ClusterEvent) => void): () => void;
}

type Informer<T extends KubernetesObject> = ListWatch<T>;

/** What naming loses without each resource, for the one log line a 403 gets. */
const FORBIDDEN_EFFECT: Record<ClusterEvent['resource'], string> = {
  replicaset: 'Deployment owners are told from the pod-template-hash label instead',
  service: 'pods are not named after their Services',
  pod: 'processes are not named after their pods',
};

/** A 403 from the API server, as client-node reports it (ApiException.code, or the watch's status). */
function isForbidden(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  return e.code === 403 || e.statusCode === 403 || (typeof e.message === 'string' && /HTTP-Code: 403\b|\bForbidden\b/.test(e.message));
}

/** Creates the pod, Service and ReplicaSet informers for `kc` (not started). */
export function createClusterWatch(kc: KubeConfig, opts: ClusterWatchOptions): ClusterWatch {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const watch = new Watch(kc);
  const nss = opts.namespaces !== undefined && opts.namespaces.length > 0 ? opts.namespaces : [undefined];
  const fieldSelector = `spec.nodeName=${opts.nodeName}`;
  const listeners = new Set<(e: ClusterEvent) => void>();
  const emit = (e: ClusterEvent): void => {
    for (const l of [...listeners]) l(e);
  };
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  function informer<T extends KubernetesObject>(
    resource: ClusterEvent['resource'],
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    selector?: string,
  ): Informer<T> {
    const inf = new ListWatch<T>(path, watch, list, false, undefined, selector);
    for (const type of ['add', 'update', 'delete'] as const) {
      inf.on(type, (object) => emit({ resource, type, object } as ClusterEvent));
    }
    let forbiddenLogged = false;
    // ListWatch gives up after an error; keep retrying, as a kubelet-side agent must.
    inf.on('error', (err?: unknown) => {
      if (stopped) return;
      const msg = err instanceof Error ? err.message : String(err);
      const forbidden = isForbidden(err);
      // A ClusterRole without this resource (Rover's has no replicasets) is a setting, not an outage:
      // said once, then asked again rarely and quietly.
      if (!forbidden) opts.log?.warn(`watching ${path}: ${msg}; retrying`);
      else if (!forbiddenLogged) opts.log?.warn(`watching ${path}: forbidden by RBAC; ${FORBIDDEN_EFFECT[resource]} (grant list and watch on ${path.split('/').at(-1)} to fix)`);
      else opts.log?.debug(`watching ${path}: still forbidden`);
      forbiddenLogged ||= forbidden;
      const t = setTimeout(() => {
        timers.delete(t);
        if (!stopped) void inf.start();
      }, forbidden ? opts.forbiddenRetryMs ?? 300_000 : opts.retryMs ?? 5000);
      t.unref();
      timers.add(t);
    });
    return inf;
  }

  const podInf: Informer<V1Pod>[] = [];
  const svcInf: Informer<V1Service>[] = [];
  const rsInf: Informer<V1ReplicaSet>[] = [];
  for (const ns of nss) {
    const core1 = ns === undefined ? '/api/v1' : `/api/v1/namespaces/${encodeURIComponent(ns)}`;
    const apps1 = ns === undefined ? '/apis/apps/v1' : `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}`;
    podInf.push(
      informer<V1Pod>('pod', `${core1}/pods`, () =>
        ns === undefined
          ? core.listPodForAllNamespaces({ fieldSelector })
          : core.listNamespacedPod({ namespace: ns, fieldSelector }), fieldSelector),
    );
    svcInf.push(
      informer<V1Service>('service', `${core1}/services`, () =>
        ns === undefined ? core.listServiceForAllNamespaces() : core.listNamespacedService({ namespace: ns })),
    );
    rsInf.push(
      informer<V1ReplicaSet>('replicaset', `${apps1}/replicasets`, () =>
        ns === undefined ? apps.listReplicaSetForAllNamespaces() : apps.listNamespacedReplicaSet({ namespace: ns })),
    );
  }
  const all: Informer<KubernetesObject>[] = [...rsInf, ...svcInf, ...podInf] as Informer<KubernetesObject>[];

  return {
    async start() {
      // ReplicaSets and Services first, so the first pod events already resolve owners and services.
      await Promise.all([...rsInf, ...svcInf].map((i) => i.start()));
      await Promise.all(podInf.map((i) => i.start()));
    },
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all(all.map((i) => i.stop()));
    },
    pods: () => podInf.flatMap((i) => i.list()),
    services: (namespace) => svcInf.flatMap((i) => i.list(namespace)),
    replicaSet: (namespace, name) => {
      for (const i of rsInf) {
        const rs = i.get(name, namespace);
        if (rs !== undefined) return rs;
      }
      return undefined;
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
