/**
 * Turns one DWARF CFA row into the x86-64 unwind rule the compact table
 * holds, or says why it cannot.
 */
import type { CfaRow } from '../elf/dwarf-cfa.js';
import { matchPltExpression } from './plt-expression.js';
import {
  CFA_END, CFA_PLT, CFA_RBP, CFA_RSP, CFA_UNSUPPORTED, RA_CFA_OFFSET, RBP_CFA_OFFSET, RBP_UNCHANGED, RBP_UNSUPPORTED,
  type UnwindRow,
} from './unwind-row.js';

/** DWARF register numbers on x86-64 (psABI figure 3.36). */
export const DWARF_RBP = 6;
export const DWARF_RSP = 7;
export const DWARF_RIP = 16;

const S32_MIN = -0x8000_0000;
const S32_MAX = 0x7fff_ffff;
const S16_MIN = -0x8000;
const S16_MAX = 0x7fff;

/** Why a row became CFA_UNSUPPORTED or RBP_UNSUPPORTED; undefined when it did not. */
export type UnsupportedReason = 'cfa-register' | 'cfa-expression' | 'cfa-offset-range' | 'ra-rule' | 'rbp-rule' | undefined;

/** A converted row plus what, if anything, it could not express. */
export interface ConvertedRule {
  readonly row: UnwindRow;
  readonly unsupported: UnsupportedReason;
}

/** Converts `cfa` (its pc kept) to an x86-64 unwind row; `raRegister` is the CIE's return column. */
export function unwindRuleFromCfa(cfa: CfaRow, raRegister: number = DWARF_RIP): ConvertedRule {
  const pc = cfa.pc;
  const unsupported = (why: UnsupportedReason): ConvertedRule => ({
    row: { pc, cfaType: CFA_UNSUPPORTED, cfaOffset: 0, rbpType: RBP_UNCHANGED, rbpOffset: 0 }, unsupported: why,
  });
  const ra = cfa.registers.get(raRegister);
  // An undefined return address is how _start and thread entry points end the stack.
  if (ra?.kind === 'undefined') return { row: { pc, cfaType: CFA_END, cfaOffset: 0, rbpType: RBP_UNCHANGED, rbpOffset: 0 }, unsupported: undefined };
  if (ra?.kind !== 'offset' || ra.offset !== RA_CFA_OFFSET) return unsupported('ra-rule');

  let cfaType: UnwindRow['cfaType'];
  let cfaOffset: number;
  let pltThreshold: number | undefined;
  if (cfa.cfa.kind === 'expression') {
    const plt = matchPltExpression(cfa.cfa.expression);
    if (plt === undefined) return unsupported('cfa-expression');
    cfaType = CFA_PLT;
    cfaOffset = plt.rspOffset;
    pltThreshold = plt.threshold;
  } else if (cfa.cfa.register === DWARF_RSP || cfa.cfa.register === DWARF_RBP) {
    cfaType = cfa.cfa.register === DWARF_RSP ? CFA_RSP : CFA_RBP;
    cfaOffset = cfa.cfa.offset;
    if (cfaOffset < S32_MIN || cfaOffset > S32_MAX) return unsupported('cfa-offset-range');
  } else {
    return unsupported('cfa-register');
  }
  if (pltThreshold !== undefined) {
    return { row: { pc, cfaType, cfaOffset, rbpType: RBP_UNCHANGED, rbpOffset: pltThreshold }, unsupported: undefined };
  }

  const rbp = cfa.registers.get(DWARF_RBP);
  if (rbp === undefined || rbp.kind === 'same-value') {
    return { row: { pc, cfaType, cfaOffset, rbpType: RBP_UNCHANGED, rbpOffset: 0 }, unsupported: undefined };
  }
  if (rbp.kind === 'offset' && rbp.offset >= S16_MIN && rbp.offset <= S16_MAX) {
    return { row: { pc, cfaType, cfaOffset, rbpType: RBP_CFA_OFFSET, rbpOffset: rbp.offset }, unsupported: undefined };
  }
  // The frame itself still unwinds; only the caller's rbp is lost.
  return { row: { pc, cfaType, cfaOffset, rbpType: RBP_UNSUPPORTED, rbpOffset: 0 }, unsupported: 'rbp-rule' };
}
