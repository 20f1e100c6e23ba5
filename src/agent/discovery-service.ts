import { discoveryConfigFromEnv } from '../config/discovery-env.js';
import { createDiscovery, type Discovery, type DiscoveryLog } from '../discovery/index.js';
import type { TargetSelector, TargetSet } from '../discovery/target-selector.js';
import type { ProcessMetadata } from '../profile/model.js';

/** Discovery as the controller uses it: naming for every process, selection for the samplers. */
export interface DiscoveryService {
  /** Adds container, pod, service and Istio attributes; the symbolizer's describeProcess hook. */
  describeProcess(base: ProcessMetadata): ProcessMetadata;
  /** True when MESHPROF_TARGET_* / MESHPROF_EXCLUDE_* narrow the processes profiled. */
  readonly selective: boolean;
  /** The selection now, for the samplers: 'all' without selectors, 'none' when they match no process. */
  currentTargets(): TargetSet;
  /** Pushes every change of the selection (within a second of a process or pod change). */
  followTargets(apply: (targets: TargetSet) => void): void;
  stop(): Promise<void>;
}

function hasRules(env: Readonly<Record<string, string | undefined>>): boolean {
  return Object.entries(env).some(([k, v]) => /^MESHPROF_(TARGET|EXCLUDE)_/.test(k) && v !== undefined && v.trim() !== '');
}

/**
 * Reads discovery settings (MESHPROF_KUBERNETES, MESHPROF_NODE_NAME,
 * MESHPROF_TARGET_*, ...), lists the node's pods once when Kubernetes is on,
 * and returns the naming hook and the target selection.
 */
export async function startDiscoveryService(env: Readonly<Record<string, string | undefined>>, log: DiscoveryLog): Promise<DiscoveryService> {
  const discovery: Discovery = await createDiscovery(discoveryConfigFromEnv(env), { log, env });
  await discovery.start();
  const selective = hasRules(env);
  const selectors: TargetSelector[] = [];
  let current: TargetSet = 'all';
  if (selective) {
    const probe = discovery.createTargetSelector(() => {});
    current = probe.rescan();
  }
  return {
    describeProcess: (base) => discovery.describer.describe(base),
    selective,
    currentTargets: () => current,
    followTargets(apply) {
      if (!selective) return;
      const selector = discovery.createTargetSelector((set) => {
        current = set;
        apply(set);
      });
      selectors.push(selector);
      selector.start();
    },
    async stop() {
      for (const s of selectors) s.stop();
      await discovery.stop();
    },
  };
}
