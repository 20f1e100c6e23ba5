import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadKallsyms, parseKallsyms } from '../../src/symbolize/kallsyms.js';

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
});
