/**
 * The agent's one network sampler behind fake kernel samplers: it is made
 * once for any number of subscribers, follows the union of their targets,
 * gives each the records of its own processes (every record once per
 * subscriber that wants it), probes each libssl file once, and is stopped
 * with the last subscriber.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NetworkSource } from '../../src/profile/network-collector.js';
import { createSharedNetworkSampler, unionTargets } from '../../src/profile/shared-network-sampler.js';
import type { HttpExchange, RawNetworkBatch, RequestKeeping, TcpFlow } from '../../src/stacks/network-records.js';
import type { TargetSelection } from '../../src/stacks/raw-stacks.js';

interface FakeKernel extends NetworkSource {
  readonly targets: TargetSelection[];
  readonly probed: string[];
  started: number;
  stopped: number;
  /** What the next drain returns. */
  next: RawNetworkBatch;
  clock: bigint;
  /** The next addTlsLibraries attaches nothing (its process left). */
  failNext?: boolean;
  /** Each setKeeping's argument. */
  readonly keeping: (RequestKeeping | undefined)[];
}

function exchange(tgid: number, path: string): HttpExchange {
  return {
    tgid, tid: tgid, comm: 'srv', role: 'server', tls: false, method: 'GET', path, pathTruncated: false, protocolVersion: '1.1',
    statusCode: 200, startTimeNs: 1n, durationNs: 1000, local: undefined, peer: undefined,
  };
}

function flow(tgid: number, bytesSent: number): TcpFlow {
  return {
    tgid, role: 'server', server: { address: '127.0.0.1', port: 80 }, clientAddress: '127.0.0.1', protocol: undefined,
    bytesSent, bytesReceived: 0, opened: 1, closed: 0, retransmits: 0, rttSumUs: 0, rttCount: 0, http2Streams: 0,
  };
}

function batch(k: FakeKernel, exchanges: HttpExchange[], tcp: TcpFlow[], drops: Record<string, number> = {}): RawNetworkBatch {
  const b = { startTimeNs: k.clock, durationNs: 1_000n, exchanges, tcp, drops };
  k.clock += 1_000n;
  return b;
}

function fakeKernels(): { made: FakeKernel[]; make: (t: TargetSelection) => NetworkSource } {
  const made: FakeKernel[] = [];
  return {
    made,
    make: (t) => {
      const k: FakeKernel = {
        targets: [t], probed: [], started: 0, stopped: 0, clock: 0n, keeping: [],
        setKeeping: (x) => { k.keeping.push(x); },
        next: { startTimeNs: 0n, durationNs: 0n, exchanges: [], tcp: [], drops: {} },
        start: () => { k.started++; },
        drain: () => {
          const b = k.next.durationNs === 0n ? batch(k, [], []) : k.next;
          k.next = { startTimeNs: 0n, durationNs: 0n, exchanges: [], tcp: [], drops: {} };
          return b;
        },
        setTargets: (x) => { k.targets.push(x); },
        addTlsLibraries: (paths) => {
          if (k.failNext) { k.failNext = false; return 0; }
          k.probed.push(...paths);
          return paths.length;
        },
        addGoTls: (sites) => { k.probed.push(`go:${sites.path}`); return true; },
        stop: () => { k.stopped++; },
      };
      made.push(k);
      return k;
    },
  };
}

describe('shared network sampler', () => {
  const dirs: string[] = [];
  afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

  it('has the kernel copy request heads for what any started subscriber keeps', () => {
    const { made, make } = fakeKernels();
    const shared = createSharedNetworkSampler(make);
    const a = shared.subscribe([10]);
    const b = shared.subscribe([20]);
    const c = shared.subscribe([30]);
    a.setKeeping?.({ minDurationNs: 100_000_000, minStatus: 500, headBytes: 1024 });
    b.setKeeping?.({ minDurationNs: 30_000_000, minStatus: 400, headBytes: 512 });
    a.start();
    const k = made[0]!;
    expect(k.keeping.at(-1)).toEqual({ minDurationNs: 100_000_000, minStatus: 500, headBytes: 1024 });
    c.start(); // keeps nothing: changes nothing
    expect(k.keeping.at(-1)).toEqual({ minDurationNs: 100_000_000, minStatus: 500, headBytes: 1024 });
    b.start();
    expect(k.keeping.at(-1)).toEqual({ minDurationNs: 30_000_000, minStatus: 400, headBytes: 1024 });
    a.stop();
    b.stop();
    expect(k.keeping.at(-1)).toBeUndefined();
    c.stop();
  });

  it('unions targets: all wins, none adds nothing', () => {
    expect(unionTargets([[3, 1], 'none', [1, 7]])).toEqual([3, 1, 7]);
    expect(unionTargets([[3], 'all'])).toBe('all');
    expect(unionTargets(['none'])).toBe('none');
  });

  it('loads one kernel sampler for two subscribers, follows their union and gives each its own processes', () => {
    const { made, make } = fakeKernels();
    const shared = createSharedNetworkSampler(make);
    const a = shared.subscribe([10]);
    const b = shared.subscribe([20, 10]);
    expect(made).toHaveLength(0); // nothing before a start
    a.start();
    b.start();
    expect(made).toHaveLength(1);
    const k = made[0]!;
    expect(k.started).toBe(1);
    expect(shared.subscribers).toBe(2);
    expect(shared.followed).toEqual([10, 20]);
    expect(k.targets.at(-1)).toEqual([10, 20]);

    k.next = batch(k, [exchange(10, '/a'), exchange(20, '/b'), exchange(30, '/c')], [flow(10, 5), flow(20, 7)], { events_ring_full: 2 });
    const fromA = a.drain();
    expect(fromA.exchanges.map((e) => e.path)).toEqual(['/a']);
    expect(fromA.tcp.map((f) => f.bytesSent)).toEqual([5]);
    expect(fromA.drops).toEqual({ events_ring_full: 2 });
    // b's part of that kernel drain waits for b, with the next drain's records after it
    k.next = batch(k, [exchange(20, '/d')], [flow(20, 1)]);
    const fromB = b.drain();
    expect(fromB.exchanges.map((e) => e.path)).toEqual(['/a', '/b', '/d']);
    expect(fromB.tcp.map((f) => [f.tgid, f.bytesSent])).toEqual([[10, 5], [20, 7], [20, 1]]);
    expect(fromB.drops).toEqual({ events_ring_full: 2 });
    expect(fromB.durationNs).toBe(2_000n);
    // nothing twice
    expect(a.drain().exchanges.map((e) => e.path)).toEqual([]);
    expect(b.drain().exchanges).toEqual([]);

    b.setTargets([20]);
    expect(shared.followed).toEqual([10, 20]);
    a.stop();
    expect(shared.followed).toEqual([20]);
    expect(k.stopped).toBe(0);
    b.stop();
    expect(k.stopped).toBe(1);
    expect(shared.subscribers).toBe(0);
    expect(shared.followed).toBeUndefined();
  });

  it('drains for the others before a new subscriber joins, and makes a new kernel sampler after the last left', () => {
    const { made, make } = fakeKernels();
    const shared = createSharedNetworkSampler(make);
    const a = shared.subscribe('all');
    a.start();
    const k = made[0]!;
    k.next = batch(k, [exchange(10, '/before')], []);
    const b = shared.subscribe([10]);
    b.start();
    expect(shared.followed).toBe('all');
    expect(b.drain().exchanges).toEqual([]);
    expect(a.drain().exchanges.map((e) => e.path)).toEqual(['/before']);
    a.stop();
    expect(shared.followed).toEqual([10]);
    b.stop();
    const c = shared.subscribe([5]);
    c.start();
    expect(made).toHaveLength(2);
    expect(made[1]!.targets).toEqual([[5]]);
    c.stop();
  });

  it('probes a libssl file once, whichever process root it is reached through', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-shared-net-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'libssl.so.3'), 'x');
    symlinkSync(join(dir, 'libssl.so.3'), join(dir, 'other-root-libssl.so.3'));
    const { made, make } = fakeKernels();
    const shared = createSharedNetworkSampler(make);
    const a = shared.subscribe([1]);
    const b = shared.subscribe([2]);
    a.start();
    b.start();
    expect(a.addTlsLibraries([join(dir, 'libssl.so.3')])).toBe(1);
    expect(b.addTlsLibraries([join(dir, 'other-root-libssl.so.3')])).toBe(0);
    expect(made[0]!.probed).toEqual([join(dir, 'libssl.so.3')]);
    // a library whose attach failed is not marked: another subscriber's path to it is tried
    writeFileSync(join(dir, 'libssl.so.1.1'), 'y');
    made[0]!.failNext = true;
    expect(a.addTlsLibraries([join(dir, 'libssl.so.1.1')])).toBe(0);
    expect(b.addTlsLibraries([join(dir, 'libssl.so.1.1')])).toBe(1);
    expect(made[0]!.probed).toEqual([join(dir, 'libssl.so.3'), join(dir, 'libssl.so.1.1')]);
    // a Go binary's TLS probes too, once
    writeFileSync(join(dir, 'server'), 'go');
    const sites = { path: join(dir, 'server'), goVersion: 'go1.19.8', write: 0x10, read: 0x20, readReturns: [0x30] };
    expect(a.addGoTls(sites)).toBe(true);
    expect(b.addGoTls({ ...sites })).toBe(true);
    expect(made[0]!.probed).toEqual([join(dir, 'libssl.so.3'), join(dir, 'libssl.so.1.1'), `go:${join(dir, 'server')}`]);
    a.stop();
    b.stop();
  });

  it('refuses a drain before start, and a second start', () => {
    const { make } = fakeKernels();
    const a = createSharedNetworkSampler(make).subscribe([1]);
    expect(() => a.drain()).toThrow(/call start\(\) first/);
    a.start();
    expect(() => a.start()).toThrow(/already started/);
    a.stop();
  });
});
