/**
 * Prometheus-style relabelling of a process's resource attributes: each
 * rule joins its source attributes' values with `separator` and matches the
 * anchored `regex`; `replace` sets `target_label` to the expanded
 * replacement (an empty result removes it), `keep` drops the process unless
 * the regex matches, `drop` drops it when it does, `labeldrop`/`labelkeep`
 * remove attributes whose names match / do not match.
 */

/** The actions, as Prometheus names them. */
export const RELABEL_ACTIONS = ['replace', 'keep', 'drop', 'labeldrop', 'labelkeep'] as const;

/** One rule. */
export interface RelabelRule {
  readonly action: (typeof RELABEL_ACTIONS)[number];
  readonly sourceLabels: readonly string[];
  readonly separator: string;
  /** Anchored at both ends. */
  readonly regex: RegExp;
  readonly targetLabel: string | undefined;
  /** `$1`, `${1}` and `$name` refer to the regex's groups. */
  readonly replacement: string;
}

/** `$1`, `${1}`, `${name}` expanded from a match; unknown groups become empty, as in Prometheus. */
function expand(replacement: string, m: RegExpExecArray): string {
  return replacement.replace(/\$(?:\{(\w+)\}|(\d+))/g, (_, braced: string | undefined, digits: string | undefined) => {
    const ref = braced ?? digits ?? '';
    const v = /^\d+$/.test(ref) ? m[Number(ref)] : m.groups?.[ref];
    return v ?? '';
  });
}

/** The attributes after every rule, in order; undefined when a keep or drop rule drops the process. */
export function relabelAttributes(attributes: Readonly<Record<string, string>>, rules: readonly RelabelRule[]): Record<string, string> | undefined {
  let attrs = { ...attributes };
  for (const rule of rules) {
    const value = rule.sourceLabels.map((l) => attrs[l] ?? '').join(rule.separator);
    switch (rule.action) {
      case 'keep':
        if (!rule.regex.test(value)) return undefined;
        break;
      case 'drop':
        if (rule.regex.test(value)) return undefined;
        break;
      case 'replace': {
        const m = rule.regex.exec(value);
        if (m === null || rule.targetLabel === undefined) break;
        const out = expand(rule.replacement, m);
        if (out === '') delete attrs[rule.targetLabel];
        else attrs[rule.targetLabel] = out;
        break;
      }
      case 'labeldrop':
      case 'labelkeep':
        attrs = Object.fromEntries(Object.entries(attrs).filter(([k]) => rule.regex.test(k) === (rule.action === 'labelkeep')));
        break;
    }
  }
  return attrs;
}
