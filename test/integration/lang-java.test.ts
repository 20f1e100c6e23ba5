// JVM frames in a recorded profile, named through the perf map `jcmd PID Compiler.perfmap` writes (JDK 17+).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo-root.js';
import { readFolded, readOtlpKinds, recordPid, total } from '../helpers/record-pid.js';

describe('meshprof record on a JVM after jcmd Compiler.perfmap (real BPF, as root)', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lang-java-record-'));
    execFileSync('javac', ['-d', dir, join(repoRoot, 'test', 'fixtures', 'lang-java', 'Hot.java')]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the compiled hot loop with kind jvm', async () => {
    const child = spawn('java', ['-cp', dir, 'Hot', '60000'], { stdio: 'pipe' });
    try {
      // C2 has compiled the loop after a couple of seconds; then the JVM writes its code map.
      await sleep(2500);
      execFileSync('jcmd', [String(child.pid), 'Compiler.perfmap']);
      await recordPid(child.pid!, [join(dir, 'java.folded'), join(dir, 'java.otlp.pb')]);
    } finally {
      child.kill();
      if (child.pid !== undefined) rmSync(`/tmp/perf-${child.pid}.map`, { force: true });
    }
    const stacks = readFolded(join(dir, 'java.folded'));
    const all = total(stacks);
    expect(all).toBeGreaterThan(20);
    // C2 inlines hotMethod into the OSR compilation of main's loop; either name is the hot Java code.
    const hot = ['Hot.main(java.lang.String[])', 'Hot.hotMethod(int)'];
    const named = stacks.filter((s) => s.frames.some((f) => hot.includes(f))).reduce((n, s) => n + s.count, 0);
    expect(named / all).toBeGreaterThan(0.7);
    const kinds = readOtlpKinds(join(dir, 'java.otlp.pb'));
    for (const f of hot) if (kinds.has(f)) expect(kinds.get(f)).toEqual(new Set(['jvm']));
    expect(hot.some((f) => kinds.has(f))).toBe(true);
  });
});
