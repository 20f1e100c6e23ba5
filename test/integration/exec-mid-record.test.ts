// A process that execs during a recording: stacks walked in the first image
// are named against its mappings, the second image's against its own, on-CPU
// and memory alike (the process table keeps the old image until the drain).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { compileFixture, OMIT_FRAME_POINTER } from '../helpers/compile-fixture.js';
import { countChain, readFolded, total } from '../helpers/record-pid.js';
import { childOutput } from '../helpers/child-output.js';
import { startCli } from '../helpers/start-cli.js';
import { heapTotals } from './memory-profile.js';

const MiB = 1 << 20;

/**
 * Starts exec-first in `mode`, records it with `meshprof record --pid`
 * into `output`, lets it run (hot_a, exec, hot_b) once the recording is
 * attached, and stops the recording once the second image says it is done.
 * Returns the recorder's stderr.
 */
async function recordAcrossExec(first: string, second: string, mode: 'cpu' | 'memory', output: string, extra: readonly string[]): Promise<string> {
  const child = spawn(first, [second, mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  const printed = childOutput(child, 'exec fixture');
  try {
    await printed('ready');
    const type = mode === 'cpu' ? 'oncpu' : 'memory';
    const cli = startCli(['record', '--type', type, '--pid', String(child.pid), '--duration', '10m', '-o', output, ...extra]);
    await cli.started;
    child.stdin!.write('g');
    await printed('done');
    // a drain or two after the exec, so the first image's stacks are drained past it
    await new Promise((r) => setTimeout(r, 2500));
    cli.child.kill('SIGINT');
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    return result.stderr;
  } finally {
    child.kill();
  }
}

describe('a process that execs mid-recording (real BPF, as root)', { timeout: 180_000 }, () => {
  let dir = '';
  let first = '';
  let second = '';
  let firstFp = '';
  let secondFp = '';
  beforeAll(() => {
    requirePrerequisites(bpfSkipReason());
    dir = mkdtempSync(join(tmpdir(), 'meshprof-exec-'));
    // no frame pointers: both images are walked with their own .eh_frame tables
    first = compileFixture('exec-first.c', { flags: [...OMIT_FRAME_POINTER, '-g'] });
    second = compileFixture('exec-second.c', { flags: [...OMIT_FRAME_POINTER, '-g'] });
    // with frame pointers: keep_b allocates within a millisecond of the exec,
    // before the second image's tables can be built, and is walked by them
    const fp = ['-O2', '-fno-omit-frame-pointer', '-g'];
    firstFp = compileFixture('exec-first.c', { name: 'exec-first-fp', flags: fp });
    secondFp = compileFixture('exec-second.c', { name: 'exec-second-fp', flags: fp });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names on-CPU stacks of both images, each against its own', async () => {
    const file = join(dir, 'cpu.folded');
    const stderr = await recordAcrossExec(first, second, 'cpu', file, []);
    const stacks = readFolded(file);
    const all = total(stacks);
    const a = countChain(stacks, ['main', 'hot_a']);
    const b = countChain(stacks, ['main', 'hot_b']);
    const unknown = stacks.filter((s) => s.frames.some((f) => f.startsWith('[unknown]'))).reduce((n, s) => n + s.count, 0);
    console.log(`exec on-CPU: ${all} samples, main;hot_a ${a}, main;hot_b ${b}, with [unknown] frames ${unknown}; ${stderr.trim().split('\n').pop()}`);
    // 1 s of CPU each: about half the samples each, whatever the load
    expect(a / all).toBeGreaterThan(0.3);
    expect(b / all).toBeGreaterThan(0.3);
    // before the fix the first image's stacks were [unknown]+0x… against the second's mappings
    expect(unknown / all).toBeLessThan(0.02);
    expect(stderr).not.toContain('symbolize_address_unmapped');
  });

  it('names allocations of both images, and drops the first image\'s in-use at the exec', async () => {
    const file = join(dir, 'memory.pb.gz');
    const stderr = await recordAcrossExec(firstFp, secondFp, 'memory', file, ['--memory-rate', '1']);
    const t = heapTotals(readFileSync(file));
    const a = t.of('keep_a');
    const b = t.of('keep_b');
    console.log(`exec memory: keep_a ${JSON.stringify(a)}, keep_b ${JSON.stringify(b)}; ${stderr.trim().split('\n').pop()}`);
    // every allocation recorded (rate 1), each under its own image's main
    expect(a.allocObjects).toBe(40);
    expect(a.allocBytes).toBe(40 * MiB);
    expect(b).toEqual({ allocObjects: 24, allocBytes: 24 * MiB, inuseObjects: 24, inuseBytes: 24 * MiB });
    // the exec took the first image's heap with it: nothing of it is still in use
    expect(a.inuseBytes).toBe(0);
    expect(t.stacks.some((s) => s.join(';').startsWith('keep_a;main'))).toBe(true);
    expect(t.stacks.some((s) => s.join(';').startsWith('keep_b;main'))).toBe(true);
    expect(t.stacks.flat().some((f) => f.startsWith('[unknown]'))).toBe(false);
  });
});
