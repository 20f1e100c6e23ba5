// reobserve(): a process that exec'ed is read again, in place, with a mappings event.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createProcessTable } from '../../src/process/process-table.js';

describe('ProcessTable.reobserve', () => {
  it('replaces comm, exe, cmdline and mappings of a process that exec\'ed, and fires onMappingsChanged', async () => {
    // sh waits for a line on stdin, then becomes sleep through exec: same pid, new program.
    const child = spawn('sh', ['-c', 'read x; exec sleep 30'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const pid = child.pid!;
      const table = createProcessTable();
      const before = table.observe(pid);
      expect(before.comm).toBe('sh');
      const changed: number[] = [];
      table.onMappingsChanged((p) => changed.push(p.pid));
      const mappingsBefore = before.mappings;
      // Nothing changed yet: the same mapping objects stay, no event.
      expect(table.reobserve(pid)?.mappings).toBe(mappingsBefore);
      expect(changed).toEqual([]);

      child.stdin.write('go\n');
      let after = table.get(pid);
      for (let i = 0; i < 50 && table.reobserve(pid)?.comm !== 'sleep'; i++) await new Promise((r) => setTimeout(r, 20));
      after = table.get(pid);
      expect(after).toBe(before); // the same entry, updated in place
      expect(after?.comm).toBe('sleep');
      expect(after?.cmdline).toEqual(['sleep', '30']);
      expect(after?.exePath).toMatch(/\/sleep$/);
      expect(after?.mappings.some((m) => m.path === after.exePath && m.executable)).toBe(true);
      // Once or twice: a read may land between the new image and the loader mapping libc.
      expect(changed.length).toBeGreaterThanOrEqual(1);
      expect(new Set(changed)).toEqual(new Set([pid]));
    } finally {
      child.kill();
    }
  });

  it('keeps the mappings of a process that turned zombie', async () => {
    // sh starts a short sleep, then becomes a long one that never reaps it: a zombie for 3 s,
    // whose /proc/PID/maps reads empty and whose exe link is gone.
    const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 3'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((r) => parent.stdout.once('data', (d: Buffer) => r(d.toString()))));
      // $! is printed right after fork: wait until the child has exec'ed sleep, or the table
      // reads the exe of sh and the maps of sleep.
      const comm = (): string => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      for (let i = 0; i < 100 && comm() !== 'sleep'; i++) await new Promise((r) => setTimeout(r, 5));
      const table = createProcessTable();
      const alive = table.observe(pid);
      const mappings = alive.mappings;
      expect(mappings.some((m) => m.path === alive.exePath && m.executable)).toBe(true);
      const state = (): string => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0]!;
      for (let i = 0; i < 100 && state() !== 'Z'; i++) await new Promise((r) => setTimeout(r, 20));
      expect(state()).toBe('Z');
      expect(readFileSync(`/proc/${pid}/maps`, 'utf8')).toBe('');

      expect(table.reloadMappings(pid)?.mappings).toBe(mappings);
      expect(table.reobserve(pid)?.mappings).toBe(mappings);
      expect(table.get(pid)?.exePath).toBe(alive.exePath);
      expect(table.adopt(pid, { comm: 'sleep', exePath: undefined, cmdline: [], mappings: [] }).mappings).toBe(mappings);
      // Once reaped, the next read finds it gone.
      parent.kill();
      for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 20));
      expect(table.reloadMappings(pid)?.exited).toBe(true);
      expect(table.get(pid)?.mappings).toBe(mappings);
      // Gone: nothing to re-read, and the entry stays for samples not yet symbolized.
      expect(table.reobserve(pid)).toBeUndefined();
      expect(table.get(pid)?.mappings).toBe(mappings);
      // The pid reused by a program caught at exec: a new entry, even from an empty snapshot.
      const reused = table.adopt(pid, { comm: 'next', exePath: '/bin/next', cmdline: [], mappings: [] });
      expect(reused).not.toBe(alive);
      expect(reused).toMatchObject({ comm: 'next', exited: false });
    } finally {
      parent.kill();
    }
  });

  it('observes an unknown pid and answers undefined for a missing one', () => {
    const table = createProcessTable();
    expect(table.reobserve(process.pid)?.pid).toBe(process.pid);
    expect(table.reobserve(4_000_000)).toBeUndefined();
  });
});
