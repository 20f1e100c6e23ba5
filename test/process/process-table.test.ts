import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcessTable } from '../../src/process/process-table.js';
import { buildSymFixtures, startSymFixture, type SymFixtures } from '../helpers/build-sym-fixtures.js';

let fx: SymFixtures;
let tmp: string;
beforeAll(() => {
  fx = buildSymFixtures();
  tmp = mkdtempSync(join(tmpdir(), 'meshprof-proc-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function fakeProc(root: string, pid: number, comm: string, maps: string): void {
  const dir = join(root, String(pid));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'comm'), `${comm}\n`);
  writeFileSync(join(dir, 'cmdline'), `${comm}\0--flag\0value\0`);
  writeFileSync(join(dir, 'maps'), maps);
  symlinkSync(`/usr/bin/${comm}`, join(dir, 'exe'));
}

describe('ProcessTable', () => {
  it('captures comm, exe, cmdline and mappings of a live process', async () => {
    const run = await startSymFixture(fx.pie);
    try {
      const table = createProcessTable();
      const p = table.observe(run.pid);
      expect(p.comm).toBe('sym-target-pie');
      expect(p.exePath).toBe(fx.pie);
      expect(p.cmdline).toEqual([fx.pie]);
      expect(p.exited).toBe(false);
      const addr = run.printed.get('sym_static_work')!;
      expect(table.findMapping(run.pid, addr)?.path).toBe(fx.pie);
      expect(p.mappings.some((m) => m.path === fx.lib && m.executable)).toBe(true);
      expect(table.observe(run.pid)).toBe(p);
      expect(table.hostPath(run.pid, '/usr/lib/x.so')).toBe(`/proc/${run.pid}/root/usr/lib/x.so`);
    } finally {
      await run.stop();
    }
  });

  it('throws a clear error for an unknown pid', () => {
    const table = createProcessTable();
    expect(() => table.observe(0x3ffffff)).toThrow(`observing pid ${0x3ffffff}: no such process`);
    expect(table.tryObserve(0x3ffffff)).toBeUndefined();
  });

  it('refresh finds new processes, marks exits and keeps them until forgetExited', async () => {
    const table = createProcessTable();
    const added: number[] = [];
    const exited: number[] = [];
    table.onProcessAdded((p) => added.push(p.pid));
    table.onProcessExited((p) => exited.push(p.pid));
    table.refresh();
    const before = added.length;
    expect(before).toBeGreaterThan(1);
    expect(added).toContain(process.pid);

    const run = await startSymFixture(fx.nopie);
    const r1 = table.refresh();
    expect(r1.added).toContain(run.pid);
    expect(table.get(run.pid)?.comm).toBe('sym-target-nopi'); // comm is cut at 15 characters
    await run.stop();
    const r2 = table.refresh();
    expect(r2.exited).toContain(run.pid);
    expect(exited).toContain(run.pid);
    const gone = table.get(run.pid)!;
    expect(gone.exited).toBe(true);
    expect(gone.mappings.some((m) => m.path === fx.nopie)).toBe(true);
    expect(table.exitedPids()).toContain(run.pid); // other processes of the host may have exited too
    // Only the pids named: one found gone after the last drain stays for the next.
    expect(table.forgetExited([])).toEqual([]);
    expect(table.forgetExited([run.pid, process.pid])).toEqual([run.pid]);
    expect(table.get(run.pid)).toBeUndefined();
    expect(table.get(process.pid)?.exited).toBe(false);
  });

  it('markExited (an exit event) marks a process gone at once, keeps its data until forgetExited, and ignores unknown pids', async () => {
    const table = createProcessTable();
    const exited: number[] = [];
    table.onProcessExited((p) => exited.push(p.pid));
    const run = await startSymFixture(fx.nopie);
    table.observe(run.pid);
    await run.stop();
    table.markExited(run.pid);
    table.markExited(run.pid); // the event fires once however often it is said
    table.markExited(2 ** 22 + 7); // never known: nothing to mark
    expect(exited).toEqual([run.pid]);
    expect(table.exitedPids()).toEqual([run.pid]);
    expect(table.get(run.pid)?.mappings.some((m) => m.path === fx.nopie)).toBe(true);
    // The scan after it does not report it again.
    expect(table.refresh().exited).not.toContain(run.pid);
    expect(exited).toEqual([run.pid]);
    expect(table.forgetExited([run.pid])).toEqual([run.pid]);
    expect(table.get(run.pid)).toBeUndefined();
  });

  it('a process marked exited while still a zombie keeps its mappings through a refresh', async () => {
    // sleep 10 never reaps its child: the background sleep stays a zombie once it ends.
    const parent = spawn('/bin/sh', ['-c', 'sleep 0.5 & exec sleep 10'], { stdio: 'ignore' });
    try {
      const childrenOf = (): number[] => {
        try {
          return readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
        } catch {
          return [];
        }
      };
      let child: number | undefined;
      for (let i = 0; i < 50 && child === undefined; i++) {
        child = childrenOf()[0];
        if (child === undefined) await new Promise((r) => setTimeout(r, 10));
      }
      expect(child).toBeDefined();
      const table = createProcessTable();
      const before = table.observe(child!).mappings;
      expect(before.length).toBeGreaterThan(0);
      const state = (): string => { const st = readFileSync(`/proc/${child}/stat`, 'utf8'); return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3); };
      for (let i = 0; i < 200 && state() !== 'Z'; i++) await new Promise((r) => setTimeout(r, 10));
      expect(state()).toBe('Z');
      table.markExited(child!); // its exit event, while /proc still lists it
      const r = table.refresh();
      expect(r.added).not.toContain(child);
      expect(table.get(child!)?.exited).toBe(true);
      expect(table.get(child!)?.mappings).toBe(before);
      expect(table.exitedPids()).toContain(child);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('markExited of a snapshot kept by adoptLater takes it in as exited when it is looked up', () => {
    const root = join(tmp, 'later-exit');
    fakeProc(root, 4242, 'svc', '00400000-00401000 r-xp 00000000 08:01 123 /usr/bin/svc\n');
    const table = createProcessTable({ procRoot: root });
    const snapshot = { comm: 'svc', exePath: '/usr/bin/svc', cmdline: ['svc'], maps: '00400000-00401000 r-xp 00000000 08:01 123 /usr/bin/svc\n' };
    table.adoptLater(4242, snapshot, true, () => {});
    table.markExited(4242);
    expect(table.exitedPids()).toEqual([4242]);
    expect(table.get(4242)?.exited).toBe(true);
    expect(table.get(4242)?.mappings[0]?.path).toBe('/usr/bin/svc');
    expect(table.forgetExited()).toEqual([4242]);
  });

  it('re-reads mappings on a miss and reports the change', () => {
    const root = join(tmp, 'proc-dlopen');
    fakeProc(root, 4242, 'app', '400000-401000 r-xp 00000000 08:01 11 /usr/bin/app\n');
    const table = createProcessTable({ procRoot: root });
    const changed: number[] = [];
    table.onMappingsChanged((p) => changed.push(p.pid));
    table.observe(4242);
    expect(table.findMapping(4242, 0x7f0000000100n, false)).toBeUndefined();
    writeFileSync(join(root, '4242', 'maps'), '400000-401000 r-xp 00000000 08:01 11 /usr/bin/app\n7f0000000000-7f0000001000 r-xp 00000000 08:01 12 /usr/lib/plugin.so\n');
    expect(table.findMapping(4242, 0x7f0000000100n)?.path).toBe('/usr/lib/plugin.so');
    expect(changed).toEqual([4242]);
  });

  it('reads through a configured proc root, as a container with /host/proc does', () => {
    const root = join(tmp, 'hostproc');
    fakeProc(root, 77, 'envoy', '555500000000-555500001000 r-xp 00001000 08:01 99 /usr/local/bin/envoy\n');
    mkdirSync(join(root, 'self'));
    const table = createProcessTable({ procRoot: `${root}/` });
    expect(table.procRoot).toBe(root);
    const r = table.refresh();
    expect(r.added).toEqual([77]);
    const p = table.get(77)!;
    expect(p).toMatchObject({ comm: 'envoy', exePath: '/usr/bin/envoy', cmdline: ['envoy', '--flag', 'value'] });
    expect(p.mappings[0]).toMatchObject({ start: 0x555500000000n, offset: 0x1000n, inode: 99n });
    expect(table.hostPath(77, '/usr/local/bin/envoy')).toBe(`${root}/77/root/usr/local/bin/envoy`);
    rmSync(join(root, '77'), { recursive: true });
    expect(table.refresh().exited).toEqual([77]);
  });

  it('treats a kernel thread as a process without exe or mappings', () => {
    const table = createProcessTable();
    const kthreadd = table.observe(2);
    expect(kthreadd.comm).toBe('kthreadd');
    expect(kthreadd.exePath).toBeUndefined();
    expect(kthreadd.mappings).toHaveLength(0);
  });

  it('a short-lived process seen once stays symbolizable after exit', async () => {
    const child = spawn('/bin/sleep', ['0.2']);
    const table = createProcessTable();
    const p = table.observe(child.pid!);
    await new Promise((r) => child.once('exit', r));
    table.refresh();
    expect(table.get(child.pid!)?.exited).toBe(true);
    expect(p.mappings.length).toBeGreaterThan(0);
    expect(table.findMapping(child.pid!, p.mappings[0]!.start)?.path).toBe(p.mappings[0]!.path);
  });
});
