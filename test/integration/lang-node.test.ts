// Node.js JIT frames in a recorded profile, named through the perf map.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo-root.js';
import { countChain, readFolded, readOtlpKinds, readPprofFrames, recordPid, total } from '../helpers/record-pid.js';

const script = join(repoRoot, 'test', 'fixtures', 'lang-node', 'hot.js');

describe('meshprof record on Node.js with --perf-basic-prof (real BPF, as root)', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lang-node-record-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs hot.js spinning for 40 s with `flags`, records it once JIT code exists. */
  const record = async (flags: readonly string[], outputs: readonly string[]): Promise<void> => {
    const child = spawn(process.execPath, ['--perf-basic-prof', ...flags, script, '40000'], { stdio: 'pipe' });
    try {
      // TurboFan has compiled the loop well within a second.
      await sleep(1000);
      await recordPid(child.pid!, outputs.map((o) => join(dir, o)));
    } finally {
      child.kill();
    }
  };

  it('names the optimized hot JS function, kind v8js, with its script and line', async () => {
    await record([], ['node.folded', 'node.otlp.pb', 'node.pb.gz']);
    const stacks = readFolded(join(dir, 'node.folded'));
    const all = total(stacks);
    expect(all).toBeGreaterThan(20);
    // TurboFan inlines hotFunction into spin: the optimized code is spin's, and it is named.
    const leafSpin = stacks.filter((s) => s.frames.at(-1) === 'spin').reduce((n, s) => n + s.count, 0);
    expect(leafSpin / all).toBeGreaterThan(0.7);
    expect(stacks.flatMap((s) => s.frames).filter((f) => f.startsWith('[anon]+0x'))).toEqual([]);
    expect(readOtlpKinds(join(dir, 'node.otlp.pb')).get('spin')).toEqual(new Set(['v8js']));
    const spin = readPprofFrames(join(dir, 'node.pb.gz')).flat().find((f) => f.name === 'spin');
    expect(spin).toEqual({ name: 'spin', fileName: script, line: 17 });
  });

  it('names hotFunction under spin when V8 does not inline it', async () => {
    await record(['--no-turbo-inlining'], ['node-noinline.folded']);
    const stacks = readFolded(join(dir, 'node-noinline.folded'));
    const all = total(stacks);
    expect(all).toBeGreaterThan(20);
    // V8 keeps frame pointers in JIT code: the JS caller is found.
    expect(countChain(stacks, ['spin', 'hotFunction']) / all).toBeGreaterThan(0.5);
  });
});
