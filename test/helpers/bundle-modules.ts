/**
 * The CLI runs from dist/bundle (scripts/bundle.mjs), whose files carry
 * content hashes in their names and hold many dist/src modules each. The
 * build's dist/bundle/modules.json lists which; with it a test maps the files
 * a run loaded back to the modules it ran.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './repo-root.js';

/** Bundle file (relative to the repository, e.g. dist/bundle/chunk-X.js) → the dist/src modules it holds. */
export function bundleModules(): Record<string, readonly string[]> {
  const file = join(repoRoot, 'dist', 'bundle', 'modules.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string[]>) : {};
}

/**
 * The compiled modules (e.g. 'dist/src/cli/check-command.js') a run that
 * resolved `urls` loaded: each one loaded itself, and each one held by a
 * bundle file loaded.
 */
export function loadedModules(urls: readonly string[]): Set<string> {
  const held = bundleModules();
  const out = new Set<string>();
  for (const url of urls) {
    if (!url.startsWith('file:')) continue;
    const path = fileURLToPath(url);
    if (!path.startsWith(repoRoot + '/')) continue;
    const rel = path.slice(repoRoot.length + 1);
    out.add(rel);
    for (const m of held[rel] ?? []) out.add(m);
  }
  return out;
}
