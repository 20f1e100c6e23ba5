/**
 * The boundary between the kernel samplers and symbolization: stacks as the
 * kernel aggregated them, still as bare addresses.
 */

/** One kind of value a sample carries, in pprof terms (`samples`/`count`). */
export interface ValueType {
  readonly type: string;
  readonly unit: string;
}

/** Why a stack or a sample was lost or cut short; counts are kept per reason. */
export type DropCounts = Record<string, number>;

/**
 * One aggregated stack: every sample the kernel saw with the same thread,
 * user stack and kernel stack, summed. Addresses are leaf first.
 */
export interface RawStackSample {
  readonly tgid: number;
  readonly tid: number;
  /** Thread name (task comm) as the kernel saw it at sample time. */
  readonly comm: string;
  /** User-space return addresses, leaf first; empty when there is none. */
  readonly userStack: readonly bigint[];
  /** Kernel return addresses, leaf first; empty when there is none. */
  readonly kernelStack: readonly bigint[];
  /**
   * Python frames the kernel walked, innermost first, each packed as in
   * bpf/python.h (code object address, instruction offset, entry bit);
   * absent when the process runs no Python the walker knows.
   */
  readonly pythonStack?: readonly bigint[];
  /** One value per entry of the batch's `valueTypes`. */
  readonly values: readonly number[];
}

/** What one drain of a sampler returns: the deltas since the previous drain. */
export interface RawStackBatch {
  readonly valueTypes: readonly ValueType[];
  /** pprof period type and period (e.g. cpu/nanoseconds, 1e9/Hz). */
  readonly periodType: ValueType;
  readonly period: number;
  /**
   * Indices into valueTypes of values that are levels at the window's end
   * (memory still in use), not sums over it: merging keeps the last batch's.
   */
  readonly levels?: readonly number[];
  /** Wall-clock start of the window, Unix nanoseconds. */
  readonly startTimeNs: bigint;
  readonly durationNs: bigint;
  readonly samples: readonly RawStackSample[];
  /** Samples or stacks the kernel could not keep, by reason, in this window. */
  readonly drops: DropCounts;
}

/**
 * Which processes a sampler samples: 'all' (every process but the agent
 * itself), 'none' (no process at all), or exactly the listed thread-group
 * ids. An empty list selects no process, the same as 'none': only the string
 * 'all' ever means every process.
 */
export type TargetSelection = 'all' | 'none' | readonly number[];

/** A TargetSelection in canonical form: 'all', 'none', or a non-empty list of distinct tgids. */
export type NormalizedTargets = 'all' | 'none' | readonly [number, ...number[]];

/**
 * Canonicalizes a selection: an empty list becomes 'none', duplicates go.
 * A tgid must be a positive 32-bit integer: 0 is the idle task, never a way
 * to say "nothing" (that is 'none').
 */
export function normalizeTargets(targets: TargetSelection): NormalizedTargets {
  if (targets === 'all' || targets === 'none') return targets;
  for (const t of targets) {
    if (!Number.isInteger(t) || t <= 0 || t > 0xffff_ffff) {
      throw new RangeError(`selecting targets: ${t} is not a process id: pass positive tgids, or 'none' to sample no process`);
    }
  }
  const [first, ...rest] = new Set(targets);
  return first === undefined ? 'none' : [first, ...rest];
}
