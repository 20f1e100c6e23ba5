import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../helpers/start-cli.js';
import { compileFixture } from '../helpers/compile-fixture.js';
import { repoRoot } from '../helpers/repo-root.js';

const run = promisify(execFile);
const cli = join(repoRoot, 'bin', 'meshprof.js');

/** Share of `fn` among the samples of the folded lines, in percent. */
function foldedShare(folded: string, fn: string): number {
  let total = 0;
  let hit = 0;
  for (const line of folded.trim().split('\n')) {
    const sp = line.lastIndexOf(' ');
    const count = Number(line.slice(sp + 1));
    total += count;
    if (line.slice(0, sp).split(';').includes(fn)) hit += count;
  }
  return total === 0 ? 0 : (100 * hit) / total;
}

/** Self share of a symbol in `perf report` output, in percent. */
function perfShare(report: string, fn: string): number {
  const m = new RegExp(`([\\d.]+)%\\s+\\S*\\s*\\[\\.\\]\\s+${fn}\\b`).exec(report);
  return m?.[1] !== undefined ? Number(m[1]) : 0;
}

describe('meshprof record (real BPF, as root)', () => {
  let dir: string;
  let split: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshprof-record-'));
    // -O0 gives every function a frame, so frame pointers name each caller.
    split = compileFixture('split.c', { name: 'split', flags: ['-O0', '-g', '-fno-omit-frame-pointer'] });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports the 70/30 split of two hot functions like perf record does', async () => {
    const child = spawn(split, ['60'], { stdio: 'ignore' });
    try {
      const pid = String(child.pid);
      const out = join(dir, 'out.folded');
      const perfData = join(dir, 'perf.data');
      // Both sample the same 5 s window. At 99 Hz each share carries about 2
      // points of sampling noise, so a 3-point check would fail one run in
      // five by chance alone; at 997 Hz the gap's noise is about 1 point.
      // That holds only because the fixture's rounds have random lengths: a
      // fixed ~1 ms round sat on the 1 ms sampling period, and gaps of 1-3
      // points followed. (The 99 Hz comparison is run by hand; see the
      // issue's closing note.)
      const cliRun = startCli(['record', '--pid', pid, '--duration', '5s', '--frequency', '997', '-o', out]);
      await cliRun.started;
      await run('perf', ['record', '-e', 'cpu-clock', '-F', '997', '-g', '-p', pid, '-o', perfData, '--', 'sleep', '5']);
      const ours = await cliRun.done;
      expect(ours.code, ours.stderr).toBe(0);
      expect(ours.stderr).toContain('wrote');
      const folded = readFileSync(out, 'utf8');
      const report = execFileSync('perf', ['report', '-i', perfData, '--stdio', '--no-children', '--sort', 'symbol'], { encoding: 'utf8' });
      const a = foldedShare(folded, 'hot_a');
      const b = foldedShare(folded, 'hot_b');
      const perfA = perfShare(report, 'hot_a');
      const perfB = perfShare(report, 'hot_b');
      console.log(`split shares: ours ${a.toFixed(1)}/${b.toFixed(1)}, perf ${perfA.toFixed(1)}/${perfB.toFixed(1)}`);
      expect(perfA).toBeGreaterThan(50);
      expect(Math.abs(a - perfA)).toBeLessThanOrEqual(3);
      expect(Math.abs(b - perfB)).toBeLessThanOrEqual(3);
      // Frame pointers give the whole chain: every hot stack runs through work and main.
      for (const line of folded.trim().split('\n').filter((l) => l.includes('hot_a'))) {
        expect(line).toMatch(/^split;.*main;work;hot_a/);
      }
    } finally {
      child.kill();
    }
  });

  it('writes a pprof that pprof-format and go tool pprof read', async () => {
    const child = spawn(split, ['60'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const out = join(dir, 'out.pb.gz');
      await run('node', [cli, 'record', '--pid', String(child.pid), '--duration', '2s', '-o', out]);
      const profile = PprofProfile.decode(gunzipSync(readFileSync(out)));
      const str = (i: number | bigint): string => profile.stringTable.strings[Number(i)] ?? '';
      expect(profile.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`)).toEqual(['samples/count', 'cpu/nanoseconds']);
      const names = new Set(profile.function.map((f) => str(f.name)));
      // Values, not just names: the leaf function's share of the samples is the fixture's 70/30.
      const fnName = new Map(profile.function.map((f) => [Number(f.id), str(f.name)]));
      const leafOf = new Map(profile.location.map((l) => [Number(l.id), fnName.get(Number(l.line[0]?.functionId ?? 0))]));
      const byLeaf = new Map<string, number>();
      for (const s of profile.sample) {
        const leaf = leafOf.get(Number(s.locationId[0])) ?? '?';
        byLeaf.set(leaf, (byLeaf.get(leaf) ?? 0) + Number(s.value[0]));
        expect(Number(s.value[1])).toBe(Number(s.value[0]) * Math.round(1e9 / 99));
      }
      const total = [...byLeaf.values()].reduce((a, b) => a + b, 0);
      // Loose bounds: 2 s at 99 Hz is too few samples for more (the 499 Hz test above checks the split).
      expect((byLeaf.get('hot_a') ?? 0) / total).toBeGreaterThan(0.5);
      expect((byLeaf.get('hot_b') ?? 0) / total).toBeGreaterThan(0.12);
      expect((byLeaf.get('hot_a') ?? 0)).toBeGreaterThan(byLeaf.get('hot_b') ?? 0);
      expect(names).toContain('hot_a');
      expect(names).toContain('hot_b');
      expect(names).toContain('main');
      const samples = profile.sample.reduce((n, s) => n + Number(s.value[0]), 0);
      // 2 s at 99 Hz is 198 at most; a busy 2-core CI machine gives the fixture less.
      expect(samples).toBeGreaterThan(30);
      expect(samples).toBeLessThanOrEqual(2 * 99 * 1.2);
      const env = { ...process.env, HOME: dir, GOCACHE: join(dir, 'gocache'), GOPATH: join(dir, 'gopath') };
      const top = execFileSync('go', ['tool', 'pprof', '-top', out], { encoding: 'utf8', env });
      expect(top).toMatch(/hot_a/);
      expect(top).toMatch(/hot_b/);
    } finally {
      child.kill();
    }
  });

  it('writes an HTML flame graph that headless Chromium renders with the function names', async () => {
    const child = spawn(split, ['60'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const out = join(dir, 'out.html');
      await run('node', [cli, 'record', '--pid', String(child.pid), '--duration', '2', '-o', out]);
      expect(existsSync(out)).toBe(true);
      const dom = execFileSync('/usr/bin/chromium', [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        `--user-data-dir=${join(dir, 'chrome')}`, '--dump-dom', `file://${out}`,
      ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
      // The names also sit in the embedded JSON; only rendered frame elements prove the viewer ran.
      const rendered = [...dom.matchAll(/<div[^>]*class="[^"]*frame[^"]*"[^>]*>([^<]*)</g)].map((m) => m[1]);
      expect(rendered).toContain('hot_a');
      expect(rendered).toContain('hot_b');
      expect(rendered).toContain('main');
    } finally {
      child.kill();
    }
  });

  it('stops early on Ctrl-C and still writes the file', async () => {
    const child = spawn(split, ['30'], { stdio: 'ignore' });
    try {
      const out = join(dir, 'interrupted.folded');
      const cliRun = startCli(['record', '--pid', String(child.pid), '--duration', '60s', '--output', out]);
      await cliRun.started;
      await new Promise((r) => setTimeout(r, 2500));
      cliRun.child.kill('SIGINT');
      const result = await cliRun.done;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain('(stopped early)');
      expect(readFileSync(out, 'utf8')).toMatch(/hot_a \d+/);
    } finally {
      child.kill();
    }
  });

  it('takes the format from --format over the file name', async () => {
    const child = spawn(split, ['30'], { stdio: 'ignore' });
    try {
      const out = join(dir, 'folded-but-named.txt.pb.gz');
      const result = await startCli(['record', '--pid', String(child.pid), '-d', '1', '-o', out, '--format', 'folded']).done;
      expect(result.code, result.stderr).toBe(0);
      expect(readFileSync(out, 'utf8')).toMatch(/^split;.*hot_[ab] \d+$/m);
    } finally {
      child.kill();
    }
  });

  /** Runs the CLI expecting it to fail; resolves with its exit code and stderr. */
  async function failing(args: string[]): Promise<{ code: number; stderr: string }> {
    return run('node', [cli, ...args]).then(
      () => { throw new Error(`meshprof ${args.join(' ')} succeeded; it should have failed`); },
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
  }

  it('rejects bad input with a clear message and the right exit code', async () => {
    const bad = await failing(['record', '--frequency', 'fast']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--frequency fast');
    const unknownPid = await failing(['record', '--pid', '4000000', '-d', '1']);
    expect(unknownPid.code).toBe(2);
    expect(unknownPid.stderr).toContain('--pid 4000000: no such process');
    const badFlag = await failing(['record', '--bogus']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("unknown option '--bogus'");
    const badName = await failing(['record', '-o', 'x.bin', '-d', '1']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('cannot tell the format of x.bin');
  });
});
