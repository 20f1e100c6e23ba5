/**
 * Label settings: which pod labels and annotations become resource
 * attributes, the cluster's name, and Prometheus-style relabelling rules
 * applied to every process's attributes before export.
 *
 *   MESHPROF_POD_LABELS        pod label keys copied as k8s.pod.label.<key>: app,version
 *   MESHPROF_POD_ANNOTATIONS   pod annotation keys copied as k8s.pod.annotation.<key>
 *   MESHPROF_CLUSTER_NAME      k8s.cluster.name on every process
 *   MESHPROF_RELABEL           JSON list of rules, Prometheus relabel_config fields:
 *                              [{"action":"replace","source_labels":["k8s.namespace.name"],
 *                                "regex":"(.*)-prod","target_label":"deployment.environment.name","replacement":"prod"}]
 */
import { ConfigError, ConfigIssues } from './config-error.js';
import { envValue, type EnvRecord } from './env-values.js';
import type { RelabelRule } from '../discovery/relabel.js';
import { RELABEL_ACTIONS } from '../discovery/relabel.js';

/** Which pod metadata becomes attributes. */
export interface PodAttributeSettings {
  readonly podLabelKeys: readonly string[];
  readonly podAnnotationKeys: readonly string[];
  readonly clusterName: string | undefined;
}

function keys(env: EnvRecord, name: string): string[] {
  return (envValue(env, name) ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** MESHPROF_POD_LABELS, MESHPROF_POD_ANNOTATIONS and MESHPROF_CLUSTER_NAME. */
export function readPodAttributeEnv(env: EnvRecord): PodAttributeSettings {
  return {
    podLabelKeys: keys(env, 'MESHPROF_POD_LABELS'),
    podAnnotationKeys: keys(env, 'MESHPROF_POD_ANNOTATIONS'),
    clusterName: envValue(env, 'MESHPROF_CLUSTER_NAME'),
  };
}

const NAME = 'MESHPROF_RELABEL';

/** One rule as written, with Prometheus's field names. */
interface RuleText {
  action?: unknown;
  source_labels?: unknown;
  separator?: unknown;
  regex?: unknown;
  target_label?: unknown;
  replacement?: unknown;
}

function ruleOf(raw: RuleText, i: number): RelabelRule {
  const where = `${NAME}: rule ${i + 1}`;
  const action = raw.action ?? 'replace';
  if (typeof action !== 'string' || !(RELABEL_ACTIONS as readonly string[]).includes(action)) {
    throw new ConfigError(NAME, `${where}: action ${JSON.stringify(action)} is not one of ${RELABEL_ACTIONS.join(', ')}`);
  }
  const sources = raw.source_labels ?? [];
  if (!Array.isArray(sources) || !sources.every((s): s is string => typeof s === 'string')) {
    throw new ConfigError(NAME, `${where}: source_labels must be a list of attribute names`);
  }
  const str = (field: keyof RuleText, fallback: string): string => {
    const v = raw[field] ?? fallback;
    if (typeof v !== 'string') throw new ConfigError(NAME, `${where}: ${field} must be a string`);
    return v;
  };
  const pattern = str('regex', '(.*)');
  let regex: RegExp;
  try {
    // Anchored at both ends, as Prometheus anchors its regexes.
    regex = new RegExp(`^(?:${pattern})$`);
  } catch (err) {
    throw new ConfigError(NAME, `${where}: regex ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
  const target = raw.target_label;
  if (action === 'replace' && (typeof target !== 'string' || target === '')) {
    throw new ConfigError(NAME, `${where}: replace needs a target_label`);
  }
  if ((action === 'keep' || action === 'drop' || action === 'replace') && sources.length === 0) {
    throw new ConfigError(NAME, `${where}: ${action} needs source_labels`);
  }
  return {
    action: action as RelabelRule['action'],
    sourceLabels: sources,
    separator: str('separator', ';'),
    regex,
    targetLabel: typeof target === 'string' ? target : undefined,
    replacement: str('replacement', '$1'),
  };
}

/** MESHPROF_RELABEL: the rules, in order; [] when unset. Throws naming the variable and the rule. */
export function readRelabelEnv(env: EnvRecord): RelabelRule[] {
  const text = envValue(env, NAME);
  if (text === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(NAME, `${NAME}: not JSON (${(err as Error).message}): give a list of rules, e.g. [{"action":"drop","source_labels":["k8s.namespace.name"],"regex":"kube-.*"}]`);
  }
  if (!Array.isArray(parsed)) throw new ConfigError(NAME, `${NAME}: give a JSON list of rules, not ${typeof parsed}`);
  const issues = new ConfigIssues();
  const rules = parsed.map((r, i) => issues.check<RelabelRule | undefined>(() => {
    if (typeof r !== 'object' || r === null) throw new ConfigError(NAME, `${NAME}: rule ${i + 1} is not an object`);
    return ruleOf(r as RuleText, i);
  }, undefined));
  issues.throwIfAny();
  return rules.filter((r): r is RelabelRule => r !== undefined);
}
