// Process tracking with a fake event source: what is read and prepared at exec, and for how long.
import { describe, expect, it } from 'vitest';
import { createProcessTracking, type ProcessEventSource, type TrackedEvent } from '../../src/process/process-tracking.js';
import { createLogger } from '../../src/log/logger.js';

function fakeEvents(): ProcessEventSource & { queue: TrackedEvent[]; started: boolean } {
  const src = {
    queue: [] as TrackedEvent[],
    started: false,
    start: () => { src.started = true; },
    poll: () => src.queue.splice(0),
    stop: () => { src.started = false; },
  };
  return src;
}

describe('createProcessTracking', () => {
  it('with named targets, ignores every other program exec\'d on the host', () => {
    const events = fakeEvents();
    const calls: string[] = [];
    const tracking = createProcessTracking({
      events,
      processes: {
        reobserve: (pid) => { calls.push(`reobserve ${pid}`); return { mappings: [pid] }; },
        adopt: (pid) => { calls.push(`adopt ${pid}`); return { mappings: [pid] }; },
        reloadMappings: () => undefined,
        get: () => undefined,
      },
      prepare: (pid) => calls.push(`prepare ${pid}`),
      wants: (pid) => pid === 10,
      selfPid: 99,
      intervalMs: 1_000_000,
    });
    tracking.start();
    events.queue.push({ pid: 11, kind: 'exec' }, { pid: 10, kind: 'exec' }, { pid: 12, kind: 'exec' });
    tracking.tick();
    expect(calls).toEqual(['reobserve 10', 'prepare 10']);
    expect(tracking.execs).toBe(1);
    tracking.stop();
  });

  it('re-reads a process at exec, re-reads its mappings while young, prepares on change only', () => {
    const events = fakeEvents();
    let clock = 0;
    const calls: string[] = [];
    const mappings = new Map<number, unknown[]>([[10, ['a']]]);
    // What /proc/10/maps says now; reloadMappings copies it into the table.
    let onDisk: unknown[] = ['a'];
    const tracking = createProcessTracking({
      events,
      processes: {
        reobserve: (pid) => { calls.push(`reobserve ${pid}`); return { mappings: mappings.get(pid)! }; },
        adopt: (pid) => { calls.push(`adopt ${pid}`); return { mappings: mappings.get(pid)! }; },
        reloadMappings: (pid) => {
          calls.push(`reload ${pid}`);
          if (onDisk.length !== mappings.get(pid)!.length) mappings.set(pid, onDisk);
          return { mappings: mappings.get(pid)! };
        },
        get: (pid) => ({ mappings: mappings.get(pid)! }),
      },
      prepare: (pid) => calls.push(`prepare ${pid}`),
      now: () => clock,
      selfPid: 99,
      intervalMs: 1_000_000,
    });
    tracking.start();
    expect(events.started).toBe(true);
    events.queue.push({ pid: 10, kind: 'exec' }, { pid: 99, kind: 'exec' });
    tracking.tick();
    expect(calls).toEqual(['reobserve 10', 'prepare 10', 'reload 10']);
    calls.length = 0;
    clock = 100;
    onDisk = ['a', 'libfoo.so']; // the loader mapped a library
    tracking.tick();
    expect(calls).toEqual(['reload 10', 'prepare 10']);
    calls.length = 0;
    clock = 200;
    tracking.tick();
    expect(calls).toEqual(['reload 10']);
    calls.length = 0;
    clock = 300; // past the 250 ms settle time: no more reads
    tracking.tick();
    expect(calls).toEqual([]);
    expect(tracking.execs).toBe(1);
    tracking.stop();
    expect(events.started).toBe(false);
  });

  it('counts an exec its source found gone without reading it again, and prepares what the source read', () => {
    const events = fakeEvents();
    const calls: string[] = [];
    const tracking = createProcessTracking({
      events,
      processes: {
        reobserve: (pid) => { calls.push(`reobserve ${pid}`); return undefined; },
        adopt: (pid, snap) => { calls.push(`adopt ${pid} ${snap.comm}`); return { mappings: snap.mappings }; },
        reloadMappings: (pid) => { calls.push(`reload ${pid}`); return undefined; },
        get: () => undefined,
      },
      prepare: (pid) => calls.push(`prepare ${pid}`),
      selfPid: 99,
      intervalMs: 1_000_000,
    });
    tracking.start();
    const snapshot = { comm: 'sh', exePath: '/bin/sh', cmdline: ['sh'], maps: '' };
    // A worker read 20 at exec; 21 (a /bin/true) had exited before it could.
    events.queue.push({ pid: 20, kind: 'exec', snapshot }, { pid: 21, kind: 'exec', unreadable: true });
    tracking.tick();
    expect(calls).toEqual(['adopt 20 sh', 'prepare 20']);
    expect(tracking.execs).toBe(2);
    tracking.tick();
    expect(calls).toHaveLength(2);
    tracking.stop();
  });

  it('passes an exit event to the table, which frees what the process holds at once, and stops re-reading it', () => {
    const events = fakeEvents();
    let clock = 0;
    const calls: string[] = [];
    const maps = ['a'];
    const tracking = createProcessTracking({
      events,
      processes: {
        reobserve: (pid) => { calls.push(`reobserve ${pid}`); return { mappings: maps }; },
        adopt: (pid, snap) => { calls.push(`adopt ${pid}`); return { mappings: snap.mappings }; },
        reloadMappings: (pid) => { calls.push(`reload ${pid}`); return { mappings: maps }; },
        get: () => ({ mappings: maps }),
        markExited: (pid) => calls.push(`exited ${pid}`),
      },
      prepare: (pid) => calls.push(`prepare ${pid}`),
      now: () => clock,
      wants: (pid) => pid !== 31,
      selfPid: 99,
      intervalMs: 1_000_000,
    });
    tracking.start();
    // read here, not by the source: re-read while young
    events.queue.push({ pid: 30, kind: 'exec' });
    tracking.tick();
    expect(calls).toEqual(['reobserve 30', 'prepare 30', 'reload 30']);
    calls.length = 0;
    clock = 50; // still young, but gone: not re-read
    events.queue.push({ pid: 30, kind: 'exit' }, { pid: 31, kind: 'exit' }, { pid: 99, kind: 'exit' });
    tracking.tick();
    expect(calls).toEqual(['exited 30']);
    tracking.stop();
  });

  it('while the unwinder asks, leaves a snapshot to the table and prepares the pid once it is looked up', () => {
    const events = fakeEvents();
    const calls: string[] = [];
    const kept = new Map<number, (p: { readonly pid: number }) => void>();
    let asking = false;
    const tracking = createProcessTracking({
      events,
      processes: {
        reobserve: () => undefined,
        adopt: (pid, snap) => { calls.push(`adopt ${pid} ${snap.comm}`); return { mappings: snap.mappings }; },
        adoptLater: (pid, snap, exec, onAdopted) => { calls.push(`later ${pid} ${snap.comm} ${exec}`); kept.set(pid, onAdopted); },
        reloadMappings: () => undefined,
        get: () => undefined,
      },
      prepare: (pid) => calls.push(`prepare ${pid}`),
      adoptWhenAsked: () => asking,
      selfPid: 99,
      intervalMs: 1_000_000,
    });
    tracking.start();
    const snapshot = { comm: 'true', exePath: '/bin/true', cmdline: ['true'], maps: '' };
    // before the unwinder runs, everything is adopted at exec as before
    events.queue.push({ pid: 30, kind: 'exec', snapshot });
    tracking.tick();
    asking = true;
    events.queue.push({ pid: 31, kind: 'exec', snapshot }, { pid: 31, kind: 'exec', snapshot, update: true });
    tracking.tick();
    expect(calls).toEqual(['adopt 30 true', 'prepare 30', 'later 31 true true', 'later 31 true false']);
    expect(tracking.execs).toBe(2);
    kept.get(31)?.({ pid: 31 });
    expect(calls.at(-1)).toBe('prepare 31');
    tracking.stop();
  });

  it('adopts a program read at its first sample at once, as no exec and no new image', () => {
    const events = fakeEvents();
    const calls: string[] = [];
    const tracking = createProcessTracking({
      events,
      processes: {
        reobserve: () => undefined,
        adopt: (pid, snap, exec) => { calls.push(`adopt ${pid} ${snap.comm} ${exec}`); return { mappings: snap.mappings }; },
        adoptLater: (pid) => { calls.push(`later ${pid}`); },
        reloadMappings: () => undefined,
        get: () => undefined,
      },
      prepare: (pid) => calls.push(`prepare ${pid}`),
      // the unwinder waits for the snapshot to install the tables: it must not wait for a lookup
      adoptWhenAsked: () => true,
      selfPid: 99,
      intervalMs: 1_000_000,
    });
    tracking.start();
    const snapshot = { comm: 'spin', exePath: '/bin/spin', cmdline: ['spin'], maps: '' };
    events.queue.push({ pid: 40, kind: 'exec', snapshot, sampled: true });
    tracking.tick();
    expect(calls).toEqual(['adopt 40 spin false', 'prepare 40']);
    expect(tracking.execs).toBe(0);
    tracking.stop();
  });

  it('stays off, with a warning, when the watcher cannot start', () => {
    const logs: string[] = [];
    const tracking = createProcessTracking({
      events: { start: () => { throw new Error('loading bpf program procevents: EPERM'); }, poll: () => [], stop: () => {} },
      processes: { reobserve: () => undefined, adopt: () => ({ mappings: [] }), reloadMappings: () => undefined, get: () => undefined },
      prepare: () => {},
      log: createLogger((level, message) => { logs.push(`${level}: ${message}`); }),
    });
    tracking.start();
    tracking.tick();
    tracking.stop();
    expect(logs).toEqual(['warn: watching process execs: loading bpf program procevents: EPERM; short-lived processes may stay unsymbolized']);
  });
});
