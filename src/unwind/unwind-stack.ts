/**
 * The reference user-stack walker: given the registers of a stopped thread,
 * a memory reader and the unwind tables, it follows CFA rules from the leaf
 * to the outermost frame. It is the executable spec of the BPF walker:
 * same row lookup, same arithmetic, same stop reasons.
 */
import { CFA_END, CFA_NONE, CFA_PLT, CFA_RBP, CFA_RSP, RA_CFA_OFFSET, RBP_CFA_OFFSET, RBP_UNSUPPORTED, type UnwindRow } from './unwind-row.js';

/** The registers the walker needs. */
export interface UnwindRegisters {
  readonly rip: bigint;
  readonly rsp: bigint;
  readonly rbp: bigint;
}

/** A table row for a runtime pc, plus the load bias (runtime pc - file vaddr) of its file. */
export interface UnwindLookup {
  readonly row: UnwindRow;
  readonly bias: bigint;
}

/** Why a walk ended. */
export type UnwindStopReason =
  /** Reached a frame whose return address is undefined (_start, clone), or a zero return address. */
  | 'end-of-stack'
  /** `maxDepth` frames collected. */
  | 'depth-limit'
  /** No table covers the pc, or the pc falls in a gap between FDEs. */
  | 'missing-unwind-info'
  /** The row's rule is one the table cannot express. */
  | 'unsupported-rule'
  /** Reading the return address or the saved rbp failed. */
  | 'unreadable-memory';

/** The walk result: pcs leaf first (frames[0] is rip), then return addresses. */
export interface UnwindResult {
  readonly frames: readonly bigint[];
  readonly stop: UnwindStopReason;
}

/** Reads `length` bytes of the target's memory, or undefined when unmapped. */
export type ReadMemory = (address: bigint, length: number) => Buffer | undefined;

/** Finds the row for a runtime pc across all of the process's mapped files. */
export type FindUnwindRow = (pc: bigint) => UnwindLookup | undefined;

const MASK64 = (1n << 64n) - 1n;

/**
 * Walks one user stack. For every frame but the first the row is looked up
 * at pc - 1: a return address may be the first byte after a noreturn call,
 * which belongs to the next function or to no FDE at all.
 */
export function unwindStack(regs: UnwindRegisters, readMemory: ReadMemory, findRow: FindUnwindRow, maxDepth: number): UnwindResult {
  const frames: bigint[] = [];
  let { rip, rsp, rbp } = regs;
  let rbpKnown = true;
  for (;;) {
    if (frames.length >= maxDepth) return { frames, stop: 'depth-limit' };
    frames.push(rip);
    const hit = findRow(frames.length === 1 ? rip : rip - 1n);
    if (hit === undefined || hit.row.cfaType === CFA_NONE) return { frames, stop: 'missing-unwind-info' };
    const { row } = hit;
    let cfa: bigint;
    switch (row.cfaType) {
      case CFA_END:
        return { frames, stop: 'end-of-stack' };
      case CFA_RSP:
        cfa = rsp + BigInt(row.cfaOffset);
        break;
      case CFA_RBP:
        // A lost rbp cannot anchor a CFA.
        if (!rbpKnown) return { frames, stop: 'unsupported-rule' };
        cfa = rbp + BigInt(row.cfaOffset);
        break;
      case CFA_PLT:
        cfa = rsp + BigInt(row.cfaOffset) + ((rip & 15n) >= BigInt(row.rbpOffset) ? 8n : 0n);
        break;
      default:
        return { frames, stop: 'unsupported-rule' };
    }
    cfa &= MASK64;
    const ra = readU64(readMemory, cfa + BigInt(RA_CFA_OFFSET));
    if (ra === undefined) return { frames, stop: 'unreadable-memory' };
    if (row.rbpType === RBP_CFA_OFFSET) {
      const saved = readU64(readMemory, cfa + BigInt(row.rbpOffset));
      if (saved === undefined) return { frames, stop: 'unreadable-memory' };
      rbp = saved;
      rbpKnown = true;
    } else if (row.rbpType === RBP_UNSUPPORTED) {
      rbpKnown = false;
    }
    if (ra === 0n) return { frames, stop: 'end-of-stack' };
    rip = ra;
    rsp = cfa;
  }
}

function readU64(readMemory: ReadMemory, address: bigint): bigint | undefined {
  const b = readMemory(address & MASK64, 8);
  return b === undefined || b.length < 8 ? undefined : b.readBigUInt64LE(0);
}
