/**
 * The discovery stage assembled: /proc inspection, the Kubernetes watch and
 * pod resolver, the process describer and target selectors. The controller
 * creates one, awaits start(), and wires describer and selector onward.
 */
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
// Types only: cluster-watch.js loads @kubernetes/client-node, imported in createDiscovery when needed.
import type { ClusterWatch } from './cluster-watch.js';
import { kubernetesEnabled, loadKubeConfig, type KubernetesMode } from './kube-config.js';
import { createPodResolver, type PodResolver } from './pod-resolver.js';
import { createProcReader } from '../process/proc-reader.js';
import { createProcessDescriber, type ProcessDescriber } from './process-describer.js';
import { createProcessInspector, type ProcessInspector } from './process-inspector.js';
import type { PodAttributeOptions } from './resource-attributes.js';
import type { TargetRules } from './target-rules.js';
import { createTargetSelector, type SelectorProcesses, type TargetSelector, type TargetSet } from './target-selector.js';
import { type Logger } from '../log/logger.js';

/** Validated discovery settings (see config/discovery-env.ts for the variables). */
export interface DiscoveryConfig {
  /** Root of the host's /proc (default /proc). */
  readonly procRoot: string;
  readonly kubernetes: KubernetesMode;
  /** Node whose pods are watched; hostname when unset. */
  readonly nodeName: string | undefined;
  /** Namespaces to watch; empty means all. */
  readonly watchNamespaces: readonly string[];
  readonly rules: TargetRules;
  /** Read OTEL_SERVICE_NAME from processes' environ (default true). */
  readonly readEnviron?: boolean | undefined;
  /** MESHPROF_POD_LABELS, MESHPROF_POD_ANNOTATIONS, MESHPROF_CLUSTER_NAME. */
  readonly attributes?: PodAttributeOptions | undefined;
}

/** Injected dependencies, for tests and for the controller's logger. */
export interface DiscoveryDeps {
  /** Overrides loading the KubeConfig (and forces Kubernetes on). */
  readonly kubeConfig?: KubeConfig | undefined;
  readonly log?: Logger | undefined;
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Watch retry delay in ms. */
  readonly retryMs?: number | undefined;
  /** How long start() waits for the first lists (default 10000 ms); the watches keep trying after. */
  readonly startTimeoutMs?: number | undefined;
}

/** The assembled stage. Lifetime: start() once, stop() once. */
export interface Discovery {
  readonly inspector: ProcessInspector;
  readonly describer: ProcessDescriber;
  /** Undefined when Kubernetes is off. */
  readonly resolver: PodResolver | undefined;
  /**
   * Lists pods, Services and ReplicaSets once (failures are logged and retried);
   * resolves after the first lists, or after startTimeoutMs with a warning.
   */
  start(): Promise<void>;
  /** A selector over config.rules; call its start() to begin notifying. */
  createTargetSelector(onTargets: (targets: TargetSet) => void, intervalMs?: number, processes?: SelectorProcesses): TargetSelector;
  stop(): Promise<void>;
}

/**
 * Creates the stage from config; nothing talks to the cluster until start().
 * Loads the Kubernetes client (a heavy module) only when Kubernetes is on.
 */
export async function createDiscovery(config: DiscoveryConfig, deps: DiscoveryDeps = {}): Promise<Discovery> {
  const env = deps.env ?? process.env;
  const inspector = createProcessInspector(createProcReader(config.procRoot));
  const nodeName = config.nodeName ?? hostname();
  let watch: ClusterWatch | undefined;
  if (deps.kubeConfig !== undefined || kubernetesEnabled(config.kubernetes, env)) {
    if (config.nodeName === undefined) deps.log?.warn(`MESHPROF_NODE_NAME is unset: watching pods of node ${nodeName}`);
    const kubeConfig = deps.kubeConfig ?? await loadKubeConfig(env);
    const { createClusterWatch } = await import('./cluster-watch.js');
    watch = createClusterWatch(kubeConfig, {
      nodeName,
      namespaces: config.watchNamespaces,
      retryMs: deps.retryMs,
      log: deps.log,
    });
  }
  const resolver = watch !== undefined ? createPodResolver(watch) : undefined;
  const describer = createProcessDescriber({ inspector, resolver, nodeName, readEnviron: config.readEnviron, attributes: config.attributes });
  const selectors = new Set<TargetSelector>();
  return {
    inspector,
    describer,
    resolver,
    async start() {
      if (watch === undefined) return;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), deps.startTimeoutMs ?? 10_000);
      });
      const first = await Promise.race([watch.start().then(() => 'listed' as const), timeout]);
      clearTimeout(timer);
      if (first === 'timeout') deps.log?.warn('listing pods: no answer from the API server yet; naming pods once it answers');
    },
    createTargetSelector(onTargets, intervalMs, processes) {
      const sel = createTargetSelector({
        rules: config.rules,
        inspector,
        describer,
        resolver,
        onTargets,
        intervalMs,
        processes,
        onError: (err) => deps.log?.warn(`selecting targets: ${err.message}`),
      });
      selectors.add(sel);
      return sel;
    },
    async stop() {
      for (const s of selectors) s.stop();
      resolver?.close();
      await watch?.stop();
    },
  };
}
