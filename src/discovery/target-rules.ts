/**
 * Include and exclude rules for target selection, and the pure test of one
 * process against them.
 */
import type { LabelSelector } from './label-selector.js';
import type { MeshRole } from './mesh-role.js';
import type { ProcessIdentity } from './process-describer.js';

/** An executable: an exact basename, or a regex tried on the basename and the full path. */
export type ExePattern = string | RegExp;

/** One side of the rules. Unset or empty fields do not take part. */
export interface TargetCriteria {
  readonly namespaces?: readonly string[] | undefined;
  /** Pod label selector; processes outside pods never match it. */
  readonly labels?: LabelSelector | undefined;
  readonly containers?: readonly string[] | undefined;
  readonly exe?: readonly ExePattern[] | undefined;
  readonly pids?: readonly number[] | undefined;
  readonly roles?: readonly MeshRole[] | undefined;
}

/**
 * A process is selected when it matches every include criterion that is set
 * (values within one criterion are alternatives) and no exclude criterion.
 */
export interface TargetRules {
  readonly include: TargetCriteria;
  readonly exclude: TargetCriteria;
}

/** True when neither side sets anything: every process is a target. */
export function selectsEverything(rules: TargetRules): boolean {
  return !hasAny(rules.include) && !hasAny(rules.exclude);
}

function hasAny(c: TargetCriteria): boolean {
  return (
    (c.namespaces?.length ?? 0) > 0 ||
    (c.labels !== undefined && c.labels.requirements.length > 0) ||
    (c.containers?.length ?? 0) > 0 ||
    (c.exe?.length ?? 0) > 0 ||
    (c.pids?.length ?? 0) > 0 ||
    (c.roles?.length ?? 0) > 0
  );
}

/** Each set criterion's verdict for the process; unset criteria are left out. */
function verdicts(c: TargetCriteria, p: ProcessIdentity): boolean[] {
  const out: boolean[] = [];
  const pod = p.pod;
  if ((c.namespaces?.length ?? 0) > 0) out.push(pod !== undefined && (c.namespaces ?? []).includes(pod.namespace));
  if (c.labels !== undefined && c.labels.requirements.length > 0) out.push(pod !== undefined && c.labels.matches(pod.labels));
  if ((c.containers?.length ?? 0) > 0) out.push(p.container !== undefined && (c.containers ?? []).includes(p.container.name));
  if ((c.exe?.length ?? 0) > 0) out.push((c.exe ?? []).some((e) => exeMatches(e, p)));
  if ((c.pids?.length ?? 0) > 0) out.push((c.pids ?? []).includes(p.facts.pid));
  if ((c.roles?.length ?? 0) > 0) out.push(p.role !== undefined && (c.roles ?? []).includes(p.role));
  return out;
}

function exeMatches(e: ExePattern, p: ProcessIdentity): boolean {
  if (typeof e === 'string') return e === p.facts.exeName || e === p.facts.comm;
  e.lastIndex = 0;
  if (e.test(p.facts.exeName)) return true;
  e.lastIndex = 0;
  return p.facts.exePath !== undefined && e.test(p.facts.exePath);
}

/** Whether `p` is a target under `rules`. */
export function isTarget(rules: TargetRules, p: ProcessIdentity): boolean {
  return verdicts(rules.include, p).every(Boolean) && !verdicts(rules.exclude, p).some(Boolean);
}
