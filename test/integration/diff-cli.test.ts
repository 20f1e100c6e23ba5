// meshprof diff on two real recordings of a program before and after a
// change (work_a's loop doubled, every address moved): the changed function
// is the largest difference in the pprof (go tool pprof), the folded file
// and the flame graph.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlameData } from '../../src/encode/flame-data.js';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { compileFixture } from '../helpers/compile-fixture.js';
import { nmSymbols } from '../helpers/nm-symbols.js';
import { cliPath, startCli } from '../helpers/start-cli.js';

const run = promisify(execFile);

/**
 * Records `binary`'s fixed amount of work into `out`: the recording is on
 * before the work starts and stopped (SIGINT) once the fixture says it is
 * done, so the machine's load changes how long that takes, not the totals.
 */
async function recordWork(binary: string, out: string): Promise<void> {
  const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  let printed = '';
  const said = (text: string): Promise<void> => new Promise((resolve, reject) => {
    const check = (): void => { if (printed.includes(text)) resolve(); };
    child.stdout!.on('data', (d: Buffer) => { printed += d.toString(); check(); });
    child.once('exit', (code) => reject(new Error(`${binary} exited (${code}) before printing ${text}: ${printed}`)));
    check();
  });
  try {
    await said('ready');
    const cli = startCli(['record', '--pid', String(child.pid), '--duration', '10m', '--frequency', '499', '-o', out]);
    await cli.started;
    child.stdin!.write('go\n');
    await said('done');
    cli.child.kill('SIGINT');
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
  } finally {
    child.kill();
  }
}

/** Flat value per function of `go tool pprof -top` output, in its order. */
function topRows(top: string): { flat: number; name: string }[] {
  const rows: { flat: number; name: string }[] = [];
  for (const line of top.split('\n')) {
    // "      +37   12.10% 12.10%  +37 12.10%  work_a" (units vary; flat is the first column)
    const m = /^\s*(-?[\d.]+)\S*\s+-?[\d.]+%\s+-?[\d.]+%\s+-?[\d.]+\S*\s+-?[\d.]+%\s+(\S+)/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) rows.push({ flat: Number(m[1]), name: m[2] });
  }
  return rows;
}

describe('meshprof diff (real BPF, as root)', { timeout: 180_000 }, () => {
  let dir = '';
  let base = '';
  let next = '';

  beforeAll(async () => {
    requirePrerequisites(bpfSkipReason());
    dir = mkdtempSync(join(tmpdir(), 'meshprof-diff-'));
    const flags = ['-O0', '-fno-omit-frame-pointer'];
    // One file name, so both runs have the same process name (comm), as two builds of a program do.
    const before = compileFixture('diff-work.c', { name: 'diff-before/diff-work', flags });
    const after = compileFixture('diff-work.c', { name: 'diff-after/diff-work', flags: [...flags, '-DA_TURNS=2', '-DPADDING'] });
    // The two builds differ in where work_a lives: only names can match them.
    expect(nmSymbols(before).get('work_a')?.value).not.toBe(nmSymbols(after).get('work_a')?.value);
    base = join(dir, 'base.pb.gz');
    next = join(dir, 'new.pb.gz');
    await recordWork(before, base);
    await recordWork(after, next);
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a pprof of NEW - BASE whose largest difference go tool pprof shows is work_a', async () => {
    const out = join(dir, 'diff.pb.gz');
    const { stderr } = await run('node', [cliPath, 'diff', base, next, '-o', out]);
    expect(stderr).toContain('wrote');
    const env = { ...process.env, HOME: dir, GOCACHE: join(dir, 'gocache'), GOPATH: join(dir, 'gopath') };
    const top = execFileSync('go', ['tool', 'pprof', '-top', '-sample_index=samples', out], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
    const rows = topRows(top);
    const byName = new Map(rows.map((r) => [r.name, r.flat]));
    console.log(`diff flat: work_a ${byName.get('work_a')}, work_b ${byName.get('work_b')}, work_c ${byName.get('work_c')}`);
    const largest = [...rows].sort((a, b) => Math.abs(b.flat) - Math.abs(a.flat))[0];
    expect(largest?.name, top).toBe('work_a');
    // work_a doubled: it gained about its own BASE count; the others did the same work twice (noise only).
    const a = byName.get('work_a') ?? 0;
    expect(a).toBeGreaterThan(0);
    for (const other of ['work_b', 'work_c']) expect(Math.abs(byName.get(other) ?? 0), top).toBeLessThan(0.7 * a);
  });

  it('writes a two-column folded diff and a differential flame graph', async () => {
    const folded = join(dir, 'diff.folded');
    await run('node', [cliPath, 'diff', base, next, '-o', folded]);
    const lines = readFileSync(folded, 'utf8').trim().split('\n');
    const sums = new Map<string, [number, number]>();
    for (const line of lines) {
      const m = /^(.*) (\d+) (\d+)$/.exec(line);
      expect(m, line).not.toBeNull();
      const leaf = (m![1] ?? '').split(';').pop() ?? '';
      const s = sums.get(leaf) ?? [0, 0];
      sums.set(leaf, [s[0] + Number(m![2]), s[1] + Number(m![3])]);
    }
    // Matched across builds: work_a's own stack is one line with both values.
    expect(lines.find((l) => /^diff-work;.*;main;work_a \d+ \d+$/.test(l))).toMatch(/ [1-9]\d* [1-9]\d*$/);
    const [aBase = 0, aNew = 0] = sums.get('work_a') ?? [];
    const [bBase = 0, bNew = 0] = sums.get('work_b') ?? [];
    expect(aBase).toBeGreaterThan(50);
    // Doubling work_a doubles its samples (±25%); work_b did the same work twice.
    expect(aNew / aBase).toBeGreaterThan(1.5);
    expect(aNew / aBase).toBeLessThan(2.5);
    expect(bNew / bBase).toBeGreaterThan(0.7);
    expect(bNew / bBase).toBeLessThan(1.4);

    const html = join(dir, 'diff.html');
    await run('node', [cliPath, 'diff', base, next, '-o', html]);
    const m = /<script type="application\/json" id="flame-data">(.*?)<\/script>/s.exec(readFileSync(html, 'utf8'));
    const data = JSON.parse(m![1]!) as FlameData;
    expect(data.diff?.newTotals[0]).toBeGreaterThan(data.diff?.baseTotals[0] ?? 0);
    expect(data.names).toContain('work_a');
  });
});
