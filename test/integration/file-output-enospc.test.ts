/**
 * A full disk while writing a profile: the error says so and no partial
 * temp file is left. Needs root to mount a small tmpfs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomically } from '../../src/export/write-profile-file.js';
import { mustRun, requirePrerequisites } from '../helpers/bpf-prerequisites.js';

let dir = '';
beforeAll(() => {
  requirePrerequisites(mustRun || process.getuid?.() === 0 ? undefined : 'needs root to mount a tmpfs');
  dir = mkdtempSync(join(tmpdir(), 'meshprof-enospc-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
});
afterAll(() => {
  if (dir === '') return;
  execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
});

describe('writing on a full filesystem', () => {
  it('fails with ENOSPC and leaves no temp file', async () => {
    await expect(writeFileAtomically(join(dir, 'big.pb.gz'), Buffer.alloc(1024 * 1024, 7), 'profile')).rejects.toThrow(/^writing profile .*big\.pb\.gz: ENOSPC/);
    expect(readdirSync(dir)).toEqual([]);
    // What fits is still written whole.
    await writeFileAtomically(join(dir, 'small.pb.gz'), Buffer.alloc(1024, 7), 'profile');
    expect(readdirSync(dir)).toEqual(['small.pb.gz']);
  });
});
