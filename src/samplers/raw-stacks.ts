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
  /** One value per entry of the batch's `valueTypes`. */
  readonly values: readonly number[];
}

/** What one drain of a sampler returns: the deltas since the previous drain. */
export interface RawStackBatch {
  readonly valueTypes: readonly ValueType[];
  /** pprof period type and period (e.g. cpu/nanoseconds, 1e9/Hz). */
  readonly periodType: ValueType;
  readonly period: number;
  /** Wall-clock start of the window, Unix nanoseconds. */
  readonly startTimeNs: bigint;
  readonly durationNs: bigint;
  readonly samples: readonly RawStackSample[];
  /** Samples or stacks the kernel could not keep, by reason, in this window. */
  readonly drops: DropCounts;
}

/** A kernel sampler: started once, drained once per interval, then stopped. */
export interface StackSampler {
  /** Optional slow work before start(), such as building the unwind tables of named targets. */
  prepare?(): Promise<void>;
  start(): void;
  /** Reads and clears what the kernel aggregated since the last drain. */
  drain(): RawStackBatch;
  /** Target thread-group ids; an empty filter means every process. */
  setTargets(tgids: readonly number[] | 'all'): void;
  stop(): void;
}
