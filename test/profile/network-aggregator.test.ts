import { describe, expect, it } from 'vitest';
import { createNetworkAggregator } from '../../src/profile/network-aggregator.js';
import { HTTP_DURATION_BUCKETS } from '../../src/profile/network-report.js';
import type { HttpExchange, RawNetworkBatch } from '../../src/stacks/network-records.js';

function exchange(over: Partial<HttpExchange>): HttpExchange {
  return {
    tgid: 10, tid: 10, comm: 'nginx', role: 'server', tls: false, method: 'GET', path: '/', pathTruncated: false, protocolVersion: '1.1',
    statusCode: 200, startTimeNs: 1_000n, durationNs: 1_000_000, local: { address: '127.0.0.1', port: 80 }, peer: { address: '127.0.0.1', port: 50000 },
    ...over,
  };
}

function batch(exchanges: HttpExchange[], start = 0n): RawNetworkBatch {
  return { startTimeNs: start, durationNs: 1_000_000_000n, exchanges, tcp: [], drops: {} };
}

const describe_ = (pid: number, comm: string) => ({ pid, name: comm, attributes: {} });

describe('network aggregator', () => {
  it('puts a 150 ms request in the (0.1, 0.25] bucket and the slow list, a 500 in the failed list', () => {
    const agg = createNetworkAggregator();
    agg.add(batch([exchange({ path: '/slow', durationNs: 150_000_000 }), exchange({ statusCode: 500, path: '/fail' }), exchange({})]));
    const r = agg.build(describe_);
    const slow = r.http.find((p) => p.statusCode === 200)!;
    expect(slow.count).toBe(2);
    expect(slow.bucketCounts[HTTP_DURATION_BUCKETS.indexOf(0.25)]).toBe(1);
    expect(slow.bucketCounts[HTTP_DURATION_BUCKETS.indexOf(0.005)]).toBe(1);
    expect(slow.max).toBeCloseTo(0.15);
    expect(r.notable.map((n) => [n.reason, n.path])).toEqual([['slow', '/slow'], ['failed', '/fail']]);
    expect(r.processes.get(10)?.name).toBe('nginx');
  });

  it('counts a request without response, and sums across batches until build', () => {
    const agg = createNetworkAggregator({ slowThresholdNs: 1e9 });
    agg.add(batch([exchange({ statusCode: undefined })], 0n));
    agg.add(batch([exchange({}), exchange({ role: 'client', local: undefined, peer: { address: '10.0.0.2', port: 8080 } })], 1_000_000_000n));
    const r = agg.build(describe_);
    expect(r.durationNs).toBe(2_000_000_000n);
    expect(r.http.map((p) => [p.role, p.statusCode, p.count, p.server?.port])).toEqual([['server', undefined, 1, 80], ['server', 200, 1, 80], ['client', 200, 1, 8080]]);
    expect(r.notable.map((n) => n.reason)).toEqual(['no_response']);
    expect(agg.build(describe_).http).toEqual([]);
  });

  it('finds each exchange its attribute set whether ends are shared objects or equal copies, past the recent sets it compares first', () => {
    const agg = createNetworkAggregator({ slowThresholdNs: 1e9 });
    const shared = { address: '127.0.0.1', port: 80 };
    const exchanges: HttpExchange[] = [];
    const expected = new Map<string, number>();
    // 12 attribute sets (more than the 8 compared first), cycled, each end sometimes shared, sometimes a copy
    for (let i = 0; i < 600; i++) {
      const k = (i * 7) % 12;
      const statusCode = k % 4 === 3 ? undefined : [200, 404, 503][k % 4];
      const e = exchange({
        statusCode, method: k < 6 ? 'GET' : 'POST', tls: k % 2 === 0, grpcStatus: k === 11 ? 14 : undefined,
        local: i % 2 === 0 ? shared : { ...shared, port: k === 5 ? 81 : 80 },
      });
      exchanges.push(e);
      const id = `${e.method}|${statusCode}|${e.tls}|${e.local!.port}|${e.grpcStatus}`;
      expected.set(id, (expected.get(id) ?? 0) + 1);
    }
    agg.add(batch(exchanges));
    const r = agg.build(describe_);
    const got = new Map(r.http.map((p) => [`${p.method}|${p.statusCode}|${p.tls}|${p.server!.port}|${p.grpcStatus}`, p.count]));
    expect(got).toEqual(expected);
    expect(r.http.reduce((n, p) => n + p.count, 0)).toBe(600);
  });

  it('keeps url.path only when asked, capped per process', () => {
    const agg = createNetworkAggregator({ paths: true, maxPathsPerProcess: 2 });
    agg.add(batch(['/a', '/b', '/c', '/a'].map((path) => exchange({ path }))));
    const r = agg.build(describe_);
    expect(r.http.map((p) => [p.path, p.count])).toEqual([['/a', 2], ['/b', 1], ['other', 1]]);
    expect(r.drops).toEqual({ url_path_over_cap: 1 });
    const plain = createNetworkAggregator();
    plain.add(batch(['/a', '/b'].map((path) => exchange({ path }))));
    expect(plain.build(describe_).http.map((p) => [p.path, p.count])).toEqual([[undefined, 2]]);
  });

  it('caps the notable list and counts the rest', () => {
    const agg = createNetworkAggregator({ maxNotable: 2 });
    agg.add(batch([1, 2, 3].map(() => exchange({ statusCode: 503 }))));
    const r = agg.build(describe_);
    expect(r.notable).toHaveLength(2);
    expect(r.drops).toEqual({ notable_over_cap: 1 });
  });
});
