// Rust names: build the fixture with cargo in both manglings, demangle what nm lists.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanRustName, createDemangler } from '../../src/symbolize/demangle.js';

/** Demangles through a demangler of its own, ended afterwards (its c++filt with it). */
function demangleOnce(names: readonly string[]): string[] {
  const d = createDemangler();
  try {
    return d.demangle(names);
  } finally {
    d.close();
  }
}

const fixture = fileURLToPath(new URL('../fixtures/lang-rust', import.meta.url));
// rustup installs into /root/.cargo/bin, which may be missing from PATH.
const cargoBin = join(homedir(), '.cargo', 'bin');

describe('Rust demangling', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lang-rust-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // cargo, as users build: a copy of the fixture, so Cargo.lock and target/ stay out of the tree.
  const build = (name: string, rustflags: string): string[] => {
    const project = join(dir, name);
    mkdirSync(project);
    for (const file of ['Cargo.toml', 'main.rs']) copyFileSync(join(fixture, file), join(project, file));
    execFileSync('cargo', ['build', '--release', '--offline', '--quiet'], {
      cwd: project,
      env: { ...process.env, PATH: `${cargoBin}:${process.env.PATH ?? ''}`, CARGO_HOME: join(dir, 'cargo-home'), RUSTFLAGS: rustflags },
    });
    return execFileSync('nm', ['--defined-only', join(project, 'target/release/lang_rust')], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.split(' ')[2] ?? '')
      .filter((n) => n !== '');
  };

  it('removes the hash suffix of legacy names', () => {
    const symbols = build('legacy', '').filter((n) => n.startsWith('_ZN'));
    expect(symbols.filter((n) => n.startsWith('_ZN9lang_rust')).every((n) => /17h[0-9a-f]{16}E$/.test(n))).toBe(true);
    const names = demangleOnce(symbols).filter((n) => n.startsWith('lang_rust::'));
    expect(new Set(names)).toEqual(new Set(['lang_rust::hot_loop', 'lang_rust::main', 'lang_rust::shop::Cart::add']));
  });

  it('removes crate disambiguators of v0 names', () => {
    const symbols = build('v0', '-C symbol-mangling-version=v0').filter((n) => n.startsWith('_R'));
    const names = demangleOnce(symbols);
    // v0 prints inherent methods as <Type>::method, as rustc-demangle does.
    const own = names.filter((n) => /^<?lang_rust::/.test(n));
    expect(new Set(own)).toEqual(new Set(['lang_rust::hot_loop', 'lang_rust::main', '<lang_rust::shop::Cart>::add']));
    expect(names).toContain('<alloc::raw_vec::RawVec<u32>>::grow_one');
    expect(names.every((n) => !/\w\[[0-9a-f]+\]/.test(n))).toBe(true);
  });

  it('handles closures, LLVM suffixes and clones', () => {
    const names = demangleOnce([
      '_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$closure$u7d$$u7d$$GT$17h0123456789abcdefE',
      '_ZN9lang_rust8hot_loop17hf85b1a264fe93127E.llvm.123456',
      '_ZN3foo3barEv.cold',
      '_ZNSt6vectorIiSaIiEE9push_backERKi@GLIBCXX_3.4',
    ]);
    expect(names).toEqual([
      'core::ptr::drop_in_place<std::rt::lang_start<()>::{{closure}}>',
      'lang_rust::hot_loop',
      'foo::bar() [clone .cold]',
      'std::vector<int, std::allocator<int> >::push_back(int const&)@GLIBCXX_3.4',
    ]);
  });

  it('cleans only Rust output', () => {
    expect(cleanRustName('_ZN9lang_rust8hot_loop17hf85b1a264fe93127E', 'lang_rust::hot_loop::hf85b1a264fe93127')).toBe(
      'lang_rust::hot_loop',
    );
    expect(cleanRustName('_RNvCsbY3PcFv488N_9lang_rust8hot_loop', 'lang_rust[6f2a3b]::hot_loop')).toBe('lang_rust::hot_loop');
    expect(cleanRustName('_ZN4shop4CartIiE3addEi', 'shop::Cart<int>::add(int)')).toBe('shop::Cart<int>::add(int)');
    expect(cleanRustName('_R', '&[u8]')).toBe('&[u8]');
  });
});
