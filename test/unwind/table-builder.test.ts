import { describe, expect, it } from 'vitest';
import { loadFileUnwindTable } from '../../src/unwind/file-unwind-table.js';
import { createInlineTableBuilder, createWorkerTableBuilder, type UnwindTableBuilder } from '../../src/unwind/table-builder.js';
import { unwindRowCount } from '../../src/unwind/unwind-table-codec.js';
import { loopTurnsDuring } from '../helpers/loop-turns-during.js';

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const LS = '/usr/bin/ls';

/** Builds `path` with `builder`, counting how often the event loop turned meanwhile. */
async function buildCountingTurns(builder: UnwindTableBuilder, path: string): Promise<{ rows: number; table: Buffer; turns: number }> {
  try {
    const { result: t, turns } = await loopTurnsDuring(() => builder.build(() => path));
    return { rows: unwindRowCount(t.table), table: t.table, turns };
  } finally {
    builder.close();
  }
}

describe('unwind table builder', () => {
  it('builds in a worker thread the same table as in the main thread, while the main thread keeps running', async () => {
    const expected = loadFileUnwindTable(LIBC);
    const worker = await buildCountingTurns(createWorkerTableBuilder(), LIBC);
    const inline = await buildCountingTurns(createInlineTableBuilder(), LIBC);
    console.log(`libc: ${worker.rows} rows; event-loop turns during the build: worker ${worker.turns}, inline ${inline.turns}`);
    expect(worker.rows).toBeGreaterThan(20_000);
    expect(worker.table.equals(expected.table)).toBe(true);
    expect(inline.table.equals(expected.table)).toBe(true);
    // Inline, the build holds the loop: it turns a couple of times at most.
    // In the worker, the loop keeps turning for the whole build (hundreds of ms).
    expect(inline.turns).toBeLessThanOrEqual(3);
    expect(worker.turns).toBeGreaterThan(50);
  });

  it('rejects a file it cannot read with the path and the cause, and keeps building after it', async () => {
    const b = createWorkerTableBuilder();
    try {
      await expect(b.build(() => '/nonexistent/lib.so')).rejects.toThrow(/building unwind table for \/nonexistent\/lib\.so: .*ENOENT|no such file/i);
      const t = await b.build(() => LIBC);
      expect(unwindRowCount(t.table)).toBeGreaterThan(20_000);
      expect(b.pending).toBe(0);
    } finally {
      b.close();
    }
  });

  it('drops a queued build whose signal aborted before the worker got to it', async () => {
    const b = createWorkerTableBuilder();
    try {
      const first = b.build(() => LIBC);
      const gone = new AbortController();
      const second = b.build(() => LS, gone.signal);
      const third = b.build(() => LS);
      gone.abort();
      await expect(second).rejects.toMatchObject({ name: 'AbortError' });
      expect(unwindRowCount((await first).table)).toBeGreaterThan(20_000);
      expect(unwindRowCount((await third).table)).toBeGreaterThan(1000);
    } finally {
      b.close();
    }
  });
});
