import { describe, expect, it } from 'vitest';
import { parseRequestHead, parseStatusHead } from '../../src/samplers/http-head.js';
import { decodeHttpEvent, decodeTcpKey, formatAddress, HTTP_EVENT_SIZE } from '../../src/samplers/network-layout.js';

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
      startNs: 1000n, endNs: 151_001_000n, tgid: 42, tid: 43, role: 'server', tls: true, noResponse: false, comm: 'nginx',
      local: { address: '127.0.0.1', port: 8080 }, peer: { address: '10.0.0.9', port: 51000 },
    });
    expect(e.request.toString('latin1')).toBe(req);
    expect(e.response.toString('latin1')).toBe('HTTP/1.1 200');
    expect(decodeHttpEvent(b.subarray(0, 100))).toBeUndefined();
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
