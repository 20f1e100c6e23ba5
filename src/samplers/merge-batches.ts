import type { DropCounts, RawStackBatch, RawStackSample } from '../stacks/raw-stacks.js';

/** What makes two samples the same stack: the thread, its native frames and, where walked, its Python frames. */
function stackKey(s: RawStackSample): string {
  return `${s.tgid}/${s.tid}/${s.comm}/${s.userStack.join(',')}/${s.kernelStack.join(',')}/${s.pythonStack?.join(',') ?? ''}`;
}

/** Adds `from`'s counts into `into`, reason by reason. */
export function addDrops(into: DropCounts, from: DropCounts): void {
  for (const [reason, n] of Object.entries(from)) {
    if (n !== 0) into[reason] = (into[reason] ?? 0) + n;
  }
}

/**
 * Merges consecutive drains of one sampler into one batch: identical stacks of
 * the same thread have their values summed (levels, such as memory in use,
 * are the last batch's), drops are summed by reason, and the window spans
 * from the first start to the last end.
 */
export function mergeBatches(batches: readonly RawStackBatch[]): RawStackBatch {
  const first = batches[0];
  if (first === undefined) throw new Error('merging stack batches: no batch to merge');
  const merged = new Map<string, { sample: RawStackSample; values: number[] }>();
  const drops: DropCounts = {};
  let end = first.startTimeNs + first.durationNs;
  const levels = new Set(first.levels ?? []);
  const last = batches[batches.length - 1];
  for (const batch of batches) {
    addDrops(drops, batch.drops);
    const batchEnd = batch.startTimeNs + batch.durationNs;
    if (batchEnd > end) end = batchEnd;
    for (const sample of batch.samples) {
      const key = stackKey(sample);
      let seen = merged.get(key);
      if (seen === undefined) {
        seen = { sample, values: sample.values.map(() => 0) };
        merged.set(key, seen);
      }
      const into = seen.values;
      sample.values.forEach((v, i) => {
        if (!levels.has(i)) into[i] = (into[i] ?? 0) + v;
        else if (batch === last) into[i] = v;
      });
    }
  }
  return {
    valueTypes: first.valueTypes,
    periodType: first.periodType,
    period: first.period,
    ...(first.levels ? { levels: first.levels } : {}),
    startTimeNs: first.startTimeNs,
    durationNs: end - first.startTimeNs,
    // a stack whose blocks were all freed before the last batch has nothing left to say
    samples: [...merged.values()]
      .filter(({ values }) => levels.size === 0 || values.some((v) => v !== 0))
      .map(({ sample, values }) => ({ ...sample, values })),
    drops,
  };
}
