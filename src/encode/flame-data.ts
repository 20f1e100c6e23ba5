/**
 * The flame graph's embedded data: a compact JSON form of the merged tree
 * (names and kinds interned into tables) and the escaping that makes it safe
 * inside an HTML <script> element.
 */
import type { ValueType } from '../profile/model.js';
import type { FlameNode } from './flame-tree.js';

/** A node as embedded: [name index, kind index, values, children?]. */
export type CompactNode = [number, number, number[], CompactNode[]?];

/** The document the viewer script reads. */
export interface FlameData {
  readonly version: 1;
  readonly types: readonly ValueType[];
  readonly names: readonly string[];
  readonly kinds: readonly string[];
  readonly root: CompactNode;
  /**
   * Present in a differential graph: each node's values then hold NEW's
   * values (which size it) followed by BASE's, and these are both totals.
   */
  readonly diff?: { readonly baseTotals: readonly number[]; readonly newTotals: readonly number[] };
}

/** Interns a tree into the compact embedded form. */
export function toFlameData(root: FlameNode, types: readonly ValueType[]): FlameData {
  const names: string[] = [];
  const kinds: string[] = [];
  const nameIds = new Map<string, number>();
  const kindIds = new Map<string, number>();
  const intern = (table: string[], ids: Map<string, number>, value: string): number => {
    let id = ids.get(value);
    if (id === undefined) {
      id = table.length;
      table.push(value);
      ids.set(value, id);
    }
    return id;
  };
  const compact = (node: FlameNode): CompactNode => {
    const out: CompactNode = [intern(names, nameIds, node.name), intern(kinds, kindIds, node.kind), node.values];
    if (node.children.length > 0) out.push(node.children.map(compact));
    return out;
  };
  const rootNode = compact(root);
  return { version: 1, types: types.map((t) => ({ type: t.type, unit: t.unit })), names, kinds, root: rootNode };
}

/**
 * JSON that cannot end or confuse the surrounding <script> element: `<`, `>`
 * and `&` become \u escapes (so `</script>` and `<!--` never appear), and so
 * do U+2028/U+2029, which older JS parsers treat as line ends.
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
