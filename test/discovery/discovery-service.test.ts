import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDiscoveryService, type DiscoveryService } from '../../src/discovery/discovery-service.js';
import { discoveryConfigFromEnv } from '../../src/config/discovery-env.js';
import type { TargetSelection } from '../../src/stacks/raw-stacks.js';
import { writeFakeProcess } from '../helpers/write-fake-process.js';
import { silentLogger } from '../../src/log/logger.js';

// A stand-in host /proc (MESHPROF_HOST_PROC), Kubernetes off.
let root: string;
let service: DiscoveryService | undefined;
function fakeProcess(pid: number, exe: string): void {
  writeFakeProcess(root, pid, { exe });
}
const start = (vars: Record<string, string>): Promise<DiscoveryService> => {
  const env = { MESHPROF_HOST_PROC: root, MESHPROF_KUBERNETES: 'off', ...vars };
  return startDiscoveryService(discoveryConfigFromEnv(env), silentLogger, env);
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'meshprof-proc-'));
  fakeProcess(10, '/usr/bin/server');
});
afterEach(async () => {
  await service?.stop();
  service = undefined;
  rmSync(root, { recursive: true, force: true });
});

describe('discovery service target selection', () => {
  it("hands the samplers 'all' when no selector is set", async () => {
    service = await start({});
    expect(service.selective).toBe(false);
    expect(service.currentTargets()).toBe('all');
  });

  it("hands the samplers 'none' when the selectors match nothing, then the pids that come to match", async () => {
    service = await start({ MESHPROF_TARGET_EXE: 'envoy' });
    expect(service.selective).toBe(true);
    expect(service.currentTargets()).toBe('none');
    const applied: TargetSelection[] = [];
    service.followTargets((t) => applied.push(t));
    expect(applied).toEqual(['none']);
    fakeProcess(42, '/usr/local/bin/envoy');
    const t0 = Date.now();
    while (applied.length < 2 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    expect(applied).toEqual(['none', [42]]);
    expect(service.currentTargets()).toEqual([42]);
  });

  it("hands the samplers 'none' when an exclude selector leaves nothing", async () => {
    service = await start({ MESHPROF_EXCLUDE_PIDS: '10' });
    expect(service.currentTargets()).toBe('none');
  });
});
