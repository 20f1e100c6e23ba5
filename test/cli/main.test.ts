// The CLI's own options, run as users run them (compiled, through bin/meshprof.js).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cliPath } from '../helpers/start-cli.js';
import { repoRoot } from '../helpers/repo-root.js';

const run = promisify(execFile);

describe('meshprof', () => {
  it('--version prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const { stdout } = await run('node', [cliPath, flag]);
      expect(stdout).toBe(`${version}\n`);
    }
  });

  it('--help lists the commands and --version', async () => {
    const { stdout } = await run('node', [cliPath, '--help']);
    for (const word of ['record', 'agent', 'check', '--version']) expect(stdout).toContain(word);
  });
});
