/**
 * Indexes the watched pods by container id and pod UID, re-summarizing them
 * when their Services or ReplicaSets change.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { ClusterEvent, ClusterWatch } from './cluster-watch.js';
import { summarizePod, type PodContainer, type PodSummary } from './pod-summary.js';

/** A container together with its pod. */
export interface ResolvedContainer extends PodContainer {
  readonly pod: PodSummary;
}

/** A change to the resolver's view of one pod. */
export interface PodEvent {
  readonly type: 'add' | 'update' | 'delete';
  readonly pod: PodSummary;
}

/** Container id and pod UID look-ups over the pods of this node. */
export interface PodResolver {
  /** `id` may carry a `containerd://` style prefix. */
  byContainerId(id: string): ResolvedContainer | undefined;
  byPodUid(uid: string): PodSummary | undefined;
  pods(): readonly PodSummary[];
  /** Adds a listener called after the indexes changed; returns its remover. */
  on(listener: (event: PodEvent) => void): () => void;
  /** Detaches from the cluster watch. */
  close(): void;
}

/** Creates a resolver fed by `watch`; pods already cached are indexed at once. */
export function createPodResolver(watch: ClusterWatch): PodResolver {
  const byUid = new Map<string, PodSummary>();
  const byContainer = new Map<string, ResolvedContainer>();
  const listeners = new Set<(e: PodEvent) => void>();

  const unindex = (pod: PodSummary): void => {
    byUid.delete(pod.uid);
    for (const c of pod.containers) {
      if (byContainer.get(c.containerId)?.pod.uid === pod.uid) byContainer.delete(c.containerId);
    }
  };
  const put = (raw: V1Pod): PodSummary | undefined => {
    const pod = summarizePod(raw, watch);
    if (pod === undefined) return undefined;
    const old = byUid.get(pod.uid);
    if (old !== undefined) unindex(old);
    byUid.set(pod.uid, pod);
    for (const c of pod.containers) byContainer.set(c.containerId, { ...c, pod });
    return pod;
  };
  const emit = (e: PodEvent): void => {
    for (const l of [...listeners]) l(e);
  };
  // A Service or ReplicaSet change may rename every pod of its namespace.
  const refreshNamespace = (namespace: string | undefined): void => {
    for (const raw of watch.pods()) {
      if (raw.metadata?.namespace !== namespace) continue;
      const pod = put(raw);
      if (pod !== undefined) emit({ type: 'update', pod });
    }
  };

  const onEvent = (e: ClusterEvent): void => {
    if (e.resource !== 'pod') {
      refreshNamespace(e.object.metadata?.namespace);
      return;
    }
    if (e.type === 'delete') {
      const uid = e.object.metadata?.uid;
      const old = uid === undefined ? undefined : byUid.get(uid);
      if (old === undefined) return;
      unindex(old);
      emit({ type: 'delete', pod: old });
      return;
    }
    const pod = put(e.object);
    if (pod !== undefined) emit({ type: e.type, pod });
  };

  for (const raw of watch.pods()) put(raw);
  const off = watch.on(onEvent);
  return {
    byContainerId(id) {
      const i = id.indexOf('://');
      return byContainer.get(i < 0 ? id : id.slice(i + 3));
    },
    byPodUid: (uid) => byUid.get(uid),
    pods: () => [...byUid.values()],
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: off,
  };
}
