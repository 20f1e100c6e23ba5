/**
 * The differential flame graph of `meshprof diff`: bars sized by NEW,
 * coloured by how each frame's share of the total changed from BASE (red
 * grew, blue shrank, white unchanged). Shares, not raw values, so two
 * recordings of different lengths or rates compare.
 */
import type { ProfileDiff } from '../profile/profile-diff.js';
import { toFlameData } from './flame-data.js';
import { buildFlameTree } from './flame-tree.js';
import { renderFlamePage } from './html.js';

/** Encodes a difference as a standalone HTML differential flame graph. */
export function encodeDiffHtml(diff: ProfileDiff, options: { readonly title?: string } = {}): string {
  // One tree carries both sides: NEW's values, then BASE's, per node.
  const doubled = {
    ...diff,
    sampleTypes: [...diff.sampleTypes, ...diff.sampleTypes],
    samples: diff.samples.map((s) => ({ ...s, values: [...s.newValues, ...s.baseValues] })),
  };
  const data = { ...toFlameData(buildFlameTree(doubled), diff.sampleTypes), diff: { baseTotals: diff.baseTotals, newTotals: diff.newTotals } };
  return renderFlamePage(options.title ?? 'meshprof differential flame graph', data,
    'Differential flame graph, root at the bottom: widths are NEW, colour is the change of each frame\'s share of the total from BASE ' +
    '(red grew, blue shrank, white unchanged; the deepest colour is the largest change). Frames only BASE has are not drawn: see the pprof or folded diff. ' +
    'Hover for details, click to zoom.');
}
