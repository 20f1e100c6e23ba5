import type { RawStackBatch, TargetSelection } from '../stacks/raw-stacks.js';

/** A kernel sampler: started once, drained once per interval, then stopped. */
export interface StackSampler {
  /** Optional slow work before start(), such as building the unwind tables of named targets. */
  prepare?(): Promise<void>;
  /**
   * Optional: loads the programs (the verifier's work, hundreds of
   * milliseconds for the walker) without sampling yet, so a caller can do it
   * while it waits for something else; start() then only attaches. Without
   * it, start() loads and attaches.
   */
  load?(): void;
  start(): void;
  /** Reads and clears what the kernel aggregated since the last drain. */
  drain(): RawStackBatch;
  /**
   * The longest a caller may leave the kernel maps undrained without risking
   * a full map (half the time every sample a new stack would take to fill
   * them); undefined: about a second.
   */
  readonly drainEveryMs?: number | undefined;
  /** Changes which processes are sampled from now on; see TargetSelection ([] selects none). */
  setTargets(targets: TargetSelection): void;
  stop(): void;
}

/**
 * `sampler` with its drain() replaced by `drain(inner)`; every other method
 * (prepare and load where it has them) passes through. For wrappers that
 * add to each batch: the unwinder's asks and drops, Python frame names.
 */
export function withDrain(sampler: StackSampler, drain: (inner: StackSampler) => RawStackBatch): StackSampler {
  return {
    ...(sampler.prepare ? { prepare: () => sampler.prepare!() } : {}),
    ...(sampler.load ? { load: () => sampler.load!() } : {}),
    start: () => sampler.start(),
    stop: () => sampler.stop(),
    setTargets: (t) => sampler.setTargets(t),
    drain: () => drain(sampler),
    get drainEveryMs() {
      return sampler.drainEveryMs;
    },
  };
}
