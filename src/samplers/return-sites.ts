/**
 * Return instructions of a function, for probes that stand in for a
 * uretprobe, found with a real x86-64 decoder (iced-x86, WebAssembly).
 */
import { createRequire } from 'node:module';

type Iced = typeof import('iced-x86');
let loaded: Iced | undefined;
/**
 * iced-x86 at its first use: 900 KB of JavaScript and a WebAssembly module
 * that only Go TLS probes need. Imported at the top, every `record` and agent
 * parsed it at start (~100 ms of CPU) and kept ~3 MB of it in memory.
 */
function iced(): Iced {
  loaded ??= createRequire(import.meta.url)('iced-x86') as Iced;
  return loaded;
}

/**
 * Offsets of every return instruction in `code`, one whole function's bytes,
 * decoded as x86-64 from its first byte (iced-x86): the probes that stand in
 * for a uretprobe where one cannot go (Go, whose goroutine stacks move).
 * A 0xc3 byte inside another instruction is not a return, so the bytes are
 * decoded, never scanned. Throws when the bytes do not decode to the end.
 */
export function returnOffsets(code: Uint8Array): number[] {
  const { Decoder, DecoderOptions, FlowControl, Instruction } = iced();
  const decoder = new Decoder(64, code, DecoderOptions.None);
  const insn = new Instruction();
  const out: number[] = [];
  try {
    decoder.ip = 0n;
    while (decoder.canDecode) {
      decoder.decodeOut(insn);
      if (insn.isInvalid) throw new Error(`decoding function: invalid instruction at +${insn.ip}`);
      if (insn.flowControl === FlowControl.Return) out.push(Number(insn.ip));
    }
  } finally {
    insn.free();
    decoder.free();
  }
  return out;
}

/** Instructions a Go function's stack check takes before its branch to morestack at most. */
const STACK_CHECK_LENGTH = 3;

/**
 * The offset of the conditional branch of a Go function's stack check
 * (`[lea -N(sp),r12;] cmp 16(r14),sp|r12; jbe morestack`), or undefined
 * when the function does not open with one. A probe there runs once per
 * call, where one at the entry runs again when morestack grows the stack
 * and restarts the function, and the kernel emulates a jcc instead of
 * single-stepping it. The argument registers are untouched up to it.
 */
export function goStackCheckBranch(code: Uint8Array): number | undefined {
  const { Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic } = iced();
  const decoder = new Decoder(64, code, DecoderOptions.None);
  const insn = new Instruction();
  try {
    decoder.ip = 0n;
    for (let i = 0; i < STACK_CHECK_LENGTH && decoder.canDecode; i++) {
      decoder.decodeOut(insn);
      if (insn.flowControl === FlowControl.ConditionalBranch) return insn.mnemonic === Mnemonic.Jbe && i > 0 ? Number(insn.ip) : undefined;
      if (insn.mnemonic !== Mnemonic.Cmp && insn.mnemonic !== Mnemonic.Lea) return undefined;
    }
    return undefined;
  } finally {
    insn.free();
    decoder.free();
  }
}
