/**
 * The discovery stage: cgroups → containers → pods → Services → Istio role,
 * process naming and target selection. The controller needs only
 * createDiscovery(); the rest is exported for tools and tests.
 *
 * Nothing exported here may load @kubernetes/client-node at import time:
 * createClusterWatch is not re-exported (import './cluster-watch.js' for it),
 * and createDiscovery and loadKubeConfig import the client only when a
 * cluster is configured.
 */
export { createDiscovery, type Discovery, type DiscoveryConfig, type DiscoveryDeps } from './discovery.js';
export { parseCgroupFile, parseCgroupPath, type CgroupInfo, type ContainerRuntime, type QosClass } from './cgroup-path.js';
export type { ClusterEvent, ClusterWatch } from './cluster-watch.js';
export { kubernetesEnabled, loadKubeConfig, type KubernetesMode } from './kube-config.js';
export { parseLabelSelector, type LabelSelector } from './label-selector.js';
export { MESH_ROLES, meshRoleOf, type MeshRole } from './mesh-role.js';
export { createPodResolver, type PodEvent, type PodResolver, type ResolvedContainer } from './pod-resolver.js';
export type { PodContainer, PodSummary } from './pod-summary.js';
export { createProcessDescriber, type ProcessDescriber, type ProcessIdentity } from './process-describer.js';
export { createProcessInspector, type ProcessFacts, type ProcessInspector } from './process-inspector.js';
export { containerAttributes } from './resource-attributes.js';
export { isTarget, type ExePattern, type TargetCriteria, type TargetRules } from './target-rules.js';
export { createTargetSelector, type TargetSelector, type TargetSet } from './target-selector.js';
