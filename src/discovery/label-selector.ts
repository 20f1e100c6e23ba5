/**
 * Kubernetes label selectors in their string form, as kubectl -l takes them:
 * `app=foo,tier!=db`, `env in (a,b)`, `env notin (c)`, `key`, `!key`.
 */

/** One requirement; all of a selector's requirements must hold. */
export interface LabelRequirement {
  readonly key: string;
  readonly op: 'eq' | 'ne' | 'in' | 'notin' | 'exists' | 'absent';
  readonly values: readonly string[];
}

/** A parsed selector. An empty selector matches everything. */
export interface LabelSelector {
  readonly source: string;
  readonly requirements: readonly LabelRequirement[];
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
}

const KEY = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;

/** Parses `source`; throws "parsing label selector ...: cause" on bad syntax. */
export function parseLabelSelector(source: string): LabelSelector {
  const requirements = splitTopLevel(source).map((part) => parseRequirement(part, source));
  return {
    source,
    requirements,
    matches: (labels) => requirements.every((r) => holds(r, labels ?? {})),
  };
}

/** Splits on commas outside parentheses. */
function splitTopLevel(source: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of source) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function parseRequirement(part: string, source: string): LabelRequirement {
  const fail = (why: string): never => {
    throw new Error(`parsing label selector "${source}": ${why} in "${part}"`);
  };
  const key = (k: string): string => (KEY.test(k.trim()) ? k.trim() : fail(`invalid key "${k.trim()}"`));
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
  if (set !== null) {
    const values = (set[3] ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '');
    if (values.length === 0) fail('empty value set');
    return { key: key(set[1] ?? ''), op: set[2] === 'in' ? 'in' : 'notin', values };
  }
  const cmp = /^([^!=]+?)\s*(==|!=|=)\s*(.*)$/.exec(part);
  if (cmp !== null) {
    const value = (cmp[3] ?? '').trim();
    if (/[\s,()!=]/.test(value)) fail(`invalid value "${value}"`);
    return { key: key(cmp[1] ?? ''), op: cmp[2] === '!=' ? 'ne' : 'eq', values: [value] };
  }
  if (part.startsWith('!')) return { key: key(part.slice(1)), op: 'absent', values: [] };
  return { key: key(part), op: 'exists', values: [] };
}

function holds(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.op) {
    case 'eq':
      return v === r.values[0];
    case 'ne':
      return v !== r.values[0];
    case 'in':
      return v !== undefined && r.values.includes(v);
    case 'notin':
      return v === undefined || !r.values.includes(v);
    case 'exists':
      return has;
    case 'absent':
      return !has;
  }
}
