/**
 * Folded-stack serializer: one `comm;root;...;leaf count` line per distinct
 * stack, the input format of FlameGraph's flamegraph.pl, speedscope and
 * `inferno`, and what bcc's `profile -f` prints.
 */
import type { Profile } from '../profile/model.js';
import { frameLabel, isKernelFrame, processNameOf, rootFirst } from './stack-names.js';

/** Options for {@link encodeFolded}. */
export interface FoldedOptions {
  /** Which entry of `profile.sampleTypes` to print; 0 (sample count) by default. */
  readonly valueIndex?: number;
}

/** Suffix stackcollapse-perf.pl puts on kernel frames so flamegraph.pl colours them. */
export const KERNEL_FRAME_SUFFIX = '_[k]';

/**
 * Makes a name safe for one folded element: `;` would split it into two
 * frames and a line break would end the record.
 */
export function foldedName(name: string): string {
  return name.replace(/;/g, ':').replace(/[\r\n\u2028\u2029]+/g, ' ');
}

/** Encodes a profile as folded stacks, sorted, one line per distinct stack. */
export function encodeFolded(profile: Profile, options: FoldedOptions = {}): string {
  const valueIndex = options.valueIndex ?? 0;
  if (!Number.isInteger(valueIndex) || valueIndex < 0 || valueIndex >= profile.sampleTypes.length) {
    throw new RangeError(
      `encoding folded stacks: value index ${valueIndex} out of range for ${profile.sampleTypes.length} sample types`,
    );
  }
  const totals = new Map<string, number>();
  for (const sample of profile.samples) {
    const value = sample.values[valueIndex] ?? 0;
    if (value === 0) continue;
    const elements = [foldedName(processNameOf(profile, sample))];
    for (const frame of rootFirst(sample)) {
      const name = foldedName(frameLabel(frame));
      elements.push(isKernelFrame(frame) ? name + KERNEL_FRAME_SUFFIX : name);
    }
    const stack = elements.join(';');
    totals.set(stack, (totals.get(stack) ?? 0) + value);
  }
  const lines = [...totals]
    .filter(([, value]) => value !== 0)
    .map(([stack, value]) => `${stack} ${value}`)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}
