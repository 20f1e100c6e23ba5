// A stripped C program whose static functions are named from its split-out debug file.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/elf/elf-file.js';
import { repoRoot } from '../helpers/repo-root.js';
import { countChain, readFolded, recordPid, total } from '../helpers/record-pid.js';

describe('meshprof record on a C program with separate debug info (real BPF, as root)', () => {
  let dir = '';
  let binary = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lang-c-record-'));
    binary = join(dir, 'split-debug');
    const source = join(repoRoot, 'test', 'fixtures', 'lang-c', 'split.c');
    // -O0: the leaf mix_static keeps its frame, so its caller is not skipped.
    execFileSync('gcc', ['-g', '-O0', '-fno-omit-frame-pointer', '-Wl,--build-id=sha1', '-o', binary, source]);
    execFileSync('objcopy', ['--only-keep-debug', binary, `${binary}.debug`]);
    execFileSync('strip', ['--strip-all', binary]);
    execFileSync('objcopy', [`--add-gnu-debuglink=${binary}.debug`, binary]);
    const elf = ElfFile.open(binary);
    try {
      expect(elf.symbols('symtab')).toHaveLength(0);
      // The static functions are in no symbol table of the binary itself.
      expect(elf.symbols('dynsym').map((s) => s.name)).not.toContain('hot_static_loop');
    } finally {
      elf.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names hot_static_loop and mix_static through .gnu_debuglink', async () => {
    const child = spawn(binary, ['100000000000'], { stdio: 'ignore' });
    try {
      await sleep(300);
      const out = join(dir, 'c.folded');
      await recordPid(child.pid!, [out]);
      const stacks = readFolded(out);
      const all = total(stacks);
      expect(all).toBeGreaterThan(20);
      // Every sample is in the loop or the mixer it calls, and both are named.
      expect(countChain(stacks, ['main', 'hot_static_loop'])).toBeGreaterThan(0.9 * all);
      expect(countChain(stacks, ['main', 'hot_static_loop', 'mix_static'])).toBeGreaterThan(0.2 * all);
      expect(stacks.flatMap((s) => s.frames).filter((f) => f.startsWith('split-debug+0x'))).toEqual([]);
    } finally {
      child.kill();
    }
  });
});
