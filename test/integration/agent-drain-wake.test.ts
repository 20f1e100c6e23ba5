// The agent's loop sleeps until a collector is due (5 s on-CPU here) instead
// of waking every second; a Python process that appears meanwhile still gets
// its frames read while it lives, because it wakes the loop to drain every
// second. Without that wakeup the first drain after it came 3-5 s later,
// after this 2 s process was gone with its code objects.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { readPprofFrames } from '../helpers/record-pid.js';
import { repoRoot } from '../helpers/repo-root.js';
import { startAgent } from '../helpers/start-agent.js';

const script = join(repoRoot, 'test', 'fixtures', 'lang-python', 'checkout.py');
const outDir = mkdtempSync(join(tmpdir(), 'meshprof-drain-wake-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('agent loop (real BPF, as root)', () => {
  beforeAll(() => requirePrerequisites(bpfSkipReason()));

  it('names the Python frames of a 2 s process that starts between two drains', async () => {
    const agent = startAgent({ MESHPROF_INTERVAL: '60s', MESHPROF_OUTPUT_DIR: outDir, MESHPROF_LOCAL_FORMATS: 'pprof', MESHPROF_PROFILES: 'oncpu', MESHPROF_FREQUENCY: '99' });
    let pid = 0;
    try {
      await agent.waitFor('agent started', 60_000);
      // The loop drained as it started and sleeps ~4.75 s now: start the process in that sleep.
      await sleep(1000);
      const py = spawn('/usr/bin/python3.11', [script, 'checkout', '2'], { stdio: 'ignore' });
      pid = py.pid ?? 0;
      const code = await new Promise<number | null>((resolve) => py.on('exit', resolve));
      expect(code).toBe(0);
    } finally {
      expect(await agent.stop(), agent.output().slice(-3000)).toBe(0);
    }
    const files = readdirSync(outDir).filter((f) => f.endsWith('.pb.gz'));
    expect(files.length).toBeGreaterThan(0);
    const frames = files.flatMap((f) => readPprofFrames(join(outDir, f)));
    const python = frames.filter((s) => s.some((f) => f.name === 'checkout_total' && f.fileName === script));
    console.log(`pid ${pid}: ${python.length} stacks through checkout_total of ${frames.length}`);
    expect(python.length, `no stack names checkout_total; the agent's log:\n${agent.output().slice(-3000)}`).toBeGreaterThan(0);
    expect(python.some((s) => s.some((f) => f.name === 'handler'))).toBe(true);
  }, 120_000);
});
