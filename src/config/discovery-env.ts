/**
 * Discovery settings from the environment. Blank values count as unset.
 *
 *   MESHPROF_HOST_PROC          root of the host's /proc (default /proc; /host/proc in the DaemonSet)
 *   MESHPROF_KUBERNETES         auto (default) | on | off (or any boolean word): watch this node's pods through the API server
 *   MESHPROF_NODE_NAME          node whose pods are watched (downward API spec.nodeName; default hostname)
 *   MESHPROF_READ_ENVIRON       boolean, default true: read OTEL_SERVICE_NAME from /proc/PID/environ
 *
 * Target selection. A process is profiled when it matches every MESHPROF_TARGET_*
 * variable that is set (the comma-separated values of one variable are
 * alternatives) and none of the MESHPROF_EXCLUDE_* ones. With none set, every
 * process is profiled.
 *   MESHPROF_TARGET_NAMESPACES  / MESHPROF_EXCLUDE_NAMESPACES   pod namespaces: shop,payments
 *                                 (target namespaces also limit the pod watch)
 *   MESHPROF_TARGET_LABELS      / MESHPROF_EXCLUDE_LABELS       pod label selector, kubectl syntax:
 *                                 app=foo,tier!=db,env in (a,b),!canary
 *   MESHPROF_TARGET_CONTAINERS  / MESHPROF_EXCLUDE_CONTAINERS   container names: istio-proxy
 *   MESHPROF_TARGET_EXE         / MESHPROF_EXCLUDE_EXE          executable basenames or /regex/flags:
 *                                 envoy,/^java/
 *   MESHPROF_TARGET_PIDS        / MESHPROF_EXCLUDE_PIDS         process ids: 1234,5678
 *   MESHPROF_TARGET_ROLES       / MESHPROF_EXCLUDE_ROLES        Istio roles: sidecar,app,ztunnel
 * Attributes (config/labels-env.ts): MESHPROF_POD_LABELS, MESHPROF_POD_ANNOTATIONS, MESHPROF_CLUSTER_NAME.
 * Example, only the sidecars of namespace shop:
 *   MESHPROF_TARGET_NAMESPACES=shop MESHPROF_TARGET_ROLES=sidecar
 */
import type { DiscoveryConfig } from '../discovery/discovery.js';
import type { KubernetesMode } from '../discovery/kube-config.js';
import { parseLabelSelector } from '../discovery/label-selector.js';
import { MESH_ROLES, type MeshRole } from '../discovery/mesh-role.js';
import type { ExePattern, TargetCriteria } from '../discovery/target-rules.js';
import { ConfigError, ConfigIssues } from './config-error.js';
import { envValue as value, parseBoolean, type EnvRecord as Env } from './env-values.js';
import { readPodAttributeEnv } from './labels-env.js';

function list(env: Env, name: string): string[] | undefined {
  const v = value(env, name);
  return v?.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** One side of the rules; a bad variable is recorded (its first bad entry) and left out. */
function criteria(env: Env, prefix: 'MESHPROF_TARGET_' | 'MESHPROF_EXCLUDE_', issues: ConfigIssues): TargetCriteria {
  const labelsVar = `${prefix}LABELS`;
  const labels = value(env, labelsVar);
  const exeVar = `${prefix}EXE`;
  const pidsVar = `${prefix}PIDS`;
  const rolesVar = `${prefix}ROLES`;
  return {
    namespaces: list(env, `${prefix}NAMESPACES`),
    labels: labels === undefined ? undefined : issues.check(() => wrap(labelsVar, () => parseLabelSelector(labels)), undefined),
    containers: list(env, `${prefix}CONTAINERS`),
    exe: issues.check(() => list(env, exeVar)?.map((e) => wrap(exeVar, () => exePattern(e))), undefined),
    pids: issues.check(() => list(env, pidsVar)?.map((p) => {
      const n = Number(p);
      if (!Number.isInteger(n) || n <= 0) throw new ConfigError(pidsVar, `reading ${pidsVar}: "${p}" is not a process id`);
      return n;
    }), undefined),
    roles: issues.check(() => list(env, rolesVar)?.map((r) => {
      if (!(MESH_ROLES as readonly string[]).includes(r)) {
        throw new ConfigError(rolesVar, `reading ${rolesVar}: "${r}" is not one of ${MESH_ROLES.join(', ')}`);
      }
      return r as MeshRole;
    }), undefined),
  };
}

/** auto, or on/off in any of the boolean words (true, 1, yes, ...). */
function kubernetesMode(raw: string | undefined): KubernetesMode {
  if (raw === undefined || raw.toLowerCase() === 'auto') return 'auto';
  try {
    return parseBoolean('MESHPROF_KUBERNETES', raw) ? 'on' : 'off';
  } catch {
    throw new ConfigError('MESHPROF_KUBERNETES', `reading MESHPROF_KUBERNETES: "${raw}" is not one of auto, on, off`);
  }
}

function exePattern(e: string): ExePattern {
  // `/regex/flags` only with flags a RegExp takes: `/usr/bin/envoy` is a path, not `/usr/bin/` with flags "envoy".
  const m = /^\/(.*)\/([dgimsuy]*)$/s.exec(e);
  // A regex with a comma cannot be given: commas separate the list.
  if (m !== null) return new RegExp(m[1] ?? '', (m[2] ?? '').replace('g', ''));
  if (!e.startsWith('/')) return e;
  // An absolute path: that executable file exactly.
  return new RegExp(`^${e.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

function wrap<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new ConfigError(name, `reading ${name}: ${(err as Error).message}`);
  }
}

/**
 * Reads and validates the discovery variables; throws naming the offending
 * variable (ConfigErrors naming each one when several are bad).
 */
export function discoveryConfigFromEnv(env: Env = process.env): DiscoveryConfig {
  const issues = new ConfigIssues();
  const mode = issues.check(() => kubernetesMode(value(env, 'MESHPROF_KUBERNETES')), 'auto');
  const readEnviron = issues.check(() => {
    const raw = value(env, 'MESHPROF_READ_ENVIRON');
    return raw === undefined ? true : parseBoolean('MESHPROF_READ_ENVIRON', raw);
  }, true);
  const include = criteria(env, 'MESHPROF_TARGET_', issues);
  const exclude = criteria(env, 'MESHPROF_EXCLUDE_', issues);
  issues.throwIfAny();
  return {
    procRoot: value(env, 'MESHPROF_HOST_PROC') ?? '/proc',
    kubernetes: mode,
    nodeName: value(env, 'MESHPROF_NODE_NAME'),
    watchNamespaces: include.namespaces ?? [],
    rules: { include, exclude },
    readEnviron,
    attributes: readPodAttributeEnv(env),
  };
}
