import { execFileSync, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseDurationFlag, parseIntFlag, parsePidList } from '../../src/cli/parse-flags.js';
import { checkTargetPids, parseProcStat } from '../../src/cli/target-pids.js';
import { UsageError } from '../../src/cli/usage-error.js';

describe('record flags', () => {
  it.each([[''], [','], [' , ']])('--pid %j is a usage error, not "every process"', (value) => {
    expect(() => parsePidList([value])).toThrow(UsageError);
    expect(() => parsePidList([value])).toThrow(/no process id in it: pass --pid 1234 \(or --all/);
  });

  it('reads pids from repeated and comma-separated flags', () => {
    expect(parsePidList(['1,2', '2', ' 3 '])).toEqual([1, 2, 3]);
    expect(parsePidList(undefined)).toEqual([]);
  });

  it.each(['0x10', '1e3', '16.0', '+16', ' ', ''])('-F %j is rejected: decimal digits only', (value) => {
    expect(() => parseIntFlag('--frequency', value, 1, 10_000)).toThrow(/--frequency .*: use a whole number in decimal digits from 1 to 10000/);
  });

  it('-F 99 and 10000 are accepted', () => {
    expect(parseIntFlag('--frequency', '99', 1, 10_000)).toBe(99);
    expect(parseIntFlag('--frequency', '10000', 1, 10_000)).toBe(10_000);
  });

  it('-d is bounded by what a timer can wait', () => {
    expect(() => parseDurationFlag('--duration', '99999999999h')).toThrow('--duration 99999999999h: longer than 596h31m23.647s: use a shorter duration');
    expect(parseDurationFlag('--duration', '596h')).toBe(596 * 3600 * 1000);
  });
});

describe('--pid targets', () => {
  it('parses /proc/PID/stat with spaces and parentheses in comm', () => {
    expect(parseProcStat('42 (a) (b c)) S 1 42 42 0 -1 4194560 0 0')).toEqual({ comm: 'a) (b c)', state: 'S', kernelThread: false });
    expect(parseProcStat('2 (kthreadd) S 0 0 0 0 -1 2129984 0 0')).toEqual({ comm: 'kthreadd', state: 'S', kernelThread: true });
  });

  it('warns for a kernel thread, and accepts a live user process silently', () => {
    // pid 2 is kthreadd on Linux; in a pid namespace it may be something else, so look first.
    const stat = parseProcStat(execFileSync('cat', ['/proc/2/stat'], { encoding: 'utf8' }));
    if (stat?.kernelThread === true) expect(checkTargetPids([2])[0]).toMatch(/^--pid 2: kthreadd is a kernel thread: it has no user stacks/);
    expect(checkTargetPids([process.pid])).toEqual([]);
  });

  it('rejects a zombie and a missing process', async () => {
    // A child that exits while its parent sleeps without reaping it: a zombie for 30 s
    // (perl, unlike a shell, never reaps a child it did not wait for).
    const parent = spawn('perl', ['-e', '$|=1; my $p = fork(); exit 0 if $p == 0; print "$p\n"; sleep 30;'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const child = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (b: Buffer) => resolve(b.toString().trim()))));
      await expect.poll(() => parseProcStat(execFileSync('cat', [`/proc/${child}/stat`], { encoding: 'utf8' }))?.state, { timeout: 20_000 }).toBe('Z');
      expect(() => checkTargetPids([child])).toThrow(new RegExp(`^--pid ${child}: perl has exited \\(a zombie its parent has not reaped\\)`));
    } finally {
      parent.kill();
    }
    expect(() => checkTargetPids([2 ** 22 + 1])).toThrow(/no such process: check the id with ps or pgrep/);
  });
});
