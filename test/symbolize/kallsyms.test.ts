import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createKallsymsSource, loadKallsyms, parseKallsyms } from '../../src/symbolize/kallsyms.js';

const TEXT = [
  'ffffffff81000000 T _stext',
  'ffffffff81000000 T startup_64',
  'ffffffff81000100 t local_helper',
  'ffffffff81000200 D some_data',
  'ffffffff81000300 W weak_fn',
  'ffffffffc0a00000 t mod_fn\t[nf_tables]',
  'ffffffffc0a00080 T mod_export\t[nf_tables]',
  '',
].join('\n');

describe('KallsymsTable', () => {
  it('parses text symbols and modules, ignoring data symbols', () => {
    const t = parseKallsyms(TEXT);
    expect(t.available).toBe(true);
    expect(t.lookup(0xffffffff81000010n)).toEqual({ name: 'startup_64', start: 0xffffffff81000000n, module: undefined });
    // some_data is not text, so local_helper extends up to weak_fn.
    expect(t.lookup(0xffffffff810002ffn)?.name).toBe('local_helper');
    expect(t.lookup(0xffffffffc0a00040n)).toEqual({ name: 'mod_fn', start: 0xffffffffc0a00000n, module: 'nf_tables' });
    expect(t.lookup(0xffffffffc0a00090n)?.module).toBe('nf_tables');
    expect(t.lookup(0xffffffff80000000n)).toBeUndefined();
  });

  it('reports hidden addresses as unavailable', () => {
    const t = parseKallsyms('0000000000000000 T _stext\n0000000000000000 T schedule\n');
    expect(t.available).toBe(false);
    expect(t.lookup(0n)).toBeUndefined();
  });

  it('resolves schedule from its real address + 1 (as root)', () => {
    if (process.getuid?.() !== 0 && process.env.CI !== 'true') {
      throw new Error('this test reads real kernel addresses and must run as root');
    }
    const line = readFileSync('/proc/kallsyms', 'utf8').split('\n').find((l) => / [Tt] schedule$/.test(l));
    expect(line).toBeDefined();
    const addr = BigInt(`0x${line!.split(' ')[0]!}`);
    const t = loadKallsyms();
    expect(t.available).toBe(true);
    expect(t.size).toBeGreaterThan(10000);
    expect(t.lookup(addr + 1n)).toMatchObject({ name: 'schedule', start: addr, module: undefined });
  });

  it('names the proc root in its error', () => {
    expect(() => loadKallsyms('/nonexistent-proc')).toThrow('reading /nonexistent-proc/kallsyms: ');
  });

  it('finds every BPF program and trampoline in a kallsyms of many reads, the last line without its newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-ksym-'));
    const proc = join(dir, 'proc');
    mkdirSync(join(proc, 'sys', 'kernel', 'random'), { recursive: true });
    writeFileSync(join(proc, 'sys', 'kernel', 'random', 'boot_id'), 'boot-1\n');
    writeFileSync(join(proc, 'modules'), 'nf_tables 4096 3 - Live 0xffffffffc0a00000\n');
    // ~1.5 MB of kernel lines (several of the reader's chunks), volatile lines among and after them
    const lines: string[] = [];
    const volatile: [bigint, string][] = [];
    for (let i = 0; i < 40_000; i++) {
      lines.push(`${(0xffffffff81000000n + BigInt(i) * 0x40n).toString(16)} t kernel_fn_${i}`);
      if (i % 7_919 === 0) {
        const at = 0xffffffffc0b00000n + BigInt(i) * 0x100n;
        const name = i % 2 === 0 ? `bpf_prog_${i.toString(16).padStart(16, '0')}_p${i}` : `bpf_trampoline_${i}`;
        lines.push(`${at.toString(16)} t ${name}\t[${i % 2 === 0 ? 'bpf' : '__builtin__ftrace'}]`);
        volatile.push([at, name]);
      }
    }
    lines.push('ffffffffc0f00000 t bpf_prog_ffffffffffffffff_last\t[bpf]');
    volatile.push([0xffffffffc0f00000n, 'bpf_prog_ffffffffffffffff_last']);
    const text = lines.join('\n');
    expect(text.length).toBeGreaterThan(4 * 256 * 1024);
    writeFileSync(join(proc, 'kallsyms'), text);
    try {
      const cache = { settings: { dir: join(dir, 'cache'), maxBytes: 1 << 24 } };
      createKallsymsSource(proc, undefined, cache).table(); // fills the cache
      const cached = createKallsymsSource(proc, undefined, cache).table()!;
      expect(cached.lookup(0xffffffff81000000n + 123n * 0x40n + 4n)?.name).toBe('kernel_fn_123');
      for (const [at, name] of volatile) expect(cached.lookup(at + 8n)?.name).toBe(name);
      expect(volatile.length).toBeGreaterThan(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the kernel\'s and modules\' symbols in the disk cache for this boot, and reads kallsyms again for anything else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-ksym-'));
    const proc = join(dir, 'proc');
    const cacheDir = join(dir, 'cache');
    mkdirSync(join(proc, 'sys', 'kernel', 'random'), { recursive: true });
    writeFileSync(join(proc, 'sys', 'kernel', 'random', 'boot_id'), 'boot-1\n');
    writeFileSync(join(proc, 'modules'), 'nf_tables 4096 3 - Live 0xffffffffc0a00000\n');
    const bpf = 'ffffffffc0b00000 t bpf_prog_0123456789abcdef_on_cpu\t[bpf]\n';
    writeFileSync(join(proc, 'kallsyms'), TEXT + bpf);
    const cache = { settings: { dir: cacheDir, maxBytes: 1 << 20 } };
    try {
      const first = createKallsymsSource(proc, undefined, cache).table()!;
      expect(first.lookup(0xffffffff81000010n)?.name).toBe('startup_64');
      expect(first.lookup(0xffffffffc0b00010n)?.name).toBe('bpf_prog_0123456789abcdef_on_cpu');
      expect(readdirSync(cacheDir).filter((f) => f.endsWith('.ksym'))).toHaveLength(1);

      // The same boot and modules: the cache answers for the kernel and nf_tables (the
      // file now names them otherwise, to tell which was read); a BPF program loaded
      // since is read from kallsyms.
      const bpf2 = 'ffffffffc0c00000 t bpf_prog_fedcba9876543210_later\t[bpf]\n';
      writeFileSync(join(proc, 'kallsyms'), TEXT.replace('startup_64', 'renamed_64').replace('mod_fn', 'renamed_mod_fn') + bpf2);
      const second = createKallsymsSource(proc, undefined, cache).table()!;
      // Eviction unlinks the file: the table read from it stays whole (a real kallsyms' names stay in the open file).
      for (const f of readdirSync(cacheDir)) rmSync(join(cacheDir, f));
      expect(second.lookup(0xffffffff81000010n)?.name).toBe('startup_64');
      expect(second.lookup(0xffffffffc0a00040n)).toEqual({ name: 'mod_fn', start: 0xffffffffc0a00000n, module: 'nf_tables' });
      expect(second.lookup(0xffffffffc0c00008n)?.name).toBe('bpf_prog_fedcba9876543210_later');
      // the old BPF program is gone: never answered from the cache
      expect(second.lookup(0xffffffffc0b00010n)?.name).not.toBe('bpf_prog_0123456789abcdef_on_cpu');

      // Another boot: read again.
      writeFileSync(join(proc, 'sys', 'kernel', 'random', 'boot_id'), 'boot-2\n');
      expect(createKallsymsSource(proc, undefined, cache).table()!.lookup(0xffffffff81000010n)?.name).toBe('renamed_64');
      // A module loaded (another /proc/modules): read again.
      writeFileSync(join(proc, 'kallsyms'), TEXT.replace('startup_64', 'third_64'));
      writeFileSync(join(proc, 'modules'), 'nf_tables 4096 3 - Live 0xffffffffc0a00000\nveth 4096 0 - Live 0xffffffffc0d00000\n');
      expect(createKallsymsSource(proc, undefined, cache).table()!.lookup(0xffffffff81000010n)?.name).toBe('third_64');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
