// Rust frames in a recorded profile: legacy and v0 mangling, no hashes.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo-root.js';
import { countChain, readFolded, recordPid, total } from '../helpers/record-pid.js';

const fixture = join(repoRoot, 'test', 'fixtures', 'lang-rust', 'spin');
// rustup installs into /root/.cargo/bin, which may be missing from PATH.
const cargoBin = join(homedir(), '.cargo', 'bin');

describe('meshprof record on a Rust program (real BPF, as root)', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lang-rust-record-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Builds a copy of the fixture with cargo; frame pointers give the chain up to main. */
  const build = (name: string, rustflags: string): string => {
    const project = join(dir, name);
    mkdirSync(project);
    for (const file of ['Cargo.toml', 'main.rs']) copyFileSync(join(fixture, file), join(project, file));
    execFileSync('cargo', ['build', '--release', '--offline', '--quiet'], {
      cwd: project,
      env: { ...process.env, PATH: `${cargoBin}:${process.env.PATH ?? ''}`, CARGO_HOME: join(dir, 'cargo-home'), RUSTFLAGS: `-C force-frame-pointers=yes ${rustflags}` },
    });
    return join(project, 'target', 'release', 'lang_rust');
  };

  const record = async (binary: string, name: string): Promise<ReturnType<typeof readFolded>> => {
    const child = spawn(binary, ['30'], { stdio: 'ignore' });
    try {
      await sleep(300);
      const out = join(dir, `${name}.folded`);
      await recordPid(child.pid!, [out]);
      return readFolded(out);
    } finally {
      child.kill();
    }
  };

  it.each([
    ['legacy', '', 'lang_rust::shop::Cart::add'],
    ['v0', '-C symbol-mangling-version=v0', '<lang_rust::shop::Cart>::add'],
  ] as const)('names the %s-mangled hot functions without hashes', async (name, flags, addName) => {
    const stacks = await record(build(name, flags), name);
    const all = total(stacks);
    expect(all).toBeGreaterThan(20);
    const hot = countChain(stacks, ['lang_rust::main', 'lang_rust::hot_loop']);
    const add = countChain(stacks, ['lang_rust::main', addName]);
    expect(hot).toBeGreaterThan(0.2 * all);
    expect(add).toBeGreaterThan(0.2 * all);
    expect(hot + add).toBeGreaterThan(0.9 * all);
    const frames = new Set(stacks.flatMap((s) => s.frames));
    // Legacy hashes (::h0123...) and v0 crate disambiguators ([0123abcd]) are gone.
    expect([...frames].filter((f) => /::h[0-9a-f]{16}$|\[[0-9a-f]+\]|^_[ZR]/.test(f))).toEqual([]);
    expect(frames).toContain('std::rt::lang_start_internal');
  }, 240_000);
});
