/**
 * Runs DWARF CFA programs straight into x86-64 unwind rows, the fast twin
 * of runCfaProgram + unwindRuleFromCfa: the state is a handful of numbers
 * (the CFA rule, and the rules of rbp and of the return-address column,
 * the only registers a row holds), rows go into reused typed arrays, and
 * nothing is allocated per instruction or per row. Whatever it does not
 * handle (DW_CFA_set_loc, 8-byte advances, LEB128s over 4 bytes, addresses
 * past 2^53) it reports as FALLBACK, and the caller runs the reference
 * implementation for that FDE.
 */
import { matchPltExpression } from './plt-expression.js';
import {
  CFA_END, CFA_PLT, CFA_RBP, CFA_RSP, CFA_UNSUPPORTED, RA_CFA_OFFSET, RBP_CFA_OFFSET, RBP_UNCHANGED, RBP_UNSUPPORTED,
} from './unwind-row.js';
import { DWARF_RBP, DWARF_RSP } from './unwind-rule.js';
import { UnwindRowColumns } from './unwind-row-columns.js';

/** The program ran. */
export const CFA_OK = 0;
/** The program is invalid (runCfaProgram would throw): the FDE is a gap. */
export const CFA_INVALID = 1;
/** Not handled here: run the reference implementation. */
export const CFA_FALLBACK = 2;

// register rule kinds; NONE: no rule (the register keeps its value)
const NONE = 0;
const UNDEF = 1;
const SAME = 2;
const OFFSET = 3;
const OTHER = 4; // val-offset, register, expression, val-expression: none of them fits a row

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const STATE = 9; // numbers per remembered state: the CFA rule's five, ra's two, rbp's two

/** A CFA machine with its rows: reuse one for a whole table. */
export class CfaMachine extends UnwindRowColumns {
  // the CFA: register + offset, or an expression at [cfaExpr, cfaExpr + cfaExprLen) of `bytes`
  // Fields that may hold doubles (addresses past 2^31, -0 offsets) start as
  // -0, a double, so V8 never changes their representation mid-table and
  // throws away the optimized code.
  cfaIsExpr = 0;
  cfaReg = 0;
  cfaOff = -0;
  cfaExpr = 0;
  cfaExprLen = 0;
  raKind = NONE;
  raOff = -0;
  rbpKind = NONE;
  rbpOff = -0;
  // the rules after the CIE's program, for DW_CFA_restore
  iraKind = NONE;
  iraOff = -0;
  irbpKind = NONE;
  irbpOff = -0;
  raReg = 16;
  loc = -0;
  private stack = new Float64Array(16 * STATE);
  private depth = 0;

  /** Its rows (the inherited columns) are those of the last run. */
  constructor(private readonly bytes: Buffer) {
    super(256);
  }

  /** Starts a CIE: no rules at all, and no initial rules to restore. */
  resetForCie(raReg: number): void {
    this.cfaIsExpr = 0; this.cfaReg = 0; this.cfaOff = 0; this.cfaExpr = 0; this.cfaExprLen = 0;
    this.raKind = NONE; this.raOff = 0; this.rbpKind = NONE; this.rbpOff = 0;
    this.iraKind = NONE; this.iraOff = 0; this.irbpKind = NONE; this.irbpOff = 0;
    this.raReg = raReg;
    this.loc = 0;
  }

  /** Runs instructions [start, end); `emit` false for a CIE's (its rows belong to no pc). */
  run(start: number, end: number, codeAlign: number, dataAlign: number, emit: boolean): number {
    const b = this.bytes;
    this.p = start;
    this.end = end;
    this.depth = 0;
    this.status = CFA_OK;
    if (emit) this.count = 0;
    let reg: number;
    // A failed read sets `status`; what the op then does with its 0 is discarded with the FDE.
    while (this.p < end && this.status === CFA_OK) {
      const op = b[this.p++]!;
      const low = op & 0x3f;
      switch (op & 0xc0) {
        case 0x40: this.advance(this.loc + low * codeAlign, emit); continue;
        case 0x80: this.setRule(low, OFFSET, this.uleb() * dataAlign); continue;
        case 0xc0: this.restore(low); continue;
      }
      switch (op) {
        case 0x00: break;
        case 0x02: this.advance(this.loc + this.fixed(1) * codeAlign, emit); break;
        case 0x03: this.advance(this.loc + this.fixed(2) * codeAlign, emit); break;
        case 0x04: this.advance(this.loc + this.fixed(4) * codeAlign, emit); break;
        case 0x05: reg = this.uleb(); this.setRule(reg, OFFSET, this.uleb() * dataAlign); break;
        case 0x06: this.restore(this.uleb()); break;
        case 0x07: this.setRule(this.uleb(), UNDEF, 0); break;
        case 0x08: this.setRule(this.uleb(), SAME, 0); break;
        case 0x09: reg = this.uleb(); this.uleb(); this.setRule(reg, OTHER, 0); break;
        case 0x0a: this.remember(); break;
        case 0x0b: if (!this.restoreState()) return CFA_INVALID; break;
        case 0x0c: reg = this.uleb(); this.cfaOff = this.uleb(); this.cfaIsExpr = 0; this.cfaReg = reg; break;
        case 0x0d:
          reg = this.uleb();
          if (this.cfaIsExpr !== 0) this.cfaOff = 0;
          this.cfaIsExpr = 0; this.cfaReg = reg;
          break;
        case 0x0e: reg = this.uleb(); if (this.cfaIsExpr === 0) this.cfaOff = reg; break;
        case 0x0f: {
          const len = this.uleb();
          this.cfaIsExpr = 1; this.cfaExpr = this.p; this.cfaExprLen = len;
          this.skip(len);
          break;
        }
        case 0x10: case 0x16: reg = this.uleb(); this.skip(this.uleb()); this.setRule(reg, OTHER, 0); break;
        case 0x11: reg = this.uleb(); this.setRule(reg, OFFSET, this.sleb() * dataAlign); break;
        case 0x12: reg = this.uleb(); this.cfaOff = this.sleb() * dataAlign; this.cfaIsExpr = 0; this.cfaReg = reg; break;
        case 0x13: reg = this.sleb() * dataAlign; if (this.cfaIsExpr === 0) this.cfaOff = reg; break;
        case 0x14: reg = this.uleb(); this.uleb(); this.setRule(reg, OTHER, 0); break;
        case 0x15: reg = this.uleb(); this.sleb(); this.setRule(reg, OTHER, 0); break;
        case 0x2d: break; // GNU_window_save: no x86-64 meaning
        case 0x2e: this.uleb(); break; // GNU_args_size
        case 0x2f: reg = this.uleb(); this.setRule(reg, OFFSET, -this.uleb() * dataAlign); break;
        case 0x01: case 0x1d: return CFA_FALLBACK; // set_loc, MIPS_advance_loc8
        default: return CFA_INVALID;
      }
    }
    return this.status;
  }

  // Readers over [p, end): a truncated read sets INVALID, a LEB128 longer than 4 bytes FALLBACK.
  private p = 0;
  private end = 0;
  private status = CFA_OK;

  private uleb(): number {
    const b = this.bytes;
    let r = 0;
    let scale = 1;
    for (let i = 0; i < 4; i++) {
      if (this.p >= this.end) return this.fail(CFA_INVALID);
      const x = b[this.p++]!;
      r += (x & 0x7f) * scale;
      if ((x & 0x80) === 0) return r;
      scale *= 128;
    }
    return this.fail(CFA_FALLBACK);
  }

  private sleb(): number {
    const b = this.bytes;
    let r = 0;
    let scale = 1;
    for (let i = 0; i < 4; i++) {
      if (this.p >= this.end) return this.fail(CFA_INVALID);
      const x = b[this.p++]!;
      r += (x & 0x7f) * scale;
      scale *= 128;
      if ((x & 0x80) === 0) return (x & 0x40) !== 0 ? r - scale : r;
    }
    return this.fail(CFA_FALLBACK);
  }

  private fixed(size: 1 | 2 | 4): number {
    const at = this.p;
    if (at + size > this.end) return this.fail(CFA_INVALID);
    this.p = at + size;
    return size === 1 ? this.bytes[at]! : size === 2 ? this.bytes.readUInt16LE(at) : this.bytes.readUInt32LE(at);
  }

  private skip(n: number): void {
    if (this.p + n > this.end) this.fail(CFA_INVALID);
    else this.p += n;
  }

  private fail(status: number): number {
    if (this.status === CFA_OK) this.status = status;
    this.p = this.end;
    return 0;
  }

  /** Ends an FDE's program: the row from the last advance on, when it covers anything. */
  finish(pcEnd: number): void {
    if (this.loc < pcEnd || this.count === 0) this.emitRow();
  }

  /** Appends a row made elsewhere (by the reference implementation). */
  pushRow(pc: number, cfaType: number, cfaOffset: number, rbpType: number, rbpOffset: number): void {
    this.setRow(this.count, pc, cfaType, cfaOffset, rbpType, rbpOffset);
  }

  /** The rules after a CIE's program, for start(). */
  state(): number[] {
    return [this.cfaIsExpr, this.cfaReg, this.cfaOff, this.cfaExpr, this.cfaExprLen, this.raKind, this.raOff, this.rbpKind, this.rbpOff];
  }

  /** Starts an FDE at `pc` from its CIE's state(), which DW_CFA_restore also goes back to. */
  start(s: readonly number[], raReg: number, pc: number): void {
    this.cfaIsExpr = s[0]!; this.cfaReg = s[1]!; this.cfaOff = s[2]!; this.cfaExpr = s[3]!; this.cfaExprLen = s[4]!;
    this.raKind = s[5]!; this.raOff = s[6]!; this.rbpKind = s[7]!; this.rbpOff = s[8]!;
    this.iraKind = this.raKind; this.iraOff = this.raOff;
    this.irbpKind = this.rbpKind; this.irbpOff = this.rbpOff;
    this.raReg = raReg;
    this.loc = pc;
  }

  private advance(to: number, emit: boolean): void {
    if (to > MAX_SAFE) this.fail(CFA_FALLBACK);
    else if (emit && to > this.loc) this.emitRow();
    this.loc = to;
  }

  private setRule(reg: number, kind: number, off: number): void {
    if (reg === this.raReg) { this.raKind = kind; this.raOff = off; }
    if (reg === DWARF_RBP) { this.rbpKind = kind; this.rbpOff = off; }
  }

  private restore(reg: number): void {
    if (reg === this.raReg) { this.raKind = this.iraKind; this.raOff = this.iraOff; }
    if (reg === DWARF_RBP) { this.rbpKind = this.irbpKind; this.rbpOff = this.irbpOff; }
  }

  private remember(): void {
    if ((this.depth + 1) * STATE > this.stack.length) {
      const grown = new Float64Array(this.stack.length * 2);
      grown.set(this.stack);
      this.stack = grown;
    }
    const s = this.stack;
    const at = this.depth++ * STATE;
    s[at] = this.cfaIsExpr; s[at + 1] = this.cfaReg; s[at + 2] = this.cfaOff; s[at + 3] = this.cfaExpr; s[at + 4] = this.cfaExprLen;
    s[at + 5] = this.raKind; s[at + 6] = this.raOff; s[at + 7] = this.rbpKind; s[at + 8] = this.rbpOff;
  }

  private restoreState(): boolean {
    if (this.depth === 0) return false;
    const s = this.stack;
    const at = --this.depth * STATE;
    this.cfaIsExpr = s[at]!; this.cfaReg = s[at + 1]!; this.cfaOff = s[at + 2]!; this.cfaExpr = s[at + 3]!; this.cfaExprLen = s[at + 4]!;
    this.raKind = s[at + 5]!; this.raOff = s[at + 6]!; this.rbpKind = s[at + 7]!; this.rbpOff = s[at + 8]!;
    return true;
  }

  /** Appends the row the current rules give at `loc`, converted as unwindRuleFromCfa does. */
  private emitRow(): void {
    let cfaType = CFA_UNSUPPORTED;
    let cfaOffset = 0;
    let rbpType = RBP_UNCHANGED;
    let rbpOffset = 0;
    if (this.raKind === UNDEF) {
      cfaType = CFA_END;
    } else if (this.raKind === OFFSET && this.raOff === RA_CFA_OFFSET) {
      if (this.cfaIsExpr !== 0) {
        const plt = matchPltExpression(this.bytes.subarray(this.cfaExpr, this.cfaExpr + this.cfaExprLen));
        if (plt !== undefined) {
          cfaType = CFA_PLT;
          cfaOffset = plt.rspOffset;
          rbpOffset = plt.threshold;
        }
      } else if ((this.cfaReg === DWARF_RSP || this.cfaReg === DWARF_RBP) && this.cfaOff >= -0x8000_0000 && this.cfaOff <= 0x7fff_ffff) {
        cfaType = this.cfaReg === DWARF_RSP ? CFA_RSP : CFA_RBP;
        cfaOffset = this.cfaOff;
        const k = this.rbpKind;
        if (k === OFFSET && this.rbpOff >= -0x8000 && this.rbpOff <= 0x7fff) {
          rbpType = RBP_CFA_OFFSET;
          rbpOffset = this.rbpOff;
        } else if (k !== NONE && k !== SAME) {
          rbpType = RBP_UNSUPPORTED;
        }
      }
    }
    this.setRow(this.count, this.loc, cfaType, cfaOffset, rbpType, rbpOffset);
  }
}
