/**
 * Folded output of a profile difference: `comm;root;...;leaf BASE NEW`, one
 * line per stack of either side, the two-column form FlameGraph's
 * difffolded.pl writes and `flamegraph.pl` draws as a differential graph.
 */
import type { ProfileDiff } from '../profile/profile-diff.js';
import { foldedName, KERNEL_FRAME_SUFFIX } from './folded.js';
import { isKernelFrame, processNameOf, rootFirst } from './stack-names.js';

/** Encodes the BASE and NEW values of `valueIndex` of every stack, sorted by stack. */
export function encodeDiffFolded(diff: ProfileDiff, valueIndex = 0): string {
  if (!Number.isInteger(valueIndex) || valueIndex < 0 || valueIndex >= diff.sampleTypes.length) {
    throw new RangeError(`encoding folded diff: value index ${valueIndex} out of range for ${diff.sampleTypes.length} sample types`);
  }
  const sums = new Map<string, [number, number]>();
  for (const s of diff.samples) {
    const base = s.baseValues[valueIndex] ?? 0;
    const next = s.newValues[valueIndex] ?? 0;
    if (base === 0 && next === 0) continue;
    const elements = [foldedName(processNameOf(diff, s))];
    for (const f of rootFirst(s)) elements.push(foldedName(f.functionName) + (isKernelFrame(f) ? KERNEL_FRAME_SUFFIX : ''));
    const key = elements.join(';');
    const sum = sums.get(key) ?? [0, 0];
    sums.set(key, [sum[0] + base, sum[1] + next]);
  }
  const lines = [...sums].map(([stack, [base, next]]) => `${stack} ${base} ${next}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}
