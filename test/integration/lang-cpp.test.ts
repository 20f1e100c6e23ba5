// C++ frames in a recorded profile: templates and namespaces, demangled.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFixture } from '../helpers/compile-fixture.js';
import { countChain, readFolded, readOtlpKinds, recordPid, total } from '../helpers/record-pid.js';

describe('meshprof record on a C++ program (real BPF, as root)', () => {
  let dir = '';
  let binary = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lang-cpp-record-'));
    // -O0 keeps every caller's frame, so frame pointers give the whole chain.
    binary = compileFixture('lang-cpp/cart-spin.cpp', { name: 'lang-cpp-spin', flags: ['-O0', '-g', '-fno-omit-frame-pointer'] });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names template methods and namespaced functions in the folded output and kinds them native', async () => {
    const child = spawn(binary, ['30'], { stdio: 'ignore' });
    try {
      await sleep(300);
      const folded = join(dir, 'cpp.folded');
      const otlp = join(dir, 'cpp.otlp.pb');
      await recordPid(child.pid!, [folded, otlp]);
      const stacks = readFolded(folded);
      const all = total(stacks);
      expect(all).toBeGreaterThan(20);
      expect(stacks.every((s) => s.frames[0] === 'lang-cpp-spin')).toBe(true);
      // add() does most of the work; checksum() the rest.
      const add = countChain(stacks, ['main', 'shop::Cart<int>::add(int)']);
      const checksum = countChain(stacks, ['main', 'shop::detail::checksum(char const*, unsigned long)']);
      expect(add / all).toBeGreaterThan(0.5);
      expect(checksum).toBeGreaterThan(0);
      expect(add + checksum).toBeGreaterThan(0.9 * all);
      expect(stacks.flatMap((s) => s.frames).filter((f) => f.startsWith('_Z'))).toEqual([]);
      const kinds = readOtlpKinds(otlp);
      expect(kinds.get('shop::Cart<int>::add(int)')).toEqual(new Set(['native']));
      expect(kinds.get('main')).toEqual(new Set(['native']));
    } finally {
      child.kill();
    }
  });
});
