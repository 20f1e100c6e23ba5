// C++ names: compile a fixture with templates and namespaces, demangle what nm lists.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemangler, isMangled } from '../../src/symbolize/demangle.js';

const source = fileURLToPath(new URL('../fixtures/lang-cpp/shop.cpp', import.meta.url));

/** Names of the code symbols of a binary, as nm lists them. */
function codeSymbols(binary: string): string[] {
  const out = execFileSync('nm', ['--defined-only', binary], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f.length === 3 && /^[tTwW]$/.test(f[1] ?? ''))
    .map((f) => f[2] ?? '');
}

describe('C++ demangling', () => {
  let dir = '';
  let mangled: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lang-cpp-'));
    const binary = join(dir, 'shop');
    execFileSync('g++', ['-O1', '-o', binary, source]);
    mangled = codeSymbols(binary).filter((n) => n.includes('4shop'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('turns the fixture symbols into exact readable names', () => {
    const demangler = createDemangler();
    const names = demangler.demangle(mangled);
    expect(new Set(names)).toEqual(
      new Set([
        'shop::Cart<int>::add(int)',
        'shop::Cart<double>::add(double)',
        'shop::Cart<int>::total() const',
        'shop::Cart<double>::total() const',
        'shop::detail::checksum(char const*, unsigned long)',
      ]),
    );
    demangler.close();
  });

  it('keeps order, passes plain names through and serves repeats from the cache', () => {
    const demangler = createDemangler({ cacheSize: 2 });
    const add = '_ZN4shop4CartIiE3addEi';
    const input = ['main', add, 'memcpy@GLIBC_2.14', add, '_Znot a name', '_Z'];
    expect(demangler.demangle(input)).toEqual([
      'main',
      'shop::Cart<int>::add(int)',
      'memcpy@GLIBC_2.14',
      'shop::Cart<int>::add(int)',
      '_Znot a name',
      '_Z',
    ]);
    expect(isMangled(add)).toBe(true);
    expect(isMangled('main')).toBe(false);
    demangler.close();
  });

  it('runs c++filt only for mangled names it has not seen', () => {
    // A wrapper that logs each run lets the test count c++filt processes.
    const log = join(dir, 'runs.log');
    const wrapper = join(dir, 'counting-cxxfilt');
    writeFileSync(wrapper, `#!/bin/sh\necho run >> '${log}'\nexec c++filt "$@"\n`);
    chmodSync(wrapper, 0o755);
    const runs = (): number => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').length - 1 : 0);
    const demangler = createDemangler({ cxxfiltPath: wrapper });
    expect(demangler.demangle(['main', 'printf'])).toEqual(['main', 'printf']);
    expect(runs()).toBe(0);
    expect(demangler.demangle(mangled.slice(0, 2))).toHaveLength(2);
    expect(runs()).toBe(1);
    expect(demangler.demangle([...mangled.slice(0, 2), 'main'])[2]).toBe('main');
    expect(runs()).toBe(1);
    demangler.close();
    const broken = createDemangler({ cxxfiltPath: join(dir, 'no-such-cxxfilt') });
    expect(() => broken.demangle(['_ZN4shop4CartIiE3addEi'])).toThrow(/^demangling names: /);
    // With an error handler the agent keeps mangled names instead of losing the batch.
    const errors: Error[] = [];
    const tolerant = createDemangler({ cxxfiltPath: join(dir, 'no-such-cxxfilt'), onError: (e) => errors.push(e) });
    expect(tolerant.demangle(['_ZN4shop4CartIiE3addEi', 'main'])).toEqual(['_ZN4shop4CartIiE3addEi', 'main']);
    expect(tolerant.demangle(['_ZN4shop4CartIiE3addEi'])).toEqual(['_ZN4shop4CartIiE3addEi']);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/^demangling names: .*ENOENT/)]);
  });

  it('keeps mangled names when asked', () => {
    const demangler = createDemangler({ keepMangled: true });
    expect(demangler.demangle(mangled)).toEqual(mangled);
  });

  it('demangles a batch larger than the cache', () => {
    const demangler = createDemangler({ cacheSize: 1 });
    const names = demangler.demangle(mangled);
    expect(names.every((n) => n.startsWith('shop::'))).toBe(true);
    demangler.close();
  });
});
