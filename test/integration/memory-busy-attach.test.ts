// A process already allocating when `record --type memory` attaches: some of
// its calls begin before their return probe exists. Once, an entry left
// without its return made every later call look nested, and the recording
// stayed empty however long it ran.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { compileFixture } from '../helpers/compile-fixture.js';
import { startCli } from '../helpers/start-cli.js';
import { heapTotals } from './memory-profile.js';

describe('record --type memory of a process busy allocating as it attaches (real BPF, as root)', { timeout: 120_000 }, () => {
  let dir = '';
  let child: ChildProcess | undefined;
  beforeAll(() => {
    requirePrerequisites(bpfSkipReason());
    dir = mkdtempSync(join(tmpdir(), 'meshprof-busy-alloc-'));
  });
  afterAll(() => {
    child?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('samples its allocations from the first seconds on', async () => {
    const fixture = compileFixture('busy-alloc.c', { flags: ['-O1', '-fno-omit-frame-pointer', '-g'] });
    child = spawn(fixture, [], { stdio: 'ignore' });
    // well into its loop before the recording starts
    await new Promise((r) => setTimeout(r, 300));
    const file = join(dir, 'busy.pb.gz');
    const cli = startCli(['record', '--type', 'memory', '--pid', String(child.pid), '--duration', '3s', '-o', file]);
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    const round = heapTotals(readFileSync(file)).of('busy_round');
    // about 2.5 million 4 KiB blocks a second when unprobed; even slowed a hundredfold by the probes, far above this
    expect(round.allocBytes).toBeGreaterThan(4 * 1024 * 1024);
    // every block is freed at once
    expect(round.inuseBytes).toBeLessThan(round.allocBytes / 10);
  });
});
