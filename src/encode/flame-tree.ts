/**
 * The merged call tree behind the HTML flame graph: root → process → frames
 * root first, children merged by name, every node carrying one inclusive
 * value per sample type so the viewer can switch types without the samples.
 */
import type { FrameKind, Profile } from '../profile/model.js';
import { frameLabel, processNameOf, rootFirst } from './stack-names.js';

/** What a tree node stands for: the synthetic root, a process, or a frame of some kind. */
export type FlameNodeKind = 'root' | 'process' | FrameKind;

/** One node of the merged tree; `values` are inclusive (self plus children). */
export interface FlameNode {
  readonly name: string;
  readonly kind: FlameNodeKind;
  readonly values: number[];
  readonly children: FlameNode[];
}

/** Label of the synthetic root node. */
export const FLAME_ROOT_NAME = 'all';

/**
 * Builds the merged tree of a profile. Samples whose values are all zero are
 * left out; children are sorted by name, as flame graphs draw them.
 */
export function buildFlameTree(profile: Profile): FlameNode {
  const width = profile.sampleTypes.length;
  const root = newNode(FLAME_ROOT_NAME, 'root', width);
  // Lookup of children by name+kind, kept beside the tree so nodes stay plain data.
  const index = new Map<FlameNode, Map<string, FlameNode>>();
  const child = (parent: FlameNode, name: string, kind: FlameNodeKind): FlameNode => {
    let byKey = index.get(parent);
    if (byKey === undefined) {
      byKey = new Map();
      index.set(parent, byKey);
    }
    const key = `${kind}\u0000${name}`;
    let node = byKey.get(key);
    if (node === undefined) {
      node = newNode(name, kind, width);
      byKey.set(key, node);
      parent.children.push(node);
    }
    return node;
  };

  for (const sample of profile.samples) {
    const values = Array.from({ length: width }, (_, i) => sample.values[i] ?? 0);
    if (values.every((v) => v === 0)) continue;
    const path = [root, child(root, processNameOf(profile, sample), 'process')];
    for (const frame of rootFirst(sample)) {
      const parent = path[path.length - 1] ?? root;
      path.push(child(parent, frameLabel(frame), frame.kind));
    }
    for (const node of path) {
      for (let i = 0; i < width; i++) node.values[i] = (node.values[i] ?? 0) + (values[i] ?? 0);
    }
  }
  sortTree(root);
  return root;
}

function newNode(name: string, kind: FlameNodeKind, width: number): FlameNode {
  return { name, kind, values: new Array<number>(width).fill(0), children: [] };
}

function sortTree(node: FlameNode): void {
  node.children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.kind < b.kind ? -1 : 1));
  for (const c of node.children) sortTree(c);
}
