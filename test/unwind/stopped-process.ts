/**
 * Test helper: runs a program under gdb until it stops on a signal (the
 * fixtures call abort()), and returns its registers, mappings, gdb's own
 * backtrace pcs and a core file to read its memory from.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElfFile } from '../../src/elf/elf-file.js';
import type { ReadMemory, UnwindRegisters } from '../../src/unwind/unwind-stack.js';

/** One line of gdb's `info proc mappings`. */
export interface GdbMapping {
  readonly start: bigint;
  readonly end: bigint;
  readonly offset: bigint;
  readonly path: string;
}

/** What gdb saw when the program stopped. */
export interface StoppedProcess {
  readonly regs: UnwindRegisters;
  readonly mappings: readonly GdbMapping[];
  /** gdb's backtrace: frame pcs, leaf first. */
  readonly gdbFrames: readonly bigint[];
  readonly corePath: string;
}

/** Runs `binary args` under gdb until its first stop, then dumps a core and kills it. */
export function stopUnderGdb(binary: string, args: readonly string[]): StoppedProcess {
  const corePath = join(mkdtempSync(join(tmpdir(), 'meshprof-core-')), 'core');
  const run = spawnSync('gdb', [
    '-batch', '-nx',
    '-ex', 'set debuginfod enabled off', '-ex', 'set pagination off', '-ex', 'set width 0',
    // Without separate debug info gdb shows only real frames: no inlined or
    // synthesized tail-call frames, which no stack walker can see.
    '-ex', 'set debug-file-directory /nonexistent',
    '-ex', 'set backtrace past-main on', '-ex', 'set backtrace past-entry on',
    '-ex', 'run',
    '-ex', 'info registers rip rsp rbp',
    '-ex', 'info proc mappings',
    '-ex', 'frame apply all -q p/x $pc',
    '-ex', `generate-core-file ${corePath}`,
    '-ex', 'kill',
    '--args', binary, ...args,
  ], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60_000 });
  const out = run.stdout ?? '';
  const reg = (name: string): bigint => {
    const m = new RegExp(`^${name}\\s+0x([0-9a-f]+)`, 'm').exec(out);
    if (m === null) throw new Error(`running ${binary} under gdb: no ${name} in output:\n${out}\n${run.stderr}`);
    return BigInt(`0x${m[1]}`);
  };
  const regs = { rip: reg('rip'), rsp: reg('rsp'), rbp: reg('rbp') };
  const mappings: GdbMapping[] = [];
  for (const m of out.matchAll(/^\s*0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(?:[rwxps-]{4}\s+)?(\S.*)$/gm)) {
    mappings.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), offset: BigInt(`0x${m[3]}`), path: m[4]!.trim() });
  }
  const gdbFrames = [...out.matchAll(/^\$\d+ = 0x([0-9a-f]+)$/gm)].map((m) => BigInt(`0x${m[1]}`));
  return { regs, mappings, gdbFrames, corePath };
}

/** A ReadMemory over the PT_LOAD segments of a core file (the core stays open for the test's life). */
export function coreMemory(corePath: string): ReadMemory {
  const core = ElfFile.open(corePath);
  const segments = core.loadSegments.filter((s) => s.fileSize > 0);
  return (address, length) => {
    for (const s of segments) {
      const end = s.vaddr + BigInt(s.fileSize);
      if (address >= s.vaddr && address + BigInt(length) <= end) return core.read(s.offset + Number(address - s.vaddr), length);
    }
    return undefined;
  };
}
