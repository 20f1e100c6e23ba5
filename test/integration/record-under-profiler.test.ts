/**
 * meshprof record under node's own CPU profiler (real BPF, as root): the
 * profiler's SIGPROF every millisecond used to interrupt the verifier of the
 * walking program, which gave up with EAGAIN five times in a row, so
 * `node --cpu-prof` (or any signal storm) could not record at all.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { repoRoot } from '../helpers/repo-root.js';

const run = promisify(execFile);

describe('record under a signal storm', () => {
  beforeAll(() => requirePrerequisites(bpfSkipReason()));
  const dir = mkdtempSync(join(tmpdir(), 'meshprof-cpuprof-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the walking sampler while node --cpu-prof signals it every millisecond', async () => {
    const out = join(dir, 'self.folded');
    // a process on the CPU the whole second, so the recording cannot come back empty
    const spinner = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    let stderr: string;
    try {
      ({ stderr } = await run(process.execPath, [
        '--cpu-prof', `--cpu-prof-dir=${join(dir, 'prof')}`, '--cpu-prof-interval=500',
        join(repoRoot, 'bin', 'meshprof.js'), 'record', '--pid', String(spinner.pid), '-d', '1s', '-o', out,
      ], { timeout: 60_000, env: { ...process.env, MESHPROF_CACHE_DIR: join(dir, 'cache') } }));
    } finally {
      spinner.kill('SIGKILL');
    }
    expect(stderr).not.toMatch(/load failed/);
    expect(stderr).toMatch(/^wrote .*self\.folded/m);
    // the spinner was sampled, and the profiler did run alongside
    expect(readFileSync(out, 'utf8')).toMatch(/^\S.* \d+$/m);
    expect(readdirSync(join(dir, 'prof')).some((f) => f.endsWith('.cpuprofile'))).toBe(true);
  });
});
