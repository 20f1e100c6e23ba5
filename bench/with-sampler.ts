/**
 * Runs a workload under a started sampler, draining it on a timer as the
 * agent does, so an overhead benchmark pays for the drains too.
 */
import type { RawStackBatch } from '../src/stacks/raw-stacks.js';
import type { StackSampler } from '../src/samplers/stack-sampler.js';

/** Options for withSampler. */
export interface WithSamplerOptions {
  /** Drain period; default 1000 ms, as the agent's default. */
  readonly intervalMs?: number;
  /** Called after the last drain, before stop() unloads the programs: to read their run stats. */
  readonly beforeStop?: () => void;
}

/**
 * Starts `sampler`, awaits `work` while draining every `intervalMs`, drains
 * once more at the end and stops it. Every batch goes to `onBatch`. The
 * sampler is started before the workload and stopped after it, so load and
 * attach times stay out of the workload's own timing.
 */
export async function withSampler<T>(
  sampler: StackSampler,
  work: () => Promise<T>,
  onBatch: (batch: RawStackBatch) => void,
  options: WithSamplerOptions = {},
): Promise<T> {
  sampler.start();
  let drainError: unknown;
  const timer = setInterval(() => {
    try {
      onBatch(sampler.drain());
    } catch (err) {
      drainError ??= err;
    }
  }, options.intervalMs ?? 1000);
  try {
    const result = await work();
    clearInterval(timer);
    if (drainError !== undefined) throw drainError;
    onBatch(sampler.drain());
    options.beforeStop?.();
    return result;
  } finally {
    clearInterval(timer);
    sampler.stop();
  }
}

/** Adds a batch's drops into running totals, by reason. */
export function addDrops(totals: Record<string, number>, drops: Readonly<Record<string, number>>): void {
  for (const [reason, n] of Object.entries(drops)) if (n > 0) totals[reason] = (totals[reason] ?? 0) + n;
}

/** `reason=n,...` per run, or `none`: one metric value that survives the JSON and the table. */
export function formatDropsPerRun(totals: Readonly<Record<string, number>>, runs: number): string {
  const parts = Object.entries(totals).map(([reason, n]) => `${reason}=${Math.round(n / runs)}`);
  return parts.length > 0 ? parts.join(',') : 'none';
}
