import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProcReader } from '../../src/process/proc-reader.js';
import { createProcessDescriber } from '../../src/discovery/process-describer.js';
import { createProcessInspector } from '../../src/discovery/process-inspector.js';
import type { TargetRules } from '../../src/discovery/target-rules.js';
import { createTargetSelector, type TargetSet } from '../../src/discovery/target-selector.js';
import { writeFakeProcess } from '../helpers/write-fake-process.js';

// A stand-in host /proc, as in process-describer.test.ts.
let root: string;
function fakeProcess(pid: number, exe: string): void {
  writeFakeProcess(root, pid, { exe });
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'meshprof-proc-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function selector(rules: TargetRules, seen: TargetSet[]) {
  const inspector = createProcessInspector(createProcReader(root));
  const describer = createProcessDescriber({ inspector });
  return createTargetSelector({ rules, inspector, describer, onTargets: (t) => seen.push(t), intervalMs: 1000 });
}

const onlyEnvoy: TargetRules = { include: { exe: ['envoy'] }, exclude: {} };

describe('target selector', () => {
  it('reads the pids of the process table it is given, and selects a process the table adds at once', async () => {
    fakeProcess(10, '/usr/bin/server');
    fakeProcess(20, '/usr/local/bin/envoy');
    fakeProcess(30, '/usr/local/bin/envoy');
    // The table knows 10 and 20 only: 30 is not read from the proc root.
    const live = [10, 20];
    const listeners: (() => void)[] = [];
    const inspector = createProcessInspector(createProcReader(root));
    const seen: TargetSet[] = [];
    const s = createTargetSelector({
      rules: onlyEnvoy, inspector, describer: createProcessDescriber({ inspector }), onTargets: (t) => seen.push(t), intervalMs: 1000,
      processes: { livePids: () => live, onProcessAdded: (l) => { listeners.push(l); return () => listeners.splice(listeners.indexOf(l), 1); } },
    });
    s.start();
    try {
      expect(seen).toEqual([[20]]);
      live.push(30);
      for (const l of listeners) l();
      await new Promise((r) => setImmediate(r));
      expect(seen).toEqual([[20], [20, 30]]);
    } finally {
      s.stop();
    }
    expect(listeners).toEqual([]);
  });

  it("selects 'none', explicitly, when the rules match no process, and follows processes in and out", () => {
    fakeProcess(10, '/usr/bin/server');
    fakeProcess(11, '/usr/bin/sleep');
    const seen: TargetSet[] = [];
    const s = selector(onlyEnvoy, seen);
    s.start();
    try {
      expect(seen).toEqual(['none']);
      expect(s.current()).toBe('none');
      fakeProcess(30, '/usr/local/bin/envoy');
      fakeProcess(20, '/usr/local/bin/envoy');
      expect(s.rescan()).toEqual([20, 30]);
      rmSync(join(root, '20'), { recursive: true });
      rmSync(join(root, '30'), { recursive: true });
      expect(s.rescan()).toBe('none');
      expect(seen).toEqual(['none', [20, 30], 'none']);
      // never an empty list, nor a made-up pid, that a sampler could read as anything else
      expect(seen.some((t) => Array.isArray(t) && (t.length === 0 || t.includes(0)))).toBe(false);
    } finally {
      s.stop();
    }
  });

  it("selects 'none' when an exclude rule removes every process, and 'all' without rules", () => {
    fakeProcess(10, '/usr/bin/server');
    const excluded: TargetSet[] = [];
    const s = selector({ include: {}, exclude: { pids: [10] } }, excluded);
    expect(s.rescan()).toBe('none');
    const all: TargetSet[] = [];
    expect(selector({ include: {}, exclude: {} }, all).rescan()).toBe('all');
    expect([excluded, all]).toEqual([['none'], ['all']]);
  });
});
