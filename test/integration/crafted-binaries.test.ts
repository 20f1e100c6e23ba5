// Issue 20's crafted binaries: each once through the parser it broke (in a
// child process with a deadline, so a hang fails the test instead of holding
// the suite) and once under a live `meshprof record`, which must finish,
// write its profile and name the frames the damage does not touch.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/elf/elf-file.js';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { compileFixture } from '../helpers/compile-fixture.js';
import { buildGoFixture, craftedDebugLine, writeBadBuildIdCopy, writeFlippedPclntabCopy } from '../helpers/crafted-binaries.js';
import { readFolded, readPprofFrames, total } from '../helpers/record-pid.js';
import { repoRoot } from '../helpers/repo-root.js';
import { startCli } from '../helpers/start-cli.js';

/** Runs an ES module script against the built dist/ in a child node; rejects when it has not ended after `ms` (a hang). */
function runBounded(script: string, ms = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('node', ['--input-type=module', '-e', script], { cwd: repoRoot, timeout: ms, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err === null) resolve(stdout.trim());
      else reject(new Error(err.killed ? `did not finish in ${ms} ms: the parser hangs` : `${err.message}\n${stderr}`));
    });
  });
}

/** Timeout of a test that records: a 3 s recording takes 5-15 s on a loaded machine. */
const RECORD_TEST_MS = 120_000;

/** `meshprof record` of `pid` for 3 s into `out`; its exit code and stderr. */
async function recordTo(pid: number, out: string, extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  const run = startCli(['record', '--pid', String(pid), '--duration', '3s', '-o', out, ...extra], { ...process.env, ...env });
  // A hung main thread never exits: bound the wait (within RECORD_TEST_MS), then kill it so the
  // test fails with what it printed and leaves no process behind.
  const timer = setTimeout(() => run.child.kill('SIGKILL'), RECORD_TEST_MS - 30_000);
  try {
    return await run.done;
  } finally {
    clearTimeout(timer);
  }
}

describe('crafted binaries of issue 20 (real BPF, as root)', () => {
  let dir = '';
  const children: ChildProcess[] = [];
  const start = (path: string, args: readonly string[]): ChildProcess => {
    const c = spawn(path, args, { stdio: 'ignore' });
    children.push(c);
    return c;
  };
  beforeAll(() => {
    requirePrerequisites(bpfSkipReason());
    dir = mkdtempSync(join(tmpdir(), 'crafted-'));
  });
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  describe('a build-id note with namesz 0xfffffff4', () => {
    it('parses to no build-id instead of looping', async () => {
      const bad = join(dir, 'sleep-bad-note');
      writeBadBuildIdCopy('/bin/sleep', bad);
      const out = await runBounded(`
        import { ElfFile } from './dist/src/elf/elf-file.js';
        import { parseElfNotes } from './dist/src/elf/elf-notes.js';
        const elf = ElfFile.open(${JSON.stringify(bad)});
        const notes = parseElfNotes(elf.section('.note.gnu.build-id').bytes(), 4);
        console.log(JSON.stringify({ notes: notes.length, buildId: elf.buildId() ?? null, link: elf.debugLink()?.name ?? null, sections: elf.sections.length }));
      `);
      // No note is read from the damaged record; the file's other parts still are.
      expect(JSON.parse(out)).toMatchObject({ notes: 0, buildId: null, link: expect.stringMatching(/\.debug$/) });
      expect(JSON.parse(out).sections).toBeGreaterThan(20);
    });

    it('a recording of the /bin/sleep copy finishes and writes its profile', async () => {
      const bad = join(dir, 'sleep-bad-note-run');
      writeBadBuildIdCopy('/bin/sleep', bad);
      const child = start(bad, ['60']);
      await sleep(200);
      const out = join(dir, 'sleep.folded');
      const r = await recordTo(child.pid!, out, ['--type', 'offcpu']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('wrote ');
      expect(existsSync(out)).toBe(true);
    }, RECORD_TEST_MS);

    it('a recording of a spinning program with that note names its frames and libc\'s', async () => {
      const busy = compileFixture('busy.c', { name: 'busy-fp', flags: ['-O1', '-fno-omit-frame-pointer', '-g'] });
      const bad = join(dir, 'busy-bad-note');
      writeBadBuildIdCopy(busy, bad);
      const child = start(bad, ['60']);
      await sleep(200);
      const out = join(dir, 'busy.folded');
      const r = await recordTo(child.pid!, out);
      expect(r.code, r.stderr).toBe(0);
      const stacks = readFolded(out);
      const all = total(stacks);
      expect(all).toBeGreaterThan(20);
      const named = (fn: string): number => stacks.filter((s) => s.frames.includes(fn)).reduce((n, s) => n + s.count, 0);
      // busy.c spends ~70% in hot_a, ~30% in hot_b, both under main and the C library's start code.
      expect(named('main')).toBeGreaterThan(0.9 * all);
      expect(named('hot_a')).toBeGreaterThan(0.5 * all);
      expect(named('hot_b')).toBeGreaterThan(0.15 * all);
      expect(named('__libc_start_call_main')).toBeGreaterThan(0.9 * all);
    }, RECORD_TEST_MS);
  });

  describe('a Go program with 8 bytes of .gopclntab flipped', () => {
    let bad = '';
    beforeAll(() => {
      const spin = buildGoFixture('spin/main.go', 'lang-go-spin-stripped', true);
      bad = join(dir, 'go-spin-flipped');
      writeFlippedPclntabCopy(spin, bad, ['main.hotLoop', 'main.(*cart).add', 'main.main', 'main.sink']);
      // It still runs: the runtime reads those fields only for tracebacks.
      execFileSync(bad, ['0.1']);
    }, 300_000);

    it('names the damaged functions without their file, and every other function as before', async () => {
      const script = (path: string): string => `
        import { ElfFile } from './dist/src/elf/elf-file.js';
        import { readGoPclntab } from './dist/src/symbolize/go-pclntab.js';
        const elf = ElfFile.open(${JSON.stringify(path)});
        const table = readGoPclntab(elf);
        const text = elf.section('.text');
        const out = {};
        for (let a = text.address; a < text.address + BigInt(text.size); a += 16n) {
          const loc = table.lookup(a);
          // a function's file, from any of its addresses (padding past its end has none)
          if (loc !== undefined) out[loc.name] = loc.fileName ?? out[loc.name] ?? null;
        }
        console.log(JSON.stringify(out));
      `;
      const good = JSON.parse(await runBounded(script(buildGoFixture('spin/main.go', 'lang-go-spin-stripped', true)))) as Record<string, string | null>;
      const flipped = JSON.parse(await runBounded(script(bad))) as Record<string, string | null>;
      expect(Object.keys(flipped).sort()).toEqual(Object.keys(good).sort());
      for (const fn of ['main.hotLoop', 'main.(*cart).add', 'main.main']) {
        expect(good[fn]).toMatch(/main\.go$/);
        expect(flipped[fn]).toBeNull();
      }
      const differ = Object.keys(good).filter((fn) => good[fn] !== flipped[fn]);
      expect(differ.sort()).toEqual(['main.(*cart).add', 'main.hotLoop', 'main.main', 'main.sink']);
    });

    it('a recording still writes a profile, with the runtime frames named from .gopclntab', async () => {
      const child = start(bad, ['60']);
      await sleep(300);
      const out = join(dir, 'go.pb.gz');
      const r = await recordTo(child.pid!, out);
      expect(r.code, r.stderr).toBe(0);
      const frames = readPprofFrames(out);
      expect(frames.length).toBeGreaterThan(5);
      const names = new Set(frames.flat().map((f) => f.name));
      // Every function keeps its name; the damaged ones lose only their file.
      expect(names).toContain('runtime.main');
      expect(names).toContain('main.hotLoop');
      const hot = frames.flat().filter((f) => f.name === 'main.hotLoop');
      expect(hot.every((f) => f.fileName === '')).toBe(true);
      expect(frames.flat().filter((f) => f.name === 'runtime.main').every((f) => f.fileName.endsWith('proc.go'))).toBe(true);
    }, RECORD_TEST_MS);
  });

  describe('a program whose .symtab lies past the end of the file', () => {
    it('is recorded with its frames as file+offset, counted and named in the log; libc\'s frames keep their names', async () => {
      const busy = compileFixture('busy.c', { name: 'busy-fp', flags: ['-O1', '-fno-omit-frame-pointer', '-g'] });
      const bad = join(dir, 'busy-bad-symtab');
      const bytes = readFileSync(busy);
      const elf = ElfFile.open(busy);
      const symtab = elf.section('.symtab')!;
      elf.close();
      bytes.writeBigUInt64LE(1n << 40n, elf.header.shoff + symtab.index * elf.header.shentsize + 24); // sh_offset
      writeFileSync(bad, bytes, { mode: 0o755 });
      const child = start(bad, ['60']);
      await sleep(200);
      const out = join(dir, 'symtab.folded');
      // No disk cache: it would name the frames from the original's tables, found by the same build-id.
      const r = await recordTo(child.pid!, out, [], { MESHPROF_CACHE_DIR: 'none' });
      expect(r.code, r.stderr).toBe(0);
      // One warning names the file (through /proc/PID/root) and the section; the summary counts the frames left unnamed.
      expect(r.stderr.match(/busy-bad-symtab: \.symtab: truncated file \(need bytes 1099511627776\.\.\d+, file has \d+\): its frames keep file\+offset names/g)).toHaveLength(1);
      const unreadable = Number(/symbolize_file_unreadable=(\d+)/.exec(r.stderr)?.[1] ?? 0);
      const stacks = readFolded(out);
      const all = total(stacks);
      expect(all).toBeGreaterThan(20);
      // every stack has busy's frames (main, hot_x, spin) unnamed: counted at least once per distinct stack
      expect(unreadable).toBeGreaterThanOrEqual(stacks.length);
      expect(stacks.every((s) => s.frames.some((f) => f.startsWith('busy-bad-symtab+0x')))).toBe(true);
      expect(stacks.some((s) => s.frames.includes('hot_a'))).toBe(false);
      expect(stacks.filter((s) => s.frames.includes('__libc_start_call_main')).reduce((n, s) => n + s.count, 0)).toBeGreaterThan(0.9 * all);
    }, RECORD_TEST_MS);
  });

  describe('a crafted 30-byte .debug_line', () => {
    let bad = '';
    beforeAll(() => {
      const busy = compileFixture('busy.c', { name: 'busy-fp', flags: ['-O1', '-fno-omit-frame-pointer', '-g'] });
      const section = join(dir, 'debug_line.bin');
      writeFileSync(section, craftedDebugLine());
      bad = join(dir, 'busy-bad-lines');
      copyFileSync(busy, bad);
      execFileSync('objcopy', [`--update-section=.debug_line=${section}`, bad]);
    });

    it('is a SectionFormatError of .debug_line, not a hang', async () => {
      const out = await runBounded(`
        import { ElfFile } from './dist/src/elf/elf-file.js';
        import { parseDwarfLines } from './dist/src/symbolize/dwarf-lines.js';
        import { readLineTable } from './dist/src/symbolize/line-table-cache.js';
        const elf = ElfFile.open(${JSON.stringify(bad)});
        const bytes = elf.section('.debug_line').bytes();
        const result = [bytes.length];
        for (const run of [() => parseDwarfLines(bytes), () => readLineTable(${JSON.stringify(bad)})]) {
          try { run(); result.push('parsed'); } catch (err) { result.push(err.name + ': ' + err.message); }
        }
        console.log(JSON.stringify(result));
      `);
      const [size, direct, viaFile] = JSON.parse(out) as [number, string, string];
      expect(size).toBe(30);
      expect(direct).toBe('SectionFormatError: reading .debug_line: unit at 0x0: unit length 9223372036854775808 runs past the section end (30 bytes)');
      expect(viaFile).toMatch(new RegExp(`^SectionFormatError: reading elf ${bad}: \\.debug_line: unit at 0x0: `));
    });

    it('a recording with --line-info finishes and names the frames without lines', async () => {
      const child = start(bad, ['60']);
      await sleep(200);
      const out = join(dir, 'lines.pb.gz');
      const r = await recordTo(child.pid!, out, ['--line-info']);
      expect(r.code, r.stderr).toBe(0);
      // The refused table is named once and the frames it left without lines are counted.
      expect(r.stderr.match(/reading line info of \S*busy-bad-lines: reading elf \S*busy-bad-lines: \.debug_line: unit at 0x0: unit length 9223372036854775808 runs past the section end \(30 bytes\): its frames are named without file:line/g)).toHaveLength(1);
      expect(Number(/symbolize_line_info_unreadable=(\d+)/.exec(r.stderr)?.[1] ?? 0)).toBeGreaterThan(0);
      const frames = readPprofFrames(out).flat();
      const hot = frames.filter((f) => f.name === 'hot_a');
      expect(hot.length).toBeGreaterThan(0);
      expect(hot.every((f) => f.line === 0)).toBe(true);
      // libc's frames are named as ever.
      expect(frames.some((f) => f.name === '__libc_start_call_main')).toBe(true);
    }, RECORD_TEST_MS);
  });
});
