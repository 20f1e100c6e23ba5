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

function isMeshprofManifest(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name === 'meshprof';
  } catch {
    return false;
  }
}
