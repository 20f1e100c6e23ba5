/**
 * Builds the compact, pc-sorted x86-64 unwind table of one ELF file from
 * its parsed .eh_frame: every FDE's CFA rows converted to UnwindRows,
 * consecutive equal rows merged, and a CFA_NONE row wherever one FDE ends
 * and the next does not start at once.
 */
import { runCfaProgram } from '../elf/dwarf-cfa.js';
import type { EhFrame, Fde } from '../elf/eh-frame.js';
import { CFA_END, CFA_NONE, CFA_PLT, CFA_UNSUPPORTED, RBP_UNCHANGED, RBP_UNSUPPORTED, sameUnwindRule, type UnwindRow } from './unwind-row.js';
import { unwindRuleFromCfa } from './unwind-rule.js';

/** What went into a table and what it could not express. */
export interface UnwindTableStats {
  /** FDEs with a non-empty pc range. */
  fdes: number;
  /** CFA rows the FDE programs produced, before merging. */
  cfaRows: number;
  /** Rows in the table, gap rows included. */
  rows: number;
  pltRows: number;
  endRows: number;
  /** Source rows whose CFA or return address the table cannot express. */
  unsupportedCfa: number;
  /** Source rows whose saved rbp the table cannot express. */
  unsupportedRbp: number;
  /** FDEs whose range starts inside the previous FDE's (the earlier one is cut short). */
  overlaps: number;
  /** FDEs whose CFA program failed to run; their range becomes a gap. */
  invalidFdes: number;
}

/** A sorted table plus its build statistics. */
export interface UnwindTable {
  readonly rows: readonly UnwindRow[];
  readonly stats: UnwindTableStats;
}

const GAP: Omit<UnwindRow, 'pc'> = { cfaType: CFA_NONE, cfaOffset: 0, rbpType: RBP_UNCHANGED, rbpOffset: 0 };

/** Builds the unwind table of one file. Never throws for a bad FDE: it is counted and left as a gap. */
export function buildUnwindTable(ehFrame: EhFrame): UnwindTable {
  const fdes = ehFrame.fdes.filter((f) => f.pcEnd > f.pcBegin).sort((a, b) => (a.pcBegin < b.pcBegin ? -1 : a.pcBegin > b.pcBegin ? 1 : 0));
  const stats: UnwindTableStats = {
    fdes: fdes.length, cfaRows: 0, rows: 0, pltRows: 0, endRows: 0, unsupportedCfa: 0, unsupportedRbp: 0, overlaps: 0, invalidFdes: 0,
  };
  const out: UnwindRow[] = [];
  const push = (row: UnwindRow): void => {
    let last = out[out.length - 1];
    // A later row at the same pc wins; then merge with whatever is now last.
    if (last !== undefined && last.pc === row.pc) {
      out.pop();
      last = out[out.length - 1];
    }
    if (last !== undefined && sameUnwindRule(last, row)) return;
    out.push(row);
  };
  for (let i = 0; i < fdes.length; i++) {
    const fde = fdes[i]!;
    const next = fdes[i + 1];
    let end = fde.pcEnd;
    if (next !== undefined && next.pcBegin < end) {
      stats.overlaps++;
      end = next.pcBegin;
    }
    for (const row of fdeRows(fde, stats)) if (row.pc < end) push(row);
    if (next === undefined || next.pcBegin > end) push({ pc: end, ...GAP });
  }
  stats.rows = out.length;
  return { rows: out, stats };
}

function fdeRows(fde: Fde, stats: UnwindTableStats): UnwindRow[] {
  let cfaRows;
  try {
    cfaRows = runCfaProgram(fde);
  } catch {
    stats.invalidFdes++;
    return [{ pc: fde.pcBegin, ...GAP }];
  }
  stats.cfaRows += cfaRows.length;
  return cfaRows.map((cfa) => {
    const { row } = unwindRuleFromCfa(cfa, fde.cie.returnRegister);
    if (row.cfaType === CFA_UNSUPPORTED) stats.unsupportedCfa++;
    else if (row.cfaType === CFA_PLT) stats.pltRows++;
    else if (row.cfaType === CFA_END) stats.endRows++;
    if (row.rbpType === RBP_UNSUPPORTED) stats.unsupportedRbp++;
    return row;
  });
}
