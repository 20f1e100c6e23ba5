/**
 * Compiles the C and C++ fixture programs of test/fixtures into
 * test/fixtures/bin. A build is reused until its source, another input or
 * its command line changes, and is written under a temporary name and
 * renamed, so test files running at once never see a half-written binary.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fixturesDir } from './repo-root.js';

/** Where compiled fixtures go. */
export const fixtureBinDir = join(fixturesDir, 'bin');

/** -O2 -fomit-frame-pointer: the build the .eh_frame unwinding tests walk (no frame pointers). */
export const OMIT_FRAME_POINTER = ['-O2', '-fomit-frame-pointer'] as const;

export interface CompileOptions {
  /** Output path under test/fixtures/bin; default the source's name without its extension (C++: with -cc). */
  readonly name?: string;
  /** Compiler flags, before the source. */
  readonly flags?: readonly string[];
  /** Linker arguments, after the source (-L, -l, -Wl,-rpath). */
  readonly libs?: readonly string[];
  /** Other files the build depends on (a library it links): a newer one rebuilds it. */
  readonly inputs?: readonly string[];
  /** Strip the result (strip(1)), leaving only what a stripped package ships. */
  readonly strip?: boolean;
}

const isCxx = (source: string): boolean => /\.(cc|cpp)$/.test(source);

/** Compiles test/fixtures/`source` (gcc, or g++ for .cc/.cpp) unless an up-to-date build exists; returns the binary's path. */
export function compileFixture(source: string, options: CompileOptions = {}): string {
  const src = join(fixturesDir, source);
  const name = options.name ?? basename(source).replace(/\.(c|cc|cpp)$/, isCxx(source) ? '-cc' : '');
  const out = join(fixtureBinDir, name);
  const compiler = isCxx(source) ? 'g++' : 'gcc';
  const command = [compiler, ...(options.flags ?? []), src, ...(options.libs ?? []), ...(options.strip ? ['(strip)'] : [])].join(' ');
  const stamp = `${out}.cmd`;
  if (isFresh(out, stamp, command, [src, ...(options.inputs ?? [])])) return out;
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    execFileSync(compiler, [...(options.flags ?? []), '-o', tmp, src, ...(options.libs ?? [])], { stdio: 'pipe' });
    if (options.strip) execFileSync('strip', [tmp], { stdio: 'pipe' });
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
  writeFileSync(stamp, command);
  return out;
}

/** True when `out` exists, was built by `command`, and is newer than every input. */
function isFresh(out: string, stamp: string, command: string, inputs: readonly string[]): boolean {
  if (!existsSync(out) || !existsSync(stamp)) return false;
  if (readFileSync(stamp, 'utf8') !== command) return false;
  const built = statSync(out).mtimeMs;
  return inputs.every((i) => statSync(i).mtimeMs <= built);
}
