import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProcReader } from '../../src/process/proc-reader.js';
import { createProcessDescriber } from '../../src/discovery/process-describer.js';
import { createProcessInspector } from '../../src/discovery/process-inspector.js';
import { writeFakeProcess } from '../helpers/write-fake-process.js';

const ID = 'e'.repeat(64);
const UID = '5d0c6a3e-8f1b-4c2a-9e7d-1b2c3d4e5f60';

// A stand-in host /proc, as the agent sees it at MESHPROF_HOST_PROC=/host/proc.
let root: string;
function fakeProcess(pid: number, o: { exe: string; start: string; cgroup: string; env?: string[]; comm?: string }): void {
  writeFakeProcess(root, pid, o);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'meshprof-proc-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('process describer over a proc root', () => {
  it('reads start time, exe and pod facts below the configured root', () => {
    fakeProcess(4242, { exe: '/app/bin/server', start: '98765', comm: 'my (odd) name', cgroup: `0::/kubepods.slice/kubepods-pod${UID.replaceAll('-', '_')}.slice/cri-containerd-${ID}.scope\n` });
    const proc = createProcReader(root);
    expect(proc.listPids()).toEqual([4242]);
    expect(proc.readStartTime(4242)).toBe('98765');
    const d = createProcessDescriber({ inspector: createProcessInspector(proc) });
    // No pod resolver (Kubernetes off): container facts from the cgroup, name from the exe.
    expect(d.describe({ pid: 4242, name: 'server', attributes: {} }).attributes).toEqual({
      'container.id': ID,
      'k8s.pod.uid': UID,
      'service.name': 'unknown_service:server',
    });
  });

  it('prefers OTEL_SERVICE_NAME, then service.name in OTEL_RESOURCE_ATTRIBUTES, unless environ reading is off', () => {
    fakeProcess(1, { exe: '/usr/bin/a', start: '1', cgroup: '0::/\n', env: ['HOME=/', 'OTEL_SERVICE_NAME=alpha'] });
    fakeProcess(2, { exe: '/usr/bin/b', start: '1', cgroup: '0::/\n', env: ['OTEL_RESOURCE_ATTRIBUTES=deployment.environment=prod,service.name=be%20ta'] });
    const inspector = createProcessInspector(createProcReader(root));
    const d = createProcessDescriber({ inspector });
    expect(d.describe({ pid: 1, name: 'a', attributes: {} }).attributes['service.name']).toBe('alpha');
    expect(d.describe({ pid: 2, name: 'b', attributes: {} }).attributes['service.name']).toBe('be ta');
    const off = createProcessDescriber({ inspector, readEnviron: false });
    expect(off.describe({ pid: 1, name: 'a', attributes: {} }).attributes['service.name']).toBe('unknown_service:a');
  });

  it('remembers an exited process, and notices pid reuse and exec', () => {
    fakeProcess(7, { exe: '/usr/bin/first', start: '100', cgroup: '0::/\n' });
    const inspector = createProcessInspector(createProcReader(root));
    expect(inspector.inspect(7)?.exeName).toBe('first');
    rmSync(join(root, '7'), { recursive: true });
    expect(inspector.inspect(7)?.exeName).toBe('first');
    fakeProcess(7, { exe: '/usr/bin/second', start: '200', cgroup: '0::/\n' });
    expect(inspector.inspect(7)?.exeName).toBe('second');
    // exec keeps the start time but changes the exe link.
    unlinkSync(join(root, '7', 'exe'));
    symlinkSync('/usr/bin/third', join(root, '7', 'exe'));
    expect(inspector.inspect(7)?.exeName).toBe('third');
    // Moving into a container cgroup after start is noticed too.
    writeFileSync(join(root, '7', 'cgroup'), `0::/system.slice/docker-${ID}.scope\n`);
    expect(inspector.inspect(7)?.cgroup).toMatchObject({ containerId: ID, runtime: 'docker' });
    inspector.prune(new Set());
    rmSync(join(root, '7'), { recursive: true });
    expect(inspector.inspect(7)).toBeUndefined();
  });

  it('forgets an exited process once nobody has asked for it for keepExitedMs, without a scan to prune against', () => {
    let t = 0;
    const inspector = createProcessInspector(createProcReader(root), { now: () => t, keepExitedMs: 1000 });
    fakeProcess(10, { exe: '/usr/bin/stays', start: '1', cgroup: '0::/\n' });
    fakeProcess(11, { exe: '/usr/bin/exits', start: '1', cgroup: '0::/\n' });
    fakeProcess(12, { exe: '/usr/bin/asked', start: '1', cgroup: '0::/\n' });
    for (const pid of [10, 11, 12]) expect(inspector.inspect(pid)).toBeDefined();
    rmSync(join(root, '11'), { recursive: true });
    rmSync(join(root, '12'), { recursive: true });
    t = 600;
    expect(inspector.cached(12)?.exeName).toBe('asked');
    // The next inspect after keepExitedMs sweeps: 11 is gone and unasked since t=0;
    // 12 is gone but was asked for at t=600; 10 is alive, unasked or not.
    t = 1200;
    expect(inspector.inspect(10)?.exeName).toBe('stays');
    expect(inspector.cached(11)).toBeUndefined();
    expect(inspector.cached(12)?.exeName).toBe('asked');
    t = 2400;
    inspector.inspect(10);
    expect(inspector.cached(12)).toBeUndefined();
    expect(inspector.cached(10)?.exeName).toBe('stays');
  });

  it('falls back to the base metadata for an unknown pid', () => {
    const d = createProcessDescriber({ inspector: createProcessInspector(createProcReader(root)) });
    expect(d.describe({ pid: 99, name: 'gone', executablePath: '/opt/x/worker', attributes: { a: 'b' } }).attributes).toEqual({
      a: 'b',
      'service.name': 'unknown_service:worker',
    });
  });

  it('throws a clear error when the root does not exist', () => {
    expect(() => createProcReader(join(root, 'missing')).listPids()).toThrow(/^listing processes in .*missing: ENOENT/);
  });
});
