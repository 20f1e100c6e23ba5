import type { DropCounts, RawStackBatch, RawStackSample } from '../stacks/raw-stacks.js';

function stackKey(s: RawStackSample): string {
  return `${s.tgid}/${s.tid}/${s.comm}/${s.userStack.join(',')}/${s.kernelStack.join(',')}`;
}

/** Adds `from`'s counts into `into`, reason by reason. */
export function addDrops(into: DropCounts, from: DropCounts): void {
  for (const [reason, n] of Object.entries(from)) {
    if (n !== 0) into[reason] = (into[reason] ?? 0) + n;
  }
}

/**
 * Merges consecutive drains of one sampler into one batch: identical stacks of
 * the same thread have their values summed, drops are summed by reason, and
 * the window spans from the first start to the last end.
 */
export function mergeBatches(batches: readonly RawStackBatch[]): RawStackBatch {
  const first = batches[0];
  if (first === undefined) throw new Error('merging stack batches: no batch to merge');
  const merged = new Map<string, { sample: RawStackSample; values: number[] }>();
  const drops: DropCounts = {};
  let end = first.startTimeNs + first.durationNs;
  for (const batch of batches) {
    addDrops(drops, batch.drops);
    const batchEnd = batch.startTimeNs + batch.durationNs;
    if (batchEnd > end) end = batchEnd;
    for (const sample of batch.samples) {
      const key = stackKey(sample);
      const seen = merged.get(key);
      if (seen === undefined) {
        merged.set(key, { sample, values: [...sample.values] });
      } else {
        sample.values.forEach((v, i) => { seen.values[i] = (seen.values[i] ?? 0) + v; });
      }
    }
  }
  return {
    valueTypes: first.valueTypes,
    periodType: first.periodType,
    period: first.period,
    startTimeNs: first.startTimeNs,
    durationNs: end - first.startTimeNs,
    samples: [...merged.values()].map(({ sample, values }) => ({ ...sample, values })),
    drops,
  };
}
