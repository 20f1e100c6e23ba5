/**
 * The x86-64 unwind row: one entry of the compact table the BPF walker
 * reads. Mirrors `struct unwind_row` in bpf/unwind.h field for field; the
 * numeric values below are the C enum values and must not change.
 */

/** No unwind info from this pc on (a gap between FDEs): the walker stops or falls back to frame pointers. */
export const CFA_NONE = 0;
/** CFA = rsp + cfaOffset. */
export const CFA_RSP = 1;
/** CFA = rbp + cfaOffset. */
export const CFA_RBP = 2;
/**
 * The PLT rule glibc and ld emit as a DWARF expression:
 * CFA = rsp + cfaOffset + ((rip & 15) >= rbpOffset ? 8 : 0).
 * rbpOffset holds the threshold because a PLT never saves rbp.
 */
export const CFA_PLT = 3;
/** The return address is undefined (DW_CFA_undefined rip): the outermost frame, e.g. _start. */
export const CFA_END = 4;
/** A rule the table cannot express (CFA on another register, other expressions). */
export const CFA_UNSUPPORTED = 5;

/** How the CFA is found; one of the CFA_* values. */
export type CfaType = typeof CFA_NONE | typeof CFA_RSP | typeof CFA_RBP | typeof CFA_PLT | typeof CFA_END | typeof CFA_UNSUPPORTED;

/** The caller's rbp is the current rbp. */
export const RBP_UNCHANGED = 0;
/** The caller's rbp is saved at CFA + rbpOffset. */
export const RBP_CFA_OFFSET = 1;
/** The caller's rbp is somewhere the table cannot say (a register, an expression): treat it as lost. */
export const RBP_UNSUPPORTED = 2;

/** Where the caller's rbp is; one of the RBP_* values. */
export type RbpType = typeof RBP_UNCHANGED | typeof RBP_CFA_OFFSET | typeof RBP_UNSUPPORTED;

/**
 * x86-64 keeps the return address at CFA - 8 in every frame the table can
 * describe, so it has no field; rows whose RA rule differs are CFA_UNSUPPORTED.
 */
export const RA_CFA_OFFSET = -8;

/** One row: valid from `pc` (file virtual address) up to the next row's pc. */
export interface UnwindRow {
  readonly pc: bigint;
  readonly cfaType: CfaType;
  /** s32 in the encoded row. */
  readonly cfaOffset: number;
  readonly rbpType: RbpType;
  /** s16 in the encoded row; the threshold for CFA_PLT. */
  readonly rbpOffset: number;
}

/** True when two rows unwind identically (their pcs may differ). */
export function sameUnwindRule(a: UnwindRow, b: UnwindRow): boolean {
  return a.cfaType === b.cfaType && a.cfaOffset === b.cfaOffset && a.rbpType === b.rbpType && a.rbpOffset === b.rbpOffset;
}
