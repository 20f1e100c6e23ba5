// JIT names for Java: JDK 17+ writes /tmp/perf-PID.map on `jcmd PID Compiler.perfmap`.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPerfMap } from '../../src/symbolize/perf-map.js';

const source = fileURLToPath(new URL('../fixtures/lang-java/Hot.java', import.meta.url));

describe('perf maps of the JVM', () => {
  let dir = '';
  let child: ChildProcessWithoutNullStreams;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lang-java-'));
    execFileSync('javac', ['-d', dir, source]);
    child = spawn('java', ['-cp', dir, 'Hot'], { stdio: 'pipe' });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().startsWith('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`java exited with ${String(code)}`)));
    });
  });
  afterAll(() => {
    child.stdin.end();
    child.kill();
    if (child.pid !== undefined) rmSync(`/tmp/perf-${child.pid}.map`, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the compiled hot method with kind jvm', () => {
    const pid = child.pid ?? 0;
    execFileSync('jcmd', [String(pid), 'Compiler.perfmap'], { encoding: 'utf8' });
    const map = openPerfMap(pid);
    expect(map.refresh()).toBe(true);
    const raw = execFileSync('grep', [' int Hot.hotMethod(int)$', `/tmp/perf-${pid}.map`], { encoding: 'utf8' });
    const [start, size] = (raw.split('\n')[0] ?? '').split(' ').slice(0, 2).map((h) => BigInt(h));
    expect(size).toBeGreaterThan(0n);
    const found = map.lookup((start ?? 0n) + (size ?? 0n) / 2n);
    expect(found).toMatchObject({ name: 'Hot.hotMethod(int)', rawName: 'int Hot.hotMethod(int)', kind: 'jvm' });
  });
});
