import { hostname } from 'node:os';
import type { DiscoveryConfig } from './discovery.js';
import { containerAttributes } from './resource-attributes.js';
import { createDiscovery, type Discovery } from './index.js';
import { selectsEverything } from './target-rules.js';
import type { SelectorProcesses, TargetSelector, TargetSet } from './target-selector.js';
import type { ProcessMetadata } from '../stacks/process-metadata.js';
import { type Logger } from '../log/logger.js';

/** Discovery as the controller uses it: naming for every process, selection for the samplers. */
export interface DiscoveryService {
  /** Adds container, pod, service and Istio attributes; the symbolizer's describeProcess hook. */
  describeProcess(base: ProcessMetadata): ProcessMetadata;
  /** A pod container's attributes by container id (Kubernetes only); undefined when unknown. */
  describeContainer(containerId: string): Record<string, string> | undefined;
  /** True when MESHPROF_TARGET_* / MESHPROF_EXCLUDE_* narrow the processes profiled. */
  readonly selective: boolean;
  /** The selection now, for the samplers: 'all' without selectors, 'none' when they match no process. */
  currentTargets(): TargetSet;
  /**
   * Pushes every change of the selection: at once for a process the table
   * adds (when given), within a second of any other process or pod change.
   */
  followTargets(apply: (targets: TargetSet) => void, processes?: SelectorProcesses): void;
  stop(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Starts discovery with settings config/discovery-env.ts has read and
 * validated (MESHPROF_KUBERNETES, MESHPROF_NODE_NAME, MESHPROF_TARGET_*, ...):
 * lists the node's pods once when Kubernetes is on, and returns the naming
 * hook and the target selection. env only tells whether a cluster is
 * configured (KUBECONFIG, a pod's service account) and where its credentials are.
 */
export async function startDiscoveryService(config: DiscoveryConfig, log: Logger, env: Env = process.env): Promise<DiscoveryService> {
  const discovery: Discovery = await createDiscovery(config, { log, env });
  await discovery.start();
  const selective = !selectsEverything(config.rules);
  const selectors: TargetSelector[] = [];
  let current: TargetSet = 'all';
  if (selective) {
    const probe = discovery.createTargetSelector(() => {});
    current = probe.rescan();
  }
  return {
    describeProcess: (base) => discovery.describer.describe(base),
    describeContainer(containerId) {
      const container = discovery.resolver?.byContainerId(containerId);
      return container === undefined ? undefined : containerAttributes(container, config.nodeName ?? hostname(), config.attributes);
    },
    selective,
    currentTargets: () => current,
    followTargets(apply, processes) {
      if (!selective) return;
      const selector = discovery.createTargetSelector((set) => {
        current = set;
        apply(set);
      }, undefined, processes);
      selectors.push(selector);
      selector.start();
    },
    async stop() {
      for (const s of selectors) s.stop();
      await discovery.stop();
    },
  };
}
