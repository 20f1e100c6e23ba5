import { describe, expect, it } from 'vitest';
import { encodeUnwindTable, findUnwindRow } from '../../src/unwind/unwind-table-codec.js';
import {
  CFA_END, CFA_NONE, CFA_PLT, CFA_RBP, CFA_RSP, CFA_UNSUPPORTED, RBP_CFA_OFFSET, RBP_UNCHANGED, RBP_UNSUPPORTED, type UnwindRow,
} from '../../src/unwind/unwind-row.js';
import { unwindStack, type FindUnwindRow, type ReadMemory } from '../../src/unwind/unwind-stack.js';

const r = (pc: number, cfaType: UnwindRow['cfaType'], cfaOffset = 0, rbpType: UnwindRow['rbpType'] = RBP_UNCHANGED, rbpOffset = 0): UnwindRow =>
  ({ pc: BigInt(pc), cfaType, cfaOffset, rbpType, rbpOffset });

// One synthetic file mapped with a load bias of 0x10000.
const BIAS = 0x10000n;
const table = encodeUnwindTable([
  r(0x1000, CFA_RSP, 16), r(0x1100, CFA_NONE),
  r(0x2000, CFA_RBP, 16, RBP_CFA_OFFSET, -16), r(0x2100, CFA_NONE),
  r(0x3000, CFA_PLT, 8, RBP_UNCHANGED, 11), r(0x3100, CFA_NONE),
  r(0x4000, CFA_END), r(0x4100, CFA_NONE),
  r(0x5000, CFA_UNSUPPORTED), r(0x5100, CFA_NONE),
  r(0x6000, CFA_RSP, 8, RBP_UNSUPPORTED), r(0x6100, CFA_NONE),
]);
const find: FindUnwindRow = (pc) => {
  const row = pc >= BIAS ? findUnwindRow(table, pc - BIAS) : undefined;
  return row === undefined ? undefined : { row, bias: BIAS };
};
const at = (a: number): bigint => BIAS + BigInt(a);

/** A stack of 8-byte words; addresses not in the map are unreadable. */
function memory(words: Record<number, bigint>): ReadMemory {
  return (address, length) => {
    const v = words[Number(address)];
    if (v === undefined || length !== 8) return undefined;
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    return b;
  };
}

// leaf (rsp+16) <- rbp-framed caller <- PLT stub after its push <- _start-like end.
const stack = { 0x7008: at(0x2006), 0x7100: 0x7200n, 0x7108: at(0x300c), 0x7118: at(0x4001) };
const regs = { rip: at(0x1010), rsp: 0x7000n, rbp: 0x7100n };

describe('unwindStack', () => {
  it('applies rsp, rbp (restoring the saved rbp) and PLT rules up to the end of the stack', () => {
    expect(unwindStack(regs, memory(stack), find, 127)).toEqual({
      frames: [at(0x1010), at(0x2006), at(0x300c), at(0x4001)],
      stop: 'end-of-stack',
    });
  });

  it('uses the PLT threshold: before the push the CFA is 8 bytes lower', () => {
    // rip & 15 = 6 < 11: cfa = rsp + 8, so the return address is at rsp.
    const r2 = unwindStack({ rip: at(0x3006), rsp: 0x7110n, rbp: 0n }, memory({ 0x7110: at(0x4001) }), find, 127);
    expect(r2).toEqual({ frames: [at(0x3006), at(0x4001)], stop: 'end-of-stack' });
  });

  it('reports each truncation reason', () => {
    expect(unwindStack(regs, memory(stack), find, 2)).toEqual({ frames: [at(0x1010), at(0x2006)], stop: 'depth-limit' });
    expect(unwindStack(regs, memory({ ...stack, 0x7118: undefined as unknown as bigint }), find, 127))
      .toEqual({ frames: [at(0x1010), at(0x2006), at(0x300c)], stop: 'unreadable-memory' });
    expect(unwindStack(regs, memory({ ...stack, 0x7008: at(0x1101) }), find, 127))
      .toEqual({ frames: [at(0x1010), at(0x1101)], stop: 'missing-unwind-info' });
    expect(unwindStack(regs, memory({ ...stack, 0x7008: 0x42n }), find, 127))
      .toEqual({ frames: [at(0x1010), 0x42n], stop: 'missing-unwind-info' });
    expect(unwindStack(regs, memory({ ...stack, 0x7008: at(0x5001) }), find, 127))
      .toEqual({ frames: [at(0x1010), at(0x5001)], stop: 'unsupported-rule' });
    expect(unwindStack(regs, memory({ ...stack, 0x7008: 0n }), find, 127)).toEqual({ frames: [at(0x1010)], stop: 'end-of-stack' });
  });

  it('looks return addresses up at pc - 1 but the leaf at pc', () => {
    // A return address right after a noreturn call is the first byte past the FDE.
    expect(unwindStack({ ...regs, rip: at(0x2100) }, memory(stack), find, 127).stop).toBe('missing-unwind-info');
    expect(unwindStack(regs, memory({ ...stack, 0x7008: at(0x2100) }), find, 127).frames).toEqual([at(0x1010), at(0x2100), at(0x300c), at(0x4001)]);
  });

  it('refuses an rbp-based CFA once the saved rbp was lost', () => {
    // 0x6000 loses rbp (RBP_UNSUPPORTED); its caller at 0x2000 needs rbp for its CFA.
    const words = { 0x7008: at(0x6001), 0x7010: at(0x2006) };
    expect(unwindStack(regs, memory(words), find, 127)).toEqual({ frames: [at(0x1010), at(0x6001), at(0x2006)], stop: 'unsupported-rule' });
  });
});
