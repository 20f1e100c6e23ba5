/**
 * Which counted reasons lost a sample and which only degraded one that is
 * kept (a stack cut short, walked by frame pointers, a frame left
 * unsymbolized). They were reported together as "dropped", so a healthy Go
 * process showed its 282 samples as 282 drops: a counter must mean what it
 * says. Reasons not listed here lose the sample (counts map full, a live or
 * call map full, a request over a cap).
 */
import type { DropCounts } from './raw-stacks.js';

/** Reasons whose sample is in the profile, with less than a full, symbolized stack. */
export const DEGRADED_REASONS: ReadonlySet<string> = new Set([
  // bpf/sampler.h: the sample is kept with stack id -1
  'user_stack_lost', 'kernel_stack_lost',
  // a stack id the counts referenced but the map no longer held: kept with an empty stack
  'stack_missing', 'python_stack_missing',
  // bpf/unwinder.h enum unwind_drop_reason: "the sample itself is kept"
  'user_stack_truncated_depth', 'user_stack_truncated_no_unwind_info', 'user_stack_truncated_unreadable',
  'user_stack_no_process_tables', 'user_stack_id_collision', 'user_stack_map_full',
  'python_stack_unreadable', 'python_stack_truncated_depth', 'python_stack_id_collision', 'python_stack_map_full',
  // symbolize/symbolizer.ts SYMBOLIZE_DROPS: frames kept, as addresses
  'symbolize_address_unmapped', 'symbolize_process_unknown', 'symbolize_kernel_unresolved', 'symbolize_python_code_unreadable',
]);

/** Whether a counted reason only degraded a kept sample. */
export function isDegraded(reason: string): boolean {
  return DEGRADED_REASONS.has(reason);
}

/** Splits counts into samples lost and samples kept but degraded; zero counts are left out. */
export function splitDrops(drops: DropCounts): { readonly dropped: DropCounts; readonly degraded: DropCounts } {
  const dropped: DropCounts = {};
  const degraded: DropCounts = {};
  for (const [reason, n] of Object.entries(drops)) {
    if (n > 0) (isDegraded(reason) ? degraded : dropped)[reason] = n;
  }
  return { dropped, degraded };
}
