/**
 * Compiles an indexed .eh_frame (eh-frame-index.ts) straight into the
 * encoded unwind table: the same bytes and statistics as
 * encodeUnwindTable(buildUnwindTable(parseEhFrame(...)).rows), which stay
 * the specification (and the readelf-checked path), in a fraction of the
 * time: rows live in typed arrays, CIE programs run once per CIE, and the
 * reference code runs only for the FDEs (or, rarely, the files) the fast
 * path does not handle.
 */
import { runCfaProgram } from '../elf/dwarf-cfa.js';
import type { EhFrameIndex } from '../elf/eh-frame-index.js';
import type { Fde } from '../elf/eh-frame.js';
import { CFA_FALLBACK, CFA_INVALID, CFA_OK, CfaMachine } from './cfa-machine.js';
import { CFA_END, CFA_NONE, CFA_PLT, CFA_UNSUPPORTED, RBP_UNCHANGED, RBP_UNSUPPORTED } from './unwind-row.js';
import { unwindRuleFromCfa } from './unwind-rule.js';
import { UNWIND_ROW_SIZE } from './unwind-table-codec.js';
import type { UnwindTableStats } from './unwind-table.js';
import { UnwindRowColumns } from './unwind-row-columns.js';

/** An encoded table and its build statistics. */
export interface CompiledUnwindTable {
  readonly table: Buffer;
  readonly stats: UnwindTableStats;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO32 = 0x1_0000_0000;
/** The file is not for the fast path after all. */
const BAIL = -1;

/** What a CIE's program leaves for its FDEs: the machine's state, or why there is none. */
interface CieStart {
  readonly status: number;
  readonly state: readonly number[];
}

/**
 * The encoded table of `index`, or undefined when the reference build must
 * decide (it then throws, or returns what this path could not prove equal).
 */
export function compileUnwindTable(index: EhFrameIndex): CompiledUnwindTable | undefined {
  const { bytes, pcBegin, pcEnd } = index;
  const m = new CfaMachine(bytes);
  const cieStarts = index.cies.map((cie, i): CieStart => {
    m.resetForCie(cie.returnRegister);
    const start = index.cieInstructions[i]!;
    const status = m.run(start, start + cie.instructions.length, cie.codeAlign, cie.dataAlign, false);
    return { status, state: m.state() };
  });

  // FDEs with a range, by pcBegin; ties keep section order, as a stable sort does
  const order: number[] = [];
  let sorted = true;
  for (let i = 0; i < index.count; i++) {
    if (!(pcEnd[i]! > pcBegin[i]!)) continue;
    if (order.length > 0 && pcBegin[order[order.length - 1]!]! > pcBegin[i]!) sorted = false;
    order.push(i);
  }
  if (!sorted) order.sort((a, b) => pcBegin[a]! - pcBegin[b]! || a - b);

  const stats: UnwindTableStats = {
    fdes: order.length, cfaRows: 0, rows: 0, pltRows: 0, endRows: 0, unsupportedCfa: 0, unsupportedRbp: 0, overlaps: 0, invalidFdes: 0,
  };
  const out = new RowSink(Math.max(16, index.count * 4));
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    const next = k + 1 < order.length ? pcBegin[order[k + 1]!]! : undefined;
    const begin = pcBegin[i]!;
    let end = pcEnd[i]!;
    if (next !== undefined && next < end) {
      stats.overlaps++;
      end = next;
    }
    const status = fdeRows(index, i, cieStarts, m);
    if (status === BAIL) return undefined;
    if (status === CFA_INVALID) {
      stats.invalidFdes++;
      if (begin < end && !out.push(begin, CFA_NONE, 0, RBP_UNCHANGED, 0)) return undefined;
    } else {
      stats.cfaRows += m.count;
      for (let r = 0; r < m.count; r++) {
        const cfaType = m.cfaType[r]!;
        if (cfaType === CFA_UNSUPPORTED) stats.unsupportedCfa++;
        else if (cfaType === CFA_PLT) stats.pltRows++;
        else if (cfaType === CFA_END) stats.endRows++;
        if (m.rbpType[r] === RBP_UNSUPPORTED) stats.unsupportedRbp++;
        const pc = m.pc[r]!;
        if (pc < end && !out.push(pc, cfaType, m.cfaOffset[r]!, m.rbpType[r]!, m.rbpOffset[r]!)) return undefined;
      }
    }
    if ((next === undefined || next > end) && !out.push(end, CFA_NONE, 0, RBP_UNCHANGED, 0)) return undefined;
  }
  stats.rows = out.count;
  return { table: out.encode(), stats };
}

/** Runs FDE `i`'s program into the machine's rows: CFA_OK, CFA_INVALID or BAIL. */
function fdeRows(index: EhFrameIndex, i: number, cieStarts: readonly CieStart[], m: CfaMachine): number {
  const ci = index.cie[i]!;
  const cie = index.cies[ci]!;
  const start = cieStarts[ci]!;
  let status = start.status;
  if (status === CFA_OK) {
    m.start(start.state, cie.returnRegister, index.pcBegin[i]!);
    status = m.run(index.instrStart[i]!, index.instrEnd[i]!, cie.codeAlign, cie.dataAlign, true);
    if (status === CFA_OK) m.finish(index.pcEnd[i]!);
  }
  return status === CFA_FALLBACK ? referenceRows(index, i, m) : status;
}

/**
 * Runs the reference implementation for FDE `i` into the machine's rows:
 * CFA_OK, CFA_INVALID when its program throws, BAIL when its rows do not
 * fit the fast path (pcs past 2^53).
 */
function referenceRows(index: EhFrameIndex, i: number, m: CfaMachine): number {
  const cie = index.cies[index.cie[i]!]!;
  const s = index.instrStart[i]!;
  const fde: Fde = {
    offset: index.offset[i]!, cie, pcBegin: BigInt(index.pcBegin[i]!), pcEnd: BigInt(index.pcEnd[i]!), lsda: undefined,
    instructions: index.bytes.subarray(s, index.instrEnd[i]!), instructionsAddress: index.sectionAddress + BigInt(s),
  };
  let rows;
  try {
    rows = runCfaProgram(fde);
  } catch {
    return CFA_INVALID;
  }
  m.count = 0;
  for (const cfa of rows) {
    const { row } = unwindRuleFromCfa(cfa, cie.returnRegister);
    if (row.pc > BigInt(MAX_SAFE)) return BAIL;
    m.pushRow(Number(row.pc), row.cfaType, row.cfaOffset, row.rbpType, row.rbpOffset);
  }
  return CFA_OK;
}

/** The table being built: merged rows in typed arrays, grown by doubling. */
class RowSink extends UnwindRowColumns {
  /**
   * Adds a row as buildUnwindTable does: a later row at the same pc wins,
   * then a row that unwinds like the one before it is dropped. False when
   * the row goes below the last one (the reference build then throws).
   */
  push(pc: number, cfaType: number, cfaOffset: number, rbpType: number, rbpOffset: number): boolean {
    let n = this.count;
    if (n > 0 && this.pc[n - 1] === pc) n--;
    if (n > 0) {
      const l = n - 1;
      if (pc < this.pc[l]!) return false;
      if (this.cfaType[l] === cfaType && this.cfaOffset[l] === cfaOffset && this.rbpType[l] === rbpType && this.rbpOffset[l] === rbpOffset) {
        this.count = n;
        return true;
      }
    }
    this.setRow(n, pc, cfaType, cfaOffset, rbpType, rbpOffset);
    return true;
  }

  /** The rows as unwind-table-codec.ts lays them out. */
  encode(): Buffer {
    const buf = Buffer.alloc(this.count * UNWIND_ROW_SIZE);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
    for (let i = 0, at = 0; i < this.count; i++, at += UNWIND_ROW_SIZE) {
      const pc = this.pc[i]!;
      const hi = Math.floor(pc / TWO32);
      view.setUint32(at, pc - hi * TWO32, true);
      view.setUint32(at + 4, hi, true);
      view.setInt32(at + 8, this.cfaOffset[i]!, true);
      view.setInt16(at + 12, this.rbpOffset[i]!, true);
      view.setUint8(at + 14, this.cfaType[i]!);
      view.setUint8(at + 15, this.rbpType[i]!);
    }
    return buf;
  }
}
