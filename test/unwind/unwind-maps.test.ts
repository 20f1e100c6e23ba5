/** The walker maps on this kernel (real BPF, as root). */
import { constants } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { ResourceLimitError } from '../../src/kernel/index.js';
import { createUnwindMapSet } from '../../src/unwind/unwind-maps.js';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';

describe('createUnwindMapSet', () => {
  beforeAll(() => requirePrerequisites(bpfSkipReason()));

  it('reports maps the kernel will not size as a ResourceLimitError, so callers can fall back by type', () => {
    // a hash map of more than 2^31 entries is refused with E2BIG before anything is allocated
    let err: unknown;
    try {
      createUnwindMapSet({ rowChunks: 1, tables: 1, procs: 2 ** 31 + 1 }).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ResourceLimitError);
    expect(err).toMatchObject({ errno: constants.errno.E2BIG });
    expect((err as Error).message).toMatch(/^creating the \.eh_frame walker maps: creating map unwind_procs \(2147483649 entries/);
  });

  it('makes small maps and says how much kernel memory they hold', () => {
    const set = createUnwindMapSet({ rowChunks: 2, tables: 2, procs: 2 });
    try {
      expect(set.rows.maxEntries).toBe(2);
      expect(set.bytes).toBeGreaterThan(2 * 1024);
    } finally {
      set.close();
    }
  });
});
