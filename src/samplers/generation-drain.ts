import type { BpfObject } from '../kernel/index.js';
import type { DropCounts, RawStackBatch, RawStackSample, ValueType } from '../stacks/raw-stacks.js';
import { addDropDeltas, dropReasons, readAllDropTotals } from './sampler-maps.js';
import { createWallClock, sleepSync } from './wall-clock.js';

/** What a sampler's batches say about their values. */
export interface BatchShape {
  readonly valueTypes: readonly ValueType[];
  readonly periodType: ValueType;
  readonly period: number;
  readonly levels?: readonly number[];
}

/**
 * The two-generation drain both samplers share: which generation the BPF
 * program writes, the window each drain covers, and the running drop totals
 * whose growth each batch reports.
 */
export interface GenerationDrain {
  /** The generation the program writes now. */
  readonly generation: 0 | 1;
  /** After load: reads the drop totals and opens the first window. */
  begin(o: BpfObject): void;
  /**
   * Flips the generation (through `writeControl`), waits `settleMs` for
   * programs that read the old one just before, then returns what `read`
   * takes out of the old generation as one batch.
   */
  drain(o: BpfObject, writeControl: () => void, read: (old: 0 | 1, drops: DropCounts) => RawStackSample[]): RawStackBatch;
}

/** Creates the drain state for one sampler. */
export function createGenerationDrain(shape: BatchShape, reasons: readonly string[], dwarf: boolean, settleMs = 5): GenerationDrain {
  const clock = createWallClock();
  let generation: 0 | 1 = 0;
  let windowStart = 0n;
  let dropTotals: readonly number[] = [];
  return {
    get generation() { return generation; },
    begin(o) {
      dropTotals = readAllDropTotals(o, reasons, dwarf);
      windowStart = clock.nowNs();
    },
    drain(o, writeControl, read) {
      const old = generation;
      generation = old === 0 ? 1 : 0;
      writeControl();
      const windowEnd = clock.nowNs();
      // programs that read the old generation just before the flip finish
      // within microseconds; after this nothing writes the old maps
      sleepSync(settleMs);
      const drops: DropCounts = {};
      const samples = read(old, drops);
      const totals = readAllDropTotals(o, reasons, dwarf);
      addDropDeltas(drops, dropReasons(reasons, dwarf), dropTotals, totals);
      dropTotals = totals;
      const batch: RawStackBatch = { ...shape, startTimeNs: windowStart, durationNs: windowEnd - windowStart, samples, drops };
      windowStart = windowEnd;
      return batch;
    },
  };
}
