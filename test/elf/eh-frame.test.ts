import { describe, expect, it } from 'vitest';
import { runCfaProgram, type CfaRow } from '../../src/elf/dwarf-cfa.js';
import { DwarfCursor } from '../../src/elf/dwarf-cursor.js';
import { parseEhFrame } from '../../src/elf/eh-frame.js';
import { parseEhFrameHdr, findEhFrameHdrEntry } from '../../src/elf/eh-frame-hdr.js';
import { readEncodedPointer } from '../../src/elf/eh-frame-pointer.js';
import { buildUnwindTable } from '../../src/unwind/unwind-table.js';
import { CFA_END, CFA_NONE, CFA_PLT, CFA_RBP, CFA_RSP, CFA_UNSUPPORTED, RBP_CFA_OFFSET, RBP_UNCHANGED } from '../../src/unwind/unwind-row.js';

const uleb = (v: number): number[] => {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
};
const sleb = (v: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};
const u32 = (v: number): number[] => [...Buffer.from(new Uint32Array([v >>> 0]).buffer)];
const s32 = (v: number): number[] => [...Buffer.from(new Int32Array([v]).buffer)];
const PLT_EXPR = [0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22];
const SECTION = 0x4000;

/** Lays out entries; `body(at)` gets the section offset of the entry's id field. */
function section(...entries: ((idAt: number) => number[])[]): Buffer {
  const out: number[] = [];
  for (const e of entries) {
    const body = e(out.length + 4);
    out.push(...u32(body.length), ...body);
  }
  out.push(...u32(0), 0xde, 0xad); // terminator, then bytes that must be ignored
  return Buffer.from(out);
}

/** A "zPLR" CIE: indirect pcrel personality at 0x5000, pcrel sdata4 LSDA and FDE pointers. */
const ciePLR = (idAt: number): number[] => {
  const head = [...u32(0), 1, ...Buffer.from('zPLR\0'), ...uleb(1), ...sleb(-8), 16];
  const personalityField = SECTION + idAt + head.length + 1 /* aug length */ + 1 /* P encoding */;
  const aug = [0x9b, ...s32(0x5000 - personalityField), 0x1b, 0x1b];
  return [...head, ...uleb(aug.length), ...aug, 0x0c, 7, 8, 0x90, 1, 0, 0];
};

/** An FDE for [pc, pc+range) against the CIE at offset 0, pcrel sdata4, with an LSDA. */
const fdePLR = (pc: number, range: number, lsda: number, program: number[]) => (idAt: number): number[] => {
  const pcField = SECTION + idAt + 4;
  const lsdaField = pcField + 8 + 1;
  return [...u32(idAt - 0), ...s32(pc - pcField), ...s32(range), 4, ...s32(lsda - lsdaField), ...program];
};

const program = [
  0x41, // advance_loc 1
  0x0e, 16, // def_cfa_offset 16
  0x86, 2, // offset rbp at cfa-16
  0x44, // advance_loc 4
  0x0a, // remember_state
  0x0d, 6, // def_cfa_register rbp
  0x42, // advance_loc 2
  0x12, 7, ...sleb(-3), // def_cfa_sf rsp, -3 * -8 = 24
  0x11, 3, ...sleb(3), // offset_extended_sf rbx at 3 * -8
  0x2e, 16, // GNU_args_size
  0x02, 5, // advance_loc1 5
  0x0b, // restore_state
  0x16, 12, 2, 0x77, 0x00, // val_expression r12
  0x09, 13, 0, // register r13 in rax
  0x03, 16, 0, // advance_loc2 16
  0xc6, // restore rbp
  0x08, 3, // same_value rbx
  0x07, 16, // undefined rip
  0x44, // advance_loc 4
  0x90, 1, // offset rip at cfa-8 again
  0x0f, PLT_EXPR.length, ...PLT_EXPR, // def_cfa_expression
  0x41,
  0x0c, 2, 8, // def_cfa rcx+8: no table form
  0x00, 0x00,
];

function rules(rows: CfaRow[]): string[] {
  return rows.map((r) => {
    const cfa = r.cfa.kind === 'register' ? `r${r.cfa.register}+${r.cfa.offset}` : `exp${r.cfa.expression.length}`;
    const regs = [...r.registers].sort(([a], [b]) => a - b).map(([n, x]) => `${n}:${x.kind}${'offset' in x ? x.offset : ''}`);
    return `${r.pc.toString(16)} ${cfa} ${regs.join(' ')}`;
  });
}

describe('parseEhFrame', () => {
  const bytes = section(ciePLR, fdePLR(0x1000, 0x40, 0x6000, program), fdePLR(0x1100, 0x10, 0x6100, []));
  const eh = parseEhFrame(bytes, BigInt(SECTION));

  it('decodes a "zPLR" CIE and its FDEs with pcrel, indirect and LSDA pointers', () => {
    expect(eh.cies).toHaveLength(1);
    const cie = eh.cies[0]!;
    expect(cie).toMatchObject({ version: 1, augmentation: 'zPLR', codeAlign: 1, dataAlign: -8, returnRegister: 16, fdeEncoding: 0x1b, lsdaEncoding: 0x1b, personality: 0x5000n, signalFrame: false });
    expect(eh.fdes.map((f) => [f.pcBegin, f.pcEnd, f.lsda])).toEqual([[0x1000n, 0x1040n, 0x6000n], [0x1100n, 0x1110n, 0x6100n]]);
    expect(eh.fdes[0]!.instructions).toEqual(Buffer.from(program));
  });

  it('runs every CFA opcode of the program to the rows readelf would print', () => {
    expect(rules(runCfaProgram(eh.fdes[0]!))).toEqual([
      '1000 r7+8 16:offset-8',
      '1001 r7+16 6:offset-16 16:offset-8',
      '1005 r6+16 6:offset-16 16:offset-8',
      '1007 r7+24 3:offset-24 6:offset-16 16:offset-8',
      '100c r7+16 6:offset-16 12:val-expression 13:register 16:offset-8',
      '101c r7+16 3:same-value 12:val-expression 13:register 16:undefined',
      '1020 exp11 3:same-value 12:val-expression 13:register 16:offset-8',
      '1021 r2+8 3:same-value 12:val-expression 13:register 16:offset-8',
    ]);
    // An FDE without instructions is the CIE's initial row.
    expect(rules(runCfaProgram(eh.fdes[1]!))).toEqual(['1100 r7+8 16:offset-8']);
  });

  it('builds the compact table: merged rows, PLT, end of stack, gaps, unsupported counted', () => {
    const t = buildUnwindTable(eh);
    expect(t.rows.map((r) => [r.pc, r.cfaType, r.cfaOffset, r.rbpType, r.rbpOffset])).toEqual([
      [0x1000n, CFA_RSP, 8, RBP_UNCHANGED, 0],
      [0x1001n, CFA_RSP, 16, RBP_CFA_OFFSET, -16],
      [0x1005n, CFA_RBP, 16, RBP_CFA_OFFSET, -16],
      [0x1007n, CFA_RSP, 24, RBP_CFA_OFFSET, -16],
      [0x100cn, CFA_RSP, 16, RBP_CFA_OFFSET, -16],
      [0x101cn, CFA_END, 0, RBP_UNCHANGED, 0],
      [0x1020n, CFA_PLT, 8, RBP_UNCHANGED, 11],
      [0x1021n, CFA_UNSUPPORTED, 0, RBP_UNCHANGED, 0],
      [0x1040n, CFA_NONE, 0, RBP_UNCHANGED, 0],
      [0x1100n, CFA_RSP, 8, RBP_UNCHANGED, 0],
      [0x1110n, CFA_NONE, 0, RBP_UNCHANGED, 0],
    ]);
    expect(t.stats).toMatchObject({ fdes: 2, cfaRows: 9, rows: 11, pltRows: 1, endRows: 1, unsupportedCfa: 1, overlaps: 0, invalidFdes: 0 });
  });

  it('handles "zRS" signal frames, datarel sdata4 pointers and 64-bit DWARF lengths', () => {
    const cie = [...u32(0), 1, ...Buffer.from('zRS\0'), 1, ...sleb(-8), 16, 1, 0x3b, 0x0c, 7, 8, 0x90, 1];
    const out = [...u32(cie.length), ...cie];
    // A 64-bit entry: 0xffffffff, u64 length, u64 CIE pointer (relative to its own offset).
    const at = out.length;
    const rest = [...s32(0x2000 - 0x8000), ...s32(0x20), 0];
    const ciePointer = at + 12; // the pointer field's offset minus the CIE's (0)
    const body64 = [...u32(ciePointer), ...u32(0), ...rest];
    out.push(...u32(0xffffffff), ...u32(body64.length), ...u32(0), ...body64);
    const parsed = parseEhFrame(Buffer.from(out), 0n, { dataRel: 0x8000n });
    expect(parsed.cies[0]!.signalFrame).toBe(true);
    expect(parsed.fdes.map((f) => [f.pcBegin, f.pcEnd])).toEqual([[0x2000n, 0x2020n]]);
  });

  it('fails with the entry offset on truncated input', () => {
    const cut = bytes.subarray(0, 40);
    expect(() => parseEhFrame(cut, BigInt(SECTION))).toThrow(/^parsing eh_frame at 0x[0-9a-f]+: /);
  });
});

describe('readEncodedPointer', () => {
  const M = 1n << 64n;
  const read = (bytes: number[], enc: number, extra: object = {}): bigint | undefined =>
    readEncodedPointer(new DwarfCursor(Buffer.from(bytes)), enc, { sectionAddress: 0x100n, ...extra });

  it('decodes every value format', () => {
    expect(read([0xe5, 0x8e, 0x26], 0x01)).toBe(624485n);
    // Pointers are addresses: negative values wrap to 64 bits.
    expect(read([0xc0, 0xbb, 0x78], 0x09)).toBe(M - 123456n);
    expect(read([0x34, 0x12], 0x02)).toBe(0x1234n);
    expect(read([0xfe, 0xff], 0x0a)).toBe(M - 2n);
    expect(read(u32(0xfffffff0), 0x03)).toBe(0xfffffff0n);
    expect(read(s32(-16), 0x0b)).toBe(M - 16n);
    expect(read([1, 2, 3, 4, 5, 6, 7, 8], 0x04)).toBe(0x0807060504030201n);
    expect(read([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0x0c)).toBe(M - 1n);
    expect(read([], 0xff)).toBeUndefined();
  });

  it('applies pcrel, textrel, datarel, funcrel, aligned and indirect', () => {
    expect(read(s32(-0x10), 0x1b)).toBe(0xf0n);
    expect(read(u32(0x10), 0x23, { textRel: 0x1000n })).toBe(0x1010n);
    expect(read(u32(0x10), 0x33, { dataRel: 0x2000n })).toBe(0x2010n);
    expect(read(u32(0x10), 0x43, { funcRel: 0x3000n })).toBe(0x3010n);
    expect(readEncodedPointer(new DwarfCursor(Buffer.from([0xaa, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]), 1), 0x50, { sectionAddress: 0x105n })).toBe(0x0807060504030201n);
    expect(read(s32(0x10), 0x9b, { readIndirect: (a: bigint) => a * 2n })).toBe(0x220n);
    expect(() => read(u32(0), 0x33)).toThrow(/datarel encoding but no datarel base/);
  });
});

describe('parseEhFrameHdr', () => {
  it('decodes the datarel sdata4 search table and finds entries by pc', () => {
    // version 1, eh_frame_ptr pcrel sdata4, fde_count udata4, table datarel sdata4
    const hdr = Buffer.from([1, 0x1b, 0x03, 0x3b, ...s32(0x100 - 4), ...u32(2), ...s32(-0x1000), ...s32(0x200), ...s32(-0x800), ...s32(0x240)]);
    const parsed = parseEhFrameHdr(hdr, 0x3000n);
    expect(parsed.ehFrameAddress).toBe(0x3100n);
    expect(parsed.table).toEqual([{ pc: 0x2000n, fdeAddress: 0x3200n }, { pc: 0x2800n, fdeAddress: 0x3240n }]);
    expect(findEhFrameHdrEntry(parsed, 0x27ffn)?.pc).toBe(0x2000n);
    expect(findEhFrameHdrEntry(parsed, 0x1fffn)).toBeUndefined();
  });
});
