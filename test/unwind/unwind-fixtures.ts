/**
 * Test helper: compiles the unwinding fixtures once per test file into a
 * temp dir, with the flags the issue asks for.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Compiles test/fixtures/`source` with -O2 -fomit-frame-pointer; returns the binary's path. */
export function compileFixture(source: string, extraFlags: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshprof-unwind-'));
  const out = join(dir, source.replace(/\.(c|cc)$/, ''));
  const compiler = source.endsWith('.cc') ? 'g++' : 'gcc';
  execFileSync(compiler, ['-O2', '-fomit-frame-pointer', ...extraFlags, '-o', out, join(fixtures, source)], { stdio: 'pipe' });
  return out;
}
