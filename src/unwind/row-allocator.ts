/**
 * First-fit allocation of contiguous row runs in the BPF unwind_rows array:
 * each file's table is one run, freed when no process maps the file.
 * Freed runs merge with their neighbours, so a long-running agent only
 * fragments as much as its live tables' sizes differ.
 */

/** A run of rows: [first, first + count). */
export interface RowRun {
  readonly first: number;
  readonly count: number;
}

/** Allocates and frees runs of a fixed-size row array. */
export interface RowAllocator {
  /** A run of `count` rows, or undefined when no free run is long enough. */
  allocate(count: number): RowRun | undefined;
  free(run: RowRun): void;
  /** Rows currently allocated. */
  readonly used: number;
  readonly capacity: number;
}

/** Creates an allocator over `capacity` rows, all free. */
export function createRowAllocator(capacity: number): RowAllocator {
  // free runs sorted by first row, never adjacent (merged on free)
  let free: RowRun[] = capacity > 0 ? [{ first: 0, count: capacity }] : [];
  let used = 0;
  return {
    allocate(count) {
      if (count <= 0) return { first: 0, count: 0 };
      const i = free.findIndex((r) => r.count >= count);
      if (i < 0) return undefined;
      const r = free[i]!;
      if (r.count === count) free.splice(i, 1);
      else free[i] = { first: r.first + count, count: r.count - count };
      used += count;
      return { first: r.first, count };
    },
    free(run) {
      if (run.count <= 0) return;
      used -= run.count;
      const merged = [...free, run].sort((a, b) => a.first - b.first);
      free = [];
      for (const r of merged) {
        const last = free[free.length - 1];
        if (last !== undefined && last.first + last.count === r.first) free[free.length - 1] = { first: last.first, count: last.count + r.count };
        else free.push(r);
      }
    },
    get used() {
      return used;
    },
    capacity,
  };
}
