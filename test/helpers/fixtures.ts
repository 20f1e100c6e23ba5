import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from this file's place in test/helpers. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Compiles test/fixtures/<source> with gcc/g++ into test/fixtures/bin/<name>, when stale. */
export function compileFixture(source: string, name: string, flags: readonly string[]): string {
  const src = join(repoRoot, 'test', 'fixtures', source);
  const outDir = join(repoRoot, 'test', 'fixtures', 'bin');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, name);
  let stale = true;
  try { stale = statSync(out).mtimeMs < statSync(src).mtimeMs; } catch { stale = true; }
  if (stale) {
    const cc = source.endsWith('.cc') || source.endsWith('.cpp') ? 'g++' : 'gcc';
    execFileSync(cc, [...flags, '-o', out, src], { stdio: 'pipe' });
  }
  return out;
}

/** Starts a fixture and resolves once it is running; the caller kills it. */
export function startFixture(path: string, args: readonly string[]): ChildProcess {
  return spawn(path, [...args], { stdio: 'ignore' });
}

/** True when the suite must not skip anything (CI sets CI=true). */
export const mustRun = process.env.CI === 'true';
