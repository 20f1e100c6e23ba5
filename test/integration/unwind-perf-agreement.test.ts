import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { bpfSkipReason, toolSkipReason } from '../helpers/bpf-prerequisites.js';
import { compileFixture, OMIT_FRAME_POINTER } from '../helpers/compile-fixture.js';
import { record } from '../helpers/record.js';
import { suiteFixtures } from '../helpers/suite-fixtures.js';

const run = promisify(execFile);
const skip = bpfSkipReason() ?? toolSkipReason(['/usr/bin/perf'], 'needs perf (linux-perf)');

/** One perf sample's frames, leaf first: symbol and the file it is in. */
type PerfStack = { sym: string; dso: string }[];

/** Records `pid` with perf's DWARF unwinding (16 KiB stack copies) and returns its stacks. */
async function perfRecord(pid: number, seconds: number, dir: string): Promise<PerfStack[]> {
  const data = join(dir, 'perf.data');
  await run('perf', ['record', '-q', '-e', 'cpu-clock', '--call-graph', 'dwarf,16384', '-p', String(pid), '-o', data, '--', 'sleep', String(seconds)]);
  const { stdout } = await run('perf', ['script', '-i', data, '-F', 'ip,sym,dso'], { maxBuffer: 256 << 20 });
  return stdout.split(/\n\s*\n/).map((block) => block.split('\n').flatMap((line) => {
    const m = /^\s*[0-9a-f]+ (.+) \((.+)\)$/.exec(line);
    return m ? [{ sym: m[1]!, dso: m[2]! }] : [];
  })).filter((s) => s.length > 0);
}

/** The most frequent sequence of frames inside `binary`, as perf saw it. */
function dominantOwnFrames(stacks: PerfStack[], binary: string): { frames: string[]; share: number } {
  const counts = new Map<string, number>();
  for (const s of stacks) {
    const key = s.filter((f) => basename(f.dso) === basename(binary)).map((f) => f.sym).join(';');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const [key, n] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
  return { frames: key.split(';'), share: n / Math.max(1, stacks.length) };
}

describe('agreement with perf record --call-graph dwarf', () => {
  const fixtures = suiteFixtures(skip);
  let binary = '';
  let dir = '';
  beforeAll(() => {
    binary = compileFixture('unwind-chain.c', { flags: OMIT_FRAME_POINTER });
    dir = mkdtempSync(join(tmpdir(), 'meshprof-perf-'));
    return () => rmSync(dir, { recursive: true, force: true });
  });

  // depth 6 stays clear of f7's 70 KB frame, past what perf copies of the stack
  it.each([['spin', '6'], ['qspin', '50']])('%s %s: same dominant chain, recorded at the same time', async (mode, n) => {
    const child = await fixtures.start(binary, [mode!, n!]);
    const [perf, ours] = await Promise.all([perfRecord(child.pid, 2, dir), record('oncpu', [child.pid], 1500)]);
    const theirs = dominantOwnFrames(perf, binary);
    const top = ours.stacks[0]!;
    const own = top.names.filter((_, i) => basename(top.files[i] ?? '') === basename(binary));
    console.log(`${mode} ${n}: perf ${perf.length} samples, dominant ${(theirs.share * 100).toFixed(0)}%: ${theirs.frames.join(' <- ')}; ours ${top.names.join(' <- ')}; perf outermost ${perf[0]?.at(-1)?.sym}`);
    expect(theirs.share).toBeGreaterThan(0.9);
    expect(own).toEqual(theirs.frames);
    // both walks reach _start
    expect(top.names.at(-1)).toBe('_start');
    expect(perf[0]?.at(-1)?.sym).toBe('_start');
  }, 30_000);
});
