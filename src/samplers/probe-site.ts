/**
 * Where a release function's entry uprobe costs least. An x86-64 uprobe
 * emulates a few instructions in the trap itself (a push of a register, a
 * nop, jumps); any other is single-stepped out of line, a second trap. On
 * the development VM that is ~14 µs per glibc free() (`test %rdi,%rdi`
 * first) against ~1 µs per malloc() (`push %r12` first). So a function that
 * opens with flag-only tests is probed at the first emulated instruction
 * after them: its argument registers and stack are still untouched there.
 */

/** Instructions passed over at most. */
const MAX_SKIPPED = 3;

/**
 * The offset within `code` (a function's first bytes) where its entry probe
 * goes: 0 unless the function opens with flag-only instructions followed by
 * one the kernel emulates. With `releases` (free and its kin), a
 * `test %rdi,%rdi; je` opening is passed too: that branch is a NULL
 * pointer, which frees nothing. Only for probes without a return probe.
 */
export function cheapProbeOffset(code: Uint8Array, releases: boolean): number {
  let at = 0;
  let testedFirstArg = false;
  for (let n = 0; n <= MAX_SKIPPED; n++) {
    if (emulated(code, at)) return at;
    if (n === MAX_SKIPPED) return 0;
    const b = code[at];
    if (b === 0xf3 && code[at + 1] === 0x0f && code[at + 2] === 0x1e && code[at + 3] === 0xfa) {
      // endbr64: a nop to the probe (CET builds open every function with it)
      at += 4;
    } else if (b === 0x48 && code[at + 1] === 0x85 && code[at + 2] === 0xff) {
      // test %rdi,%rdi
      at += 3;
      testedFirstArg = true;
    } else if (b === 0x80 && code[at + 1] === 0x3d) {
      // cmpb $imm8, disp32(%rip): glibc's malloc-initialized check
      at += 7;
    } else if (releases && testedFirstArg && b === 0x74) {
      // je rel8 after test %rdi,%rdi: free(NULL) leaves here
      at += 2;
    } else if (releases && testedFirstArg && b === 0x0f && code[at + 1] === 0x84) {
      // je rel32, likewise
      at += 6;
    } else {
      return 0;
    }
    if (at >= code.length) return 0;
  }
  return 0;
}

/** push %reg, push %r8–%r15, nop: what arch/x86/kernel/uprobes.c runs without a single-step. */
function emulated(code: Uint8Array, at: number): boolean {
  const b = code[at];
  if (b === undefined) return false;
  if (b >= 0x50 && b <= 0x57) return true;
  if (b === 0x41 && code[at + 1] !== undefined && code[at + 1]! >= 0x50 && code[at + 1]! <= 0x57) return true;
  return b === 0x90;
}
