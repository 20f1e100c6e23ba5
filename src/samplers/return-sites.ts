/**
 * Return instructions of a function, for probes that stand in for a
 * uretprobe, found with a real x86-64 decoder (iced-x86, WebAssembly).
 */
import { Decoder, DecoderOptions, FlowControl, Instruction } from 'iced-x86';

/**
 * Offsets of every return instruction in `code`, one whole function's bytes,
 * decoded as x86-64 from its first byte (iced-x86): the probes that stand in
 * for a uretprobe where one cannot go (Go, whose goroutine stacks move).
 * A 0xc3 byte inside another instruction is not a return, so the bytes are
 * decoded, never scanned. Throws when the bytes do not decode to the end.
 */
export function returnOffsets(code: Uint8Array): number[] {
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
