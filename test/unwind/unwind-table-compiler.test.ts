import { describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/elf/elf-file.js';
import { indexEhFrame } from '../../src/elf/eh-frame-index.js';
import { parseEhFrame } from '../../src/elf/eh-frame.js';
import { compileUnwindTable } from '../../src/unwind/unwind-table-compiler.js';
import { buildUnwindTable } from '../../src/unwind/unwind-table.js';
import { encodeUnwindTable } from '../../src/unwind/unwind-table-codec.js';

/** The reference build's table and stats, or its error message. */
function reference(bytes: Buffer, address: bigint, bases: { dataRel?: bigint; textRel?: bigint }): { table: Buffer; stats: unknown } | string {
  try {
    const built = buildUnwindTable(parseEhFrame(bytes, address, bases));
    return { table: encodeUnwindTable(built.rows), stats: built.stats };
  } catch (err) {
    return (err as Error).message;
  }
}

function sectionOf(path: string): { bytes: Buffer; address: bigint; bases: { dataRel?: bigint; textRel?: bigint } } {
  const elf = ElfFile.open(path);
  try {
    const sec = elf.section('.eh_frame')!;
    return { bytes: Buffer.from(sec.bytes()), address: sec.address, bases: { dataRel: elf.section('.got')?.address, textRel: elf.section('.text')?.address } };
  } finally {
    elf.close();
  }
}

describe('compileUnwindTable', () => {
  it.each(['/lib/x86_64-linux-gnu/libc.so.6', '/usr/bin/ls'])('gives the reference build\'s bytes and stats for %s', (path) => {
    const { bytes, address, bases } = sectionOf(path);
    const index = indexEhFrame(bytes, address, bases);
    expect(index).toBeDefined();
    const fast = compileUnwindTable(index!);
    expect(fast).toBeDefined();
    const ref = reference(bytes, address, bases);
    if (typeof ref === 'string') throw new Error(ref);
    expect(fast!.stats).toEqual(ref.stats);
    expect(fast!.table.equals(ref.table)).toBe(true);
  });

  it('never differs from the reference on corrupted sections: same table, or it hands the file back', () => {
    const { bytes, address, bases } = sectionOf('/usr/bin/ls');
    let seed = 13;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let compared = 0;
    for (let round = 0; round < 200; round++) {
      const b = Buffer.from(bytes);
      for (let k = 0; k < 1 + random(3); k++) b[random(b.length)] = random(256);
      const ref = reference(b, address, bases);
      const index = indexEhFrame(b, address, bases);
      const fast = index === undefined ? undefined : compileUnwindTable(index);
      if (fast === undefined) continue; // the reference decides, as file-unwind-table.ts does
      compared++;
      if (typeof ref === 'string') throw new Error(`round ${round}: fast path built a table where the reference fails: ${ref}`);
      expect(fast.stats, `round ${round}`).toEqual(ref.stats);
      expect(fast.table.equals(ref.table), `round ${round}`).toBe(true);
    }
    expect(compared).toBeGreaterThan(100);
  });
});
