/**
 * The HTTP/2 exchange tracker on crafted kernel records: requests matched
 * with responses per stream, CONTINUATION joined, padding and priority
 * stripped, gRPC trailers, and every way a direction gets out of step
 * counted and then left undecoded rather than guessed.
 */
import { describe, expect, it } from 'vitest';
import { createH2ExchangeTracker } from '../../src/samplers/h2-exchanges.js';
import { H2_PREFACE, H2_REST, type H2HeaderRecord } from '../../src/samplers/network-layout.js';

const local = { address: '127.0.0.1', port: 8080 };
const peer = { address: '127.0.0.1', port: 40000 };

/** A literal field with incremental indexing and a new name, no Huffman (RFC 7541 6.2.1). */
function indexed(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x40, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}
/** A literal field without indexing whose name is static-table entry `index` (6.2.2: a 4-bit prefix integer). */
function literal(index: number, value: string): Buffer {
  const name = index < 15 ? [index] : [15, index - 15];
  return Buffer.concat([Buffer.from([...name, value.length]), Buffer.from(value)]);
}

/** Records of one connection as the server process (reads requests, writes responses) sees them. */
function connection() {
  const seq = { read: 0, write: 0 };
  let ts = 1_000_000n;
  const rec = (direction: 'read' | 'write', type: number, flags: number, streamId: number, block: Buffer, frameLen = block.length): H2HeaderRecord => {
    ts += 1_000_000n;
    return {
      tsNs: ts, conn: 0xffff8881n, tgid: 10, tid: 11, streamId, frameLen, seq: seq[direction]++, type, flags, direction, tls: false,
      local: type === H2_PREFACE ? local : undefined, peer: type === H2_PREFACE ? peer : undefined, comm: 'server', block,
    };
  };
  return { rec, seq };
}

describe('HTTP/2 exchange tracker', () => {
  it('matches requests and responses per stream, with the dynamic table carried over', () => {
    const t = createH2ExchangeTracker();
    const { rec } = connection();
    expect(t.add(rec('read', H2_PREFACE, 0, 0, Buffer.alloc(0)), 0n)).toEqual([]);
    // stream 1: GET /a, with x-id indexed; stream 3 reuses it from the dynamic table (index 62)
    expect(t.add(rec('read', 1, 0x5, 1, Buffer.concat([Buffer.from([0x82, 0x86]), literal(4, '/a?x=1'), indexed('x-id', '7')])), 0n)).toEqual([]);
    expect(t.add(rec('read', 1, 0x5, 3, Buffer.concat([Buffer.from([0x83, 0x86]), literal(4, '/b'), Buffer.from([0xbe])])), 0n)).toEqual([]);
    // stream 3 answered first: 500, then stream 1: 404 (static :status entries)
    const r3 = t.add(rec('write', 1, 0x4, 3, Buffer.from([0x8e])), 0n);
    const r1 = t.add(rec('write', 1, 0x5, 1, Buffer.from([0x8d])), 0n);
    expect([...r3, ...r1].map((e) => [e.role, e.method, e.path, e.statusCode, e.protocolVersion, e.durationNs, e.local, e.peer]))
      .toEqual([['server', 'POST', '/b', 500, '2', 1_000_000, local, peer], ['server', 'GET', '/a', 404, '2', 3_000_000, local, peer]]);
    expect(t.takeDrops()).toEqual({});
  });

  it('reads the trace context of a request from its headers as for HTTP/1: traceparent, and B3 single or multi-header', () => {
    const t = createH2ExchangeTracker();
    const { rec } = connection();
    t.add(rec('read', H2_PREFACE, 0, 0, Buffer.alloc(0)), 0n);
    const get = (...fields: Buffer[]): Buffer => Buffer.concat([Buffer.from([0x82, 0x86]), literal(4, '/t'), ...fields]);
    t.add(rec('read', 1, 0x5, 1, get(indexed('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'))), 0n);
    t.add(rec('read', 1, 0x5, 3, get(indexed('b3', '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1'))), 0n);
    t.add(rec('read', 1, 0x5, 5, get(indexed('x-b3-traceid', '463ac35c9f6413ad'), indexed('x-b3-spanid', 'a2fb4a1d1a96d312'))), 0n);
    t.add(rec('read', 1, 0x5, 7, get()), 0n);
    const out = [1, 3, 5, 7].flatMap((id) => t.add(rec('write', 1, 0x5, id, Buffer.from([0x88])), 0n));
    expect(out.map((e) => [e.traceparent?.traceId, e.zipkin?.traceId, e.zipkin?.spanId])).toEqual([
      ['0af7651916cd43dd8448eb211c80319c', undefined, undefined],
      [undefined, '80f198ee56343ba864fe8b2a57d3eff7', 'e457b5a2e4d86bd1'],
      [undefined, '463ac35c9f6413ad', 'a2fb4a1d1a96d312'],
      [undefined, undefined, undefined],
    ]);
    expect(t.takeDrops()).toEqual({});
  });

  it('joins CONTINUATION frames and strips padding and priority', () => {
    const t = createH2ExchangeTracker();
    const { rec } = connection();
    t.add(rec('read', H2_PREFACE, 0, 0, Buffer.alloc(0)), 0n);
    const block = Buffer.concat([Buffer.from([0x82, 0x86]), literal(4, '/long/path')]);
    // PADDED | PRIORITY, no END_HEADERS: pad length 3, 5 priority bytes, the first 2 bytes of the block, padding
    const first = Buffer.concat([Buffer.from([3]), Buffer.alloc(5), block.subarray(0, 2), Buffer.alloc(3)]);
    expect(t.add(rec('read', 1, 0x8 | 0x20 | 0x1, 5, first), 0n)).toEqual([]);
    expect(t.add(rec('read', 9, 0x4, 5, block.subarray(2)), 0n)).toEqual([]);
    expect(t.add(rec('write', 1, 0x5, 5, Buffer.from([0x88])), 0n).map((e) => [e.method, e.path, e.statusCode])).toEqual([['GET', '/long/path', 200]]);
  });

  it('ends a gRPC call at its trailers, failed when grpc-status is not 0', () => {
    const t = createH2ExchangeTracker();
    const { rec } = connection();
    t.add(rec('read', H2_PREFACE, 0, 0, Buffer.alloc(0)), 0n);
    t.add(rec('read', 1, 0x4, 1, Buffer.concat([Buffer.from([0x83, 0x86]), literal(4, '/pkg.Svc/M'), literal(31, 'application/grpc')])), 0n);
    expect(t.add(rec('write', 1, 0x4, 1, Buffer.concat([Buffer.from([0x88]), literal(31, 'application/grpc')])), 0n)).toEqual([]);
    const done = t.add(rec('write', 1, 0x5, 1, indexed('grpc-status', '14')), 0n);
    expect(done.map((e) => [e.method, e.path, e.statusCode, e.grpcStatus, e.durationNs])).toEqual([['POST', '/pkg.Svc/M', 200, 14, 2_000_000]]);
  });

  it('puts a direction out of step for good on a gap, a cut frame or a bad block, and counts it once', () => {
    for (const spoil of ['gap', 'cut', 'bad'] as const) {
      const t = createH2ExchangeTracker();
      const { rec, seq } = connection();
      t.add(rec('read', H2_PREFACE, 0, 0, Buffer.alloc(0)), 0n);
      const req = Buffer.concat([Buffer.from([0x82, 0x86]), literal(4, '/x')]);
      if (spoil === 'gap') seq.read++;
      if (spoil === 'cut') t.add(rec('read', 1, 0x5, 1, req.subarray(0, 2), req.length), 0n);
      else if (spoil === 'bad') t.add(rec('read', 1, 0x5, 1, Buffer.from([0xff, 0xff])), 0n);
      else t.add(rec('read', 1, 0x5, 1, req), 0n);
      // later blocks of that direction are not decoded, even valid ones
      t.add(rec('read', 1, 0x5, 3, req), 0n);
      expect(t.add(rec('write', 1, 0x5, 3, Buffer.from([0x88])), 0n)).toEqual([]);
      expect(t.takeDrops()).toEqual({ http2_hpack_desync: 1, response_without_request: 1 });
    }
  });

  it('joins a header frame split across calls with the rest the kernel sends on (H2_REST), over two or three calls', () => {
    for (const cuts of [[5], [3, 6]]) {
      const t = createH2ExchangeTracker();
      const { rec } = connection();
      t.add(rec('read', H2_PREFACE, 0, 0, Buffer.alloc(0)), 0n);
      const req = Buffer.concat([Buffer.from([0x82, 0x86]), literal(4, '/split/path')]);
      const bounds = [0, ...cuts, req.length];
      // the first call has the frame header and req[0, cuts[0]); each later one a part of the rest
      expect(t.add(rec('read', 1, 0x5, 1, req.subarray(0, cuts[0]), req.length), 0n)).toEqual([]);
      for (let i = 1; i + 1 < bounds.length; i++) {
        const part = req.subarray(bounds[i], bounds[i + 1]);
        expect(t.add(rec('read', H2_REST, 0, 0, part), 0n)).toEqual([]);
      }
      const out = t.add(rec('write', 1, 0x5, 1, Buffer.from([0x88])), 0n);
      expect(out.map((e) => [e.method, e.path, e.statusCode])).toEqual([['GET', '/split/path', 200]]);
      expect(t.takeDrops()).toEqual({});
    }
  });

  it('puts a direction out of step when a split frame\'s rest does not come next, or comes cut', () => {
    for (const spoil of ['other-frame', 'rest-cut'] as const) {
      const t = createH2ExchangeTracker();
      const { rec } = connection();
      t.add(rec('read', H2_PREFACE, 0, 0, Buffer.alloc(0)), 0n);
      const req = Buffer.concat([Buffer.from([0x82, 0x86]), literal(4, '/x')]);
      t.add(rec('read', 1, 0x5, 1, req.subarray(0, 2), req.length), 0n);
      if (spoil === 'other-frame') t.add(rec('read', 1, 0x5, 3, req), 0n);
      else t.add(rec('read', H2_REST, 0, 0, req.subarray(2, 3), req.length - 2), 0n);
      expect(t.add(rec('write', 1, 0x5, 1, Buffer.from([0x88])), 0n)).toEqual([]);
      expect(t.takeDrops()).toEqual({ http2_hpack_desync: 1, response_without_request: 1 });
    }
  });

  it('starts over at a new preface, and decodes nothing of a connection whose preface was not seen', () => {
    const t = createH2ExchangeTracker();
    const { rec } = connection();
    t.add(rec('read', 1, 0x5, 1, Buffer.from([0x82, 0x86, 0x84])), 0n);
    expect(t.takeDrops()).toEqual({ http2_hpack_desync: 2 });
    const again = connection();
    t.add(again.rec('read', H2_PREFACE, 0, 0, Buffer.alloc(0)), 0n);
    t.add(again.rec('read', 1, 0x5, 1, Buffer.from([0x82, 0x86, 0x84])), 0n);
    expect(t.add(again.rec('write', 1, 0x5, 1, Buffer.from([0x88])), 0n).map((e) => e.statusCode)).toEqual([200]);
  });
});
