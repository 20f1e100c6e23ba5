import { describe, expect, it } from 'vitest';
import { createRequestHeadInterner, parseRequestHead, parseStatusHead } from '../../src/samplers/http-head.js';
import { createHttpEventDecoder, decodeHttpEvent, decodeTcpKey, formatAddress, HTTP_EVENT_SIZE } from '../../src/samplers/network-layout.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('parseRequestHead', () => {
  it('reads method, path without query, and version', () => {
    expect(parseRequestHead(bytes('GET /api/items?id=3 HTTP/1.1\r\nHost: x\r\n'))).toEqual({ method: 'GET', path: '/api/items', pathTruncated: false, version: '1.1' });
    expect(parseRequestHead(bytes('DELETE /a HTTP/1.0\r\n'))).toEqual({ method: 'DELETE', path: '/a', pathTruncated: false, version: '1.0' });
  });

  it('marks a path cut by the 96 captured bytes', () => {
    const line = `POST /${'x'.repeat(120)}`.slice(0, 96);
    expect(parseRequestHead(bytes(line))).toEqual({ method: 'POST', path: line.slice(5), pathTruncated: true, version: '' });
  });

  it('rejects what is not a request line, whatever the bytes', () => {
    expect(parseRequestHead(bytes('HTTP/1.1 200 OK\r\n'))).toBeUndefined();
    expect(parseRequestHead(bytes('FOO / HTTP/1.1'))).toBeUndefined();
    expect(parseRequestHead(Buffer.from([0x47, 0x45, 0x54]))).toBeUndefined();
    for (let seed = 1; seed < 200; seed++) {
      const junk = Buffer.alloc(96, 0).map((_, i) => (seed * 7919 + i * 104729) & 0xff);
      expect(() => parseRequestHead(junk)).not.toThrow();
      expect(() => parseStatusHead(junk)).not.toThrow();
    }
    // the kernel accepted "GET " but what follows is binary: the path stops at the first non-printable byte
    expect(parseRequestHead(Buffer.concat([bytes('GET /a'), Buffer.from([0, 1, 2])]))).toMatchObject({ method: 'GET', path: '/a', version: '' });
  });
});

describe('parseStatusHead', () => {
  it('reads version and code', () => {
    expect(parseStatusHead(bytes('HTTP/1.1 404 Not Found\r\n'))).toEqual({ version: '1.1', statusCode: 404 });
    expect(parseStatusHead(bytes('HTTP/1.0 502 Bad Gateway'))).toEqual({ version: '1.0', statusCode: 502 });
    expect(parseStatusHead(bytes('HTTP/2 200'))).toBeUndefined();
    expect(parseStatusHead(bytes('HTTP/1.1 2000 x'))).toBeUndefined();
  });

  it('answers as the status-line regular expression does, on lines near and far from valid', () => {
    const reference = (b: Buffer): { version: string; statusCode: number } | undefined => {
      const m = /^HTTP\/(1\.[01]) ([1-5]\d\d)(?:[ \r]|$)/.exec(b.subarray(0, 16).toString('latin1'));
      return m ? { version: m[1]!, statusCode: Number(m[2]) } : undefined;
    };
    const lines = ['HTTP/1.1 200', 'HTTP/1.1 200 OK', 'HTTP/1.0 599\r\n', 'HTTP/1.1 600 x', 'HTTP/1.1 099 x', 'HTTP/1.2 200',
      'HTTP/1.1 20', 'HTTP/1.1 200x', 'HTTP/1.1  200', 'http/1.1 200', 'HTTP/1.1 404\n', 'HTTP/1.1 1a0 x', ''];
    for (let seed = 1; seed < 300; seed++) {
      // mutate one byte of a valid line: most mutants are just invalid, some still valid
      const b = Buffer.from('HTTP/1.1 503 Service', 'latin1').subarray(0, 16 - (seed % 5));
      b[seed % b.length] = (seed * 37) & 0xff;
      lines.push(b.toString('latin1'));
    }
    for (const l of lines) expect(parseStatusHead(bytes(l)), l).toEqual(reference(bytes(l)));
    // one answer object per version and code
    expect(parseStatusHead(bytes('HTTP/1.1 200 OK'))).toBe(parseStatusHead(bytes('HTTP/1.1 200 x')));
  });
});

describe('request line interning', () => {
  it('gives the same answers as parseRequestHead, the same object for the same line', () => {
    const heads = createRequestHeadInterner();
    const parts = ['xx', 'GET /a?q=1 HTTP/1.1\r\nHost: a\r\n', 'GET /a?q=1 HTTP/1.1\r\nHost: b\r\n', 'GET /b HTTP/1.1\r\n', 'POST /' + 'p'.repeat(90)];
    const batch = bytes(parts.join(''));
    const at: number[] = [0];
    for (const p of parts) at.push(at[at.length - 1]! + p.length);
    const first = heads.parse(batch, at[1]!, at[2]!);
    expect(first).toEqual({ method: 'GET', path: '/a', pathTruncated: false, version: '1.1' });
    // the same line, other headers after it: the same answer object
    expect(heads.parse(batch, at[2]!, at[3]!)).toBe(first);
    expect(heads.parse(batch, at[3]!, at[4]!)).toEqual({ method: 'GET', path: '/b', pathTruncated: false, version: '1.1' });
    const cut = heads.parse(batch, at[4]!, at[5]!);
    expect(cut).toEqual(parseRequestHead(batch, at[4]!, at[5]!));
    expect(cut?.pathTruncated).toBe(true);
    // a line that is a prefix of a cached one is its own entry
    expect(heads.parse(batch, at[4]!, at[4]! + 7)).toEqual(parseRequestHead(batch, at[4]!, at[4]! + 7));
  });

  it('agrees with parseRequestHead on many distinct and junk lines, past the table\'s bound', () => {
    const heads = createRequestHeadInterner();
    for (let i = 0; i < 10_000; i++) {
      const line = i % 3 === 0
        ? bytes(`GET /items/${i % 5000} HTTP/1.${i % 2}\r\n`)
        : Buffer.from(Buffer.alloc(40).map((_, k) => (i * 7919 + k * 104729) & 0xff));
      expect(heads.parse(line, 0, line.length)).toEqual(parseRequestHead(line));
    }
  });
});

describe('network layout', () => {
  it('formats IPv4, IPv6 and IPv4-mapped addresses', () => {
    const v4 = Buffer.alloc(16);
    v4.set([10, 1, 2, 3]);
    expect(formatAddress(2, v4)).toBe('10.1.2.3');
    const v6 = Buffer.alloc(16);
    v6[15] = 1;
    expect(formatAddress(10, v6)).toBe('::1');
    const doc = Buffer.from('20010db8000000000000000000000042', 'hex');
    expect(formatAddress(10, doc)).toBe('2001:db8::42');
    const mapped = Buffer.from('00000000000000000000ffff7f000001', 'hex');
    expect(formatAddress(10, mapped)).toBe('127.0.0.1');
  });

  it('decodes struct http_event field by field', () => {
    const b = Buffer.alloc(HTTP_EVENT_SIZE);
    b.writeBigUInt64LE(1000n, 0);
    b.writeBigUInt64LE(151_000_000n + 1000n, 8);
    b.writeUInt32LE(42, 16);
    b.writeUInt32LE(43, 20);
    b.writeUInt16LE(2, 24);
    b.writeUInt16LE(8080, 26);
    b.writeUInt16LE(51000, 28);
    b.writeUInt8(0, 30);
    b.writeUInt8(1, 31);
    b.set([127, 0, 0, 1], 32);
    b.set([10, 0, 0, 9], 48);
    const req = 'GET /slow HTTP/1.1\r\n';
    b.writeUInt16LE(req.length, 64);
    b.writeUInt16LE(12, 66);
    b.write('nginx', 68, 'latin1');
    b.write(req, 84, 'latin1');
    b.write('HTTP/1.1 200', 180, 'latin1');
    const e = decodeHttpEvent(b)!;
    expect(e).toMatchObject({
      startNs: 1000n, durationNs: 151_000_000, tgid: 42, tid: 43, role: 'server', tls: true, noResponse: false, comm: 'nginx',
      local: { address: '127.0.0.1', port: 8080 }, peer: { address: '10.0.0.9', port: 51000 },
    });
    expect(b.toString('latin1', e.requestStart, e.requestEnd)).toBe(req);
    expect(b.toString('latin1', e.responseStart, e.responseEnd)).toBe('HTTP/1.1 200');
    expect(decodeHttpEvent(b.subarray(0, 100))).toBeUndefined();
  });

  it('decodes records at their offset in a poll\'s buffer, sharing names and ends that repeat', () => {
    const rec = (tid: number, comm: string, peerPort: number): Buffer => {
      const b = Buffer.alloc(HTTP_EVENT_SIZE);
      b.writeBigUInt64LE(0xffff_ffffn, 0); // the low half wraps: the duration still comes out exact
      b.writeBigUInt64LE(0x1_0000_0010n, 8);
      b.writeUInt32LE(42, 16);
      b.writeUInt32LE(tid, 20);
      b.writeUInt16LE(2, 24);
      b.writeUInt16LE(8080, 26);
      b.writeUInt16LE(peerPort, 28);
      b.set([127, 0, 0, 1], 32);
      b.set([10, 0, 0, 9], 48);
      b.write(comm, 68, 'latin1');
      return b;
    };
    const batch = Buffer.concat([Buffer.alloc(8), rec(43, 'nginx', 50000), rec(43, 'nginx', 50001), rec(43, 'nginx-renamed', 50000)]);
    const d = createHttpEventDecoder();
    const decode = (o: number): NonNullable<ReturnType<typeof d.decode>> => d.decode(batch, o, HTTP_EVENT_SIZE)!;
    const a = decode(8), b = decode(8 + HTTP_EVENT_SIZE), c = decode(8 + 2 * HTTP_EVENT_SIZE);
    expect(a.durationNs).toBe(0x11);
    expect([a.comm, b.comm, c.comm]).toEqual(['nginx', 'nginx', 'nginx-renamed']);
    expect(a.local).toEqual({ address: '127.0.0.1', port: 8080 });
    expect(b.local).toBe(a.local);
    expect(c.peer).toBe(a.peer);
    expect(b.peer).toEqual({ address: '10.0.0.9', port: 50001 });
    expect(a.requestStart).toBe(8 + 84);
  });

  it('decodes a client-side TCP key as the server it talks to', () => {
    const k = Buffer.alloc(44);
    k.writeUInt32LE(7, 0);
    k.writeUInt8(1, 4);
    k.writeUInt16LE(2, 6);
    k.writeUInt16LE(9000, 10);
    k.set([192, 168, 1, 5], 28);
    expect(decodeTcpKey(k)).toEqual({ tgid: 7, role: 'client', server: { address: '192.168.1.5', port: 9000 }, clientAddress: undefined });
  });
});
