/**
 * Runs DWARF call frame instructions (DWARF 5 §6.4.2) for one FDE and
 * returns the rows of its CFA table: from each row's pc on, how to compute
 * the CFA and where every register that changed was saved.
 */
import { DwarfCursor } from './dwarf-cursor.js';
import { readEncodedPointer } from './eh-frame-pointer.js';
import type { Fde } from './eh-frame.js';

/** How the Canonical Frame Address is computed. */
export type CfaRule =
  | { readonly kind: 'register'; readonly register: number; readonly offset: number }
  | { readonly kind: 'expression'; readonly expression: Buffer };

/** Where a register's caller value is; registers without a rule keep their value. */
export type RegisterRule =
  | { readonly kind: 'undefined' }
  | { readonly kind: 'same-value' }
  | { readonly kind: 'offset'; readonly offset: number }
  | { readonly kind: 'val-offset'; readonly offset: number }
  | { readonly kind: 'register'; readonly register: number }
  | { readonly kind: 'expression'; readonly expression: Buffer }
  | { readonly kind: 'val-expression'; readonly expression: Buffer };

/** One row: valid from `pc` up to the next row's pc (or the FDE's end). */
export interface CfaRow {
  readonly pc: bigint;
  readonly cfa: CfaRule;
  readonly registers: ReadonlyMap<number, RegisterRule>;
}

interface State {
  cfa: CfaRule;
  registers: Map<number, RegisterRule>;
}

/**
 * The CFA table of `fde`: the CIE's initial instructions, then the FDE's.
 * Throws "running cfa program of fde at 0xOFF: cause" on unknown opcodes.
 */
export function runCfaProgram(fde: Fde): CfaRow[] {
  const { cie } = fde;
  const initial: State = { cfa: { kind: 'register', register: 0, offset: 0 }, registers: new Map() };
  const rows: CfaRow[] = [];
  const ctx = { loc: fde.pcBegin, initial: undefined as Map<number, RegisterRule> | undefined };
  try {
    execute(new DwarfCursor(cie.instructions), fde, initial, ctx, rows);
    ctx.initial = new Map(initial.registers);
    // Rows the CIE might emit belong to no pc; only the final state seeds the FDE.
    rows.length = 0;
    ctx.loc = fde.pcBegin;
    execute(new DwarfCursor(fde.instructions), fde, initial, ctx, rows);
  } catch (err) {
    throw new Error(`running cfa program of fde at 0x${fde.offset.toString(16)}: ${(err as Error).message}`);
  }
  if (ctx.loc < fde.pcEnd || rows.length === 0) rows.push(snapshot(ctx.loc, initial));
  return rows;
}

function snapshot(pc: bigint, s: State): CfaRow {
  return { pc, cfa: s.cfa, registers: new Map(s.registers) };
}

function execute(
  cur: DwarfCursor, fde: Fde, s: State,
  ctx: { loc: bigint; initial: Map<number, RegisterRule> | undefined }, rows: CfaRow[],
): void {
  const { codeAlign, dataAlign } = fde.cie;
  const stack: State[] = [];
  const advance = (to: bigint): void => {
    if (to > ctx.loc) rows.push(snapshot(ctx.loc, s));
    ctx.loc = to;
  };
  const restore = (reg: number): void => {
    const rule = ctx.initial?.get(reg);
    if (rule === undefined) s.registers.delete(reg);
    else s.registers.set(reg, rule);
  };
  const cfaOffset = (offset: number): void => {
    // An offset change only makes sense for a register rule; keep expressions as they are.
    if (s.cfa.kind === 'register') s.cfa = { ...s.cfa, offset };
  };
  while (!cur.done) {
    const op = cur.u8();
    const high = op & 0xc0;
    const low = op & 0x3f;
    if (high === 0x40) { advance(ctx.loc + BigInt(low * codeAlign)); continue; }
    if (high === 0x80) { s.registers.set(low, { kind: 'offset', offset: cur.uleb() * dataAlign }); continue; }
    if (high === 0xc0) { restore(low); continue; }
    switch (op) {
      case 0x00: break; // nop
      case 0x01: // set_loc; only meaningful in an FDE, whose cursor starts at instructionsAddress
        advance(readEncodedPointer(cur, fde.cie.fdeEncoding, { sectionAddress: fde.instructionsAddress }) ?? ctx.loc);
        break;
      case 0x02: advance(ctx.loc + BigInt(cur.u8() * codeAlign)); break;
      case 0x03: advance(ctx.loc + BigInt(cur.u16() * codeAlign)); break;
      case 0x04: advance(ctx.loc + BigInt(cur.u32() * codeAlign)); break;
      case 0x05: { const r = cur.uleb(); s.registers.set(r, { kind: 'offset', offset: cur.uleb() * dataAlign }); break; }
      case 0x06: restore(cur.uleb()); break;
      case 0x07: s.registers.set(cur.uleb(), { kind: 'undefined' }); break;
      case 0x08: s.registers.set(cur.uleb(), { kind: 'same-value' }); break;
      case 0x09: { const r = cur.uleb(); s.registers.set(r, { kind: 'register', register: cur.uleb() }); break; }
      case 0x0a: stack.push({ cfa: s.cfa, registers: new Map(s.registers) }); break;
      case 0x0b: {
        const saved = stack.pop();
        if (saved === undefined) throw new Error('DW_CFA_restore_state with an empty state stack');
        s.cfa = saved.cfa;
        s.registers = saved.registers;
        break;
      }
      case 0x0c: { const r = cur.uleb(); s.cfa = { kind: 'register', register: r, offset: cur.uleb() }; break; }
      case 0x0d: {
        const r = cur.uleb();
        s.cfa = { kind: 'register', register: r, offset: s.cfa.kind === 'register' ? s.cfa.offset : 0 };
        break;
      }
      case 0x0e: cfaOffset(cur.uleb()); break;
      case 0x0f: s.cfa = { kind: 'expression', expression: cur.take(cur.uleb()) }; break;
      case 0x10: { const r = cur.uleb(); s.registers.set(r, { kind: 'expression', expression: cur.take(cur.uleb()) }); break; }
      case 0x11: { const r = cur.uleb(); s.registers.set(r, { kind: 'offset', offset: cur.sleb() * dataAlign }); break; }
      case 0x12: { const r = cur.uleb(); s.cfa = { kind: 'register', register: r, offset: cur.sleb() * dataAlign }; break; }
      case 0x13: cfaOffset(cur.sleb() * dataAlign); break;
      case 0x14: { const r = cur.uleb(); s.registers.set(r, { kind: 'val-offset', offset: cur.uleb() * dataAlign }); break; }
      case 0x15: { const r = cur.uleb(); s.registers.set(r, { kind: 'val-offset', offset: cur.sleb() * dataAlign }); break; }
      case 0x16: { const r = cur.uleb(); s.registers.set(r, { kind: 'val-expression', expression: cur.take(cur.uleb()) }); break; }
      case 0x1d: advance(ctx.loc + cur.u64() * BigInt(codeAlign)); break; // MIPS_advance_loc8
      case 0x2d: break; // GNU_window_save / AArch64 negate_ra_state: no x86-64 meaning
      case 0x2e: cur.uleb(); break; // GNU_args_size: only matters for landing pads
      case 0x2f: { const r = cur.uleb(); s.registers.set(r, { kind: 'offset', offset: -cur.uleb() * dataAlign }); break; }
      default:
        throw new Error(`unknown DW_CFA opcode 0x${op.toString(16)}`);
    }
  }
}
