import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as row from '../../src/unwind/unwind-row.js';
import { decodeUnwindRow, encodeUnwindTable, findUnwindRow, UNWIND_ROW_SIZE } from '../../src/unwind/unwind-table-codec.js';

const header = fileURLToPath(new URL('../../bpf/unwind.h', import.meta.url));

describe('bpf/unwind.h mirrors the TypeScript row layout', () => {
  it('has the same size, field offsets and enum values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-unwind-h-'));
    const src = join(dir, 'layout.c');
    writeFileSync(src, `#include <linux/types.h>
#include <stddef.h>
#include <stdio.h>
#include "${header}"
int main(void) {
  struct unwind_row r = { .pc = 0x1122334455667788ull, .cfa_offset = -70008, .rbp_offset = -16, .cfa_type = UNWIND_CFA_RBP, .rbp_type = UNWIND_RBP_CFA_OFFSET };
  const unsigned char *b = (const unsigned char *)&r;
  printf("%zu %zu %zu %zu %zu %zu\\n", sizeof r, offsetof(struct unwind_row, pc), offsetof(struct unwind_row, cfa_offset),
         offsetof(struct unwind_row, rbp_offset), offsetof(struct unwind_row, cfa_type), offsetof(struct unwind_row, rbp_type));
  printf("%d %d %d %d %d %d %d %d %d %d\\n", UNWIND_CFA_NONE, UNWIND_CFA_RSP, UNWIND_CFA_RBP, UNWIND_CFA_PLT, UNWIND_CFA_END,
         UNWIND_CFA_UNSUPPORTED, UNWIND_RBP_UNCHANGED, UNWIND_RBP_CFA_OFFSET, UNWIND_RBP_UNSUPPORTED, UNWIND_RA_CFA_OFFSET);
  for (size_t i = 0; i < sizeof r; i++) printf("%02x", b[i]);
  printf("\\n");
  return 0;
}
`);
    execFileSync('gcc', ['-o', join(dir, 'layout'), src]);
    const [sizes, enums, bytes] = execFileSync(join(dir, 'layout'), { encoding: 'utf8' }).trim().split('\n');
    expect(sizes).toBe(`${UNWIND_ROW_SIZE} 0 8 12 14 15`);
    expect(enums).toBe([row.CFA_NONE, row.CFA_RSP, row.CFA_RBP, row.CFA_PLT, row.CFA_END, row.CFA_UNSUPPORTED,
      row.RBP_UNCHANGED, row.RBP_CFA_OFFSET, row.RBP_UNSUPPORTED, row.RA_CFA_OFFSET].join(' '));
    const ts = encodeUnwindTable([{ pc: 0x1122334455667788n, cfaOffset: -70008, rbpOffset: -16, cfaType: row.CFA_RBP, rbpType: row.RBP_CFA_OFFSET }]);
    expect(ts.toString('hex')).toBe(bytes);
  });
});

describe('unwind table codec', () => {
  const rows: row.UnwindRow[] = [
    { pc: 0x1000n, cfaType: row.CFA_RSP, cfaOffset: 8, rbpType: row.RBP_UNCHANGED, rbpOffset: 0 },
    { pc: 0x1001n, cfaType: row.CFA_RSP, cfaOffset: 16, rbpType: row.RBP_CFA_OFFSET, rbpOffset: -16 },
    { pc: 0x1040n, cfaType: row.CFA_NONE, cfaOffset: 0, rbpType: row.RBP_UNCHANGED, rbpOffset: 0 },
    { pc: 0x2000n, cfaType: row.CFA_PLT, cfaOffset: 8, rbpType: row.RBP_UNCHANGED, rbpOffset: 11 },
  ];
  const table = encodeUnwindTable(rows);

  it('round-trips rows and finds the covering row by binary search', () => {
    expect(table.length).toBe(4 * UNWIND_ROW_SIZE);
    expect(rows.map((_, i) => decodeUnwindRow(table, i))).toEqual(rows);
    expect(findUnwindRow(table, 0xfffn)).toBeUndefined();
    expect(findUnwindRow(table, 0x1000n)).toEqual(rows[0]);
    expect(findUnwindRow(table, 0x103fn)).toEqual(rows[1]);
    expect(findUnwindRow(table, 0x1040n)?.cfaType).toBe(row.CFA_NONE);
    expect(findUnwindRow(table, 0xffff_ffffn)).toEqual(rows[3]);
  });

  it('rejects unsorted rows and offsets that do not fit', () => {
    expect(() => encodeUnwindTable([rows[1]!, rows[0]!])).toThrow(/encoding unwind table: row 1 pc 0x1000 is not above/);
    expect(() => encodeUnwindTable([{ ...rows[1]!, rbpOffset: 40000 }])).toThrow(/encoding unwind table: row 0/);
  });
});
