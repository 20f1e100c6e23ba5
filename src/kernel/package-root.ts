import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The meshprof package root (the folder holding its package.json), found by
 * walking up from this module so it works from src/ under vitest and from
 * dist/src/ once compiled.
 */
export function packageRoot(): string {
  // Constant for this module's location; every addon call used to walk and parse package.json again.
  root ??= findPackageRoot();
  return root;
}

let root: string | undefined;

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && isMeshprofManifest(manifest)) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('finding package root: no meshprof package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** Path of a build artifact, e.g. buildPath('oncpu.bpf.o') → <root>/build/oncpu.bpf.o. */
export function buildPath(file: string): string {
  return join(packageRoot(), 'build', file);
}

// Defined as true by scripts/bundle.mjs in dist/bundle; undeclared elsewhere.
declare const __MESHPROF_BUNDLE__: boolean | undefined;

/** True when this code runs from the bundle in dist/bundle (scripts/bundle.mjs). */
export function runningFromBundle(): boolean {
  return typeof __MESHPROF_BUNDLE__ !== 'undefined' && __MESHPROF_BUNDLE__;
}

/**
 * In the bundle, the worker script `file` (e.g. 'exec-watcher-worker.js'):
 * the bundle keeps every file flat, so it sits beside `callerUrl`. A bundle
 * without it is a broken build, an error, not a reason to quietly run
 * dist/src's copy or no worker at all. Undefined outside the bundle.
 */
export function bundledWorkerScript(callerUrl: string, file: string): URL | undefined {
  if (!runningFromBundle()) return undefined;
  const url = new URL(`./${file}`, callerUrl);
  if (!existsSync(fileURLToPath(url))) {
    throw new Error(`starting a worker: ${fileURLToPath(url)} is missing from the bundle; rebuild with scripts/setup.sh --build-only`);
  }
  return url;
}

function isMeshprofManifest(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name === 'meshprof';
  } catch {
    return false;
  }
}
