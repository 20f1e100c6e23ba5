// One short pair of the scenario's configurations, end to end (nginx, the
// traced Node.js service, the CPU budget, wrk, meshprof record, the
// classification): tracing's share of the mesh's CPU with every request
// sampled is several times its share with no SDK, and the long access log
// shows up in the proxy's path. Shares, never timings or QPS.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCpuBudget, type CpuBudget } from '../../bench/scenario/cpu-budget.js';
import { CONFIGURATIONS, runConfiguration, type Measured, type ScenarioContext } from '../../bench/scenario/scenario.js';
import { startSpanReceiver, type SpanReceiver } from '../../bench/scenario/span-receiver.js';
import { bpfSkipReason, requirePrerequisites, toolSkipReason } from '../helpers/bpf-prerequisites.js';

describe('npm run scenario, one pair of configurations (real BPF, nginx, wrk, as root)', { timeout: 300_000 }, () => {
  let dir = '';
  let budget: CpuBudget | undefined;
  let receiver: SpanReceiver | undefined;
  let ctx: ScenarioContext;

  beforeAll(async () => {
    requirePrerequisites(bpfSkipReason() ?? toolSkipReason(['/usr/sbin/nginx', '/usr/bin/wrk'], 'needs nginx and wrk (scripts/setup.sh --test)'));
    dir = mkdtempSync(join(tmpdir(), 'meshprof-scenario-test-'));
    budget = createCpuBudget(1);
    receiver = await startSpanReceiver();
    ctx = { dir, seconds: 6, warmupSeconds: 2, budget, receiver, log: (l) => console.log(l) };
  });
  afterAll(async () => {
    await receiver?.stop();
    budget?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds tracing several times larger at 100% sampling than without the SDK', async () => {
    const config = (name: string): (typeof CONFIGURATIONS)[number] => CONFIGURATIONS.find((c) => c.name.startsWith(name))!;
    const full: Measured = await runConfiguration(config('tracing 100%'), ctx);
    const exportsAtFull = receiver!.received().requests;
    const none: Measured = await runConfiguration(config('tracing off (no SDK)'), ctx);
    expect(exportsAtFull).toBeGreaterThan(0);
    expect(receiver!.received().requests).toBe(exportsAtFull);
    expect(full.row.onCpuShare.tracing).toBeGreaterThan(5);
    expect(full.row.onCpuShare.tracing).toBeGreaterThan(3 * none.row.onCpuShare.tracing);
    // Both run the long access log: its path is named in either profile.
    expect(full.row.onCpuShare.accessLog).toBeGreaterThan(0.5);
    expect(none.row.onCpuShare.accessLog).toBeGreaterThan(0.5);
    expect(full.row.qps).toBeGreaterThan(0);
    // Profiles and flame graphs of both configurations are kept beside the table.
    expect(readdirSync(dir).sort()).toEqual([
      'tracing-100pct-access-log-long.offcpu.html', 'tracing-100pct-access-log-long.offcpu.pb.gz',
      'tracing-100pct-access-log-long.oncpu.html', 'tracing-100pct-access-log-long.oncpu.pb.gz',
      'tracing-off-no-sdk-access-log-long.offcpu.html', 'tracing-off-no-sdk-access-log-long.offcpu.pb.gz',
      'tracing-off-no-sdk-access-log-long.oncpu.html', 'tracing-off-no-sdk-access-log-long.oncpu.pb.gz',
    ]);
  });
});
