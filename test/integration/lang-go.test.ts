// Go frames in a recorded profile: a stripped binary named from .gopclntab.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/elf/elf-file.js';
import { repoRoot } from '../helpers/repo-root.js';
import { countChain, readFolded, readOtlpKinds, readPprofFrames, recordPid, total } from '../helpers/record-pid.js';

describe('meshprof record on a stripped Go program (real BPF, as root)', () => {
  let dir = '';
  let binary = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lang-go-record-'));
    copyFileSync(join(repoRoot, 'test', 'fixtures', 'lang-go', 'spin', 'main.go'), join(dir, 'main.go'));
    // Private caches and GOPATH mode: no module download, no state shared with the host.
    const { GOFLAGS: _flags, ...rest } = process.env;
    const env = { ...rest, GOCACHE: join(dir, 'cache'), GOPATH: join(dir, 'gopath'), GO111MODULE: 'off', HOME: dir };
    binary = join(dir, 'lang-go-spin');
    execFileSync('go', ['build', '-ldflags=-s -w', '-o', binary, 'main.go'], { cwd: dir, env });
    const elf = ElfFile.open(binary);
    try {
      expect(elf.symbols('symtab')).toHaveLength(0);
    } finally {
      elf.close();
    }
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names main.hotLoop and main.(*cart).add with kind go and their file:line', async () => {
    const child = spawn(binary, ['30'], { stdio: 'ignore' });
    try {
      await sleep(300);
      const folded = join(dir, 'go.folded');
      const otlp = join(dir, 'go.otlp.pb');
      const pprof = join(dir, 'go.pb.gz');
      await recordPid(child.pid!, [folded, otlp, pprof]);
      const stacks = readFolded(folded);
      const all = total(stacks);
      expect(all).toBeGreaterThan(20);
      // Go keeps frame pointers on amd64: the chain reaches runtime.main.
      const hot = countChain(stacks, ['runtime.main', 'main.main', 'main.hotLoop']);
      const add = countChain(stacks, ['runtime.main', 'main.main', 'main.(*cart).add']);
      expect(hot).toBeGreaterThan(0.2 * all);
      expect(add).toBeGreaterThan(0.2 * all);
      expect(hot + add).toBeGreaterThan(0.85 * all);

      const kinds = readOtlpKinds(otlp);
      for (const fn of ['main.hotLoop', 'main.(*cart).add', 'main.main', 'runtime.main']) expect(kinds.get(fn)).toEqual(new Set(['go']));

      // .gopclntab gives file:line even without DWARF: the loop bodies' lines.
      const frames = readPprofFrames(pprof).flat();
      const hotLines = new Set(frames.filter((f) => f.name === 'main.hotLoop').map((f) => `${f.fileName}:${f.line}`));
      const mainGo = join(dir, 'main.go');
      expect([...hotLines].every((l) => l.startsWith(`${mainGo}:`))).toBe(true);
      expect([...hotLines].some((l) => /:3[3-6]$/.test(l))).toBe(true);
      const mainLines = new Set(frames.filter((f) => f.name === 'main.main').map((f) => f.line));
      // main.main's frames are its call sites: lines 51 and 52 (50 when time.Now is sampled).
      expect(mainLines).toContain(51);
      expect(mainLines).toContain(52);
      expect([...mainLines].filter((l) => l < 50 || l > 52)).toEqual([]);
    } finally {
      child.kill();
    }
  });
});
