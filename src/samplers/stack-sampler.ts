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
  /** Changes which processes are sampled from now on; see TargetSelection ([] selects none). */
  setTargets(targets: TargetSelection): void;
  stop(): void;
}
