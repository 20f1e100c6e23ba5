import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from this file's place in test/helpers. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** test/fixtures: the fixture programs' sources. */
export const fixturesDir = join(repoRoot, 'test', 'fixtures');
