import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bpfSkipReason } from '../helpers/bpf-prerequisites.js';
import { compileFixture, OMIT_FRAME_POINTER } from '../helpers/compile-fixture.js';
import { record } from '../helpers/record.js';
import { suiteFixtures } from '../helpers/suite-fixtures.js';

const skip = bpfSkipReason();

describe('unwind tables follow the process', () => {
  const fixtures = suiteFixtures(skip);
  let binary = '';
  beforeAll(() => {
    binary = compileFixture('unwind-chain.c', { flags: OMIT_FRAME_POINTER });
  });

  it('after exec (same pid, new mappings) the stacks become complete within a poll or two', async () => {
    // the shell is what the process table first sees; the fixture replaces it 0.8 s later
    const child = await fixtures.start('/bin/sh', ['-c', `sleep 0.8; exec ${binary} spin 7`], 100);
    const rec = await record('oncpu', [child.pid], 4000);
    const full = ['leaf', 'f7', 'f6', 'f5', 'f4', 'f3', 'f2', 'f1', 'main', '__libc_start_call_main', '__libc_start_main@@GLIBC_2.34', '_start'];
    const complete = rec.stacks.filter((s) => s.names.join(';') === full.join(';')).reduce((n, s) => n + s.count, 0);
    console.log(`exec: ${rec.total} samples, ${complete} complete; top ${rec.stacks[0]?.count}: ${rec.stacks[0]?.names.join(' <- ')}; drops ${JSON.stringify(rec.profile.drops)}`);
    expect(rec.stacks[0]!.names).toEqual(full);
    // at most about two one-second polls go by before the new tables are in
    expect(complete).toBeGreaterThan(rec.total * 0.3);
  }, 20_000);

  it('walks a program whose binary was deleted after it started, through its map_files entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-deleted-'));
    const copy = join(dir, 'unwind-chain-deleted');
    copyFileSync(binary, copy);
    const child = await fixtures.start(copy, ['spin', '5'], 100);
    // as after a package upgrade: /proc/PID/maps says "(deleted)" and the path is gone
    rmSync(dir, { recursive: true });
    const rec = await record('oncpu', [child.pid], 2500);
    const full = ['leaf', 'f5', 'f4', 'f3', 'f2', 'f1', 'main', '__libc_start_call_main', '__libc_start_main@@GLIBC_2.34', '_start'];
    const complete = rec.stacks.filter((s) => s.names.join(';') === full.join(';')).reduce((n, s) => n + s.count, 0);
    console.log(`deleted binary: ${rec.total} samples, ${complete} complete; drops ${JSON.stringify(rec.profile.drops)}`);
    expect(rec.total).toBeGreaterThan(100);
    // the tables are built before sampling starts: every stack is complete
    expect(complete).toBeGreaterThan(rec.total * 0.95);
    expect(rec.profile.drops.unwind_files_unreadable ?? 0).toBe(0);
  }, 20_000);
});
