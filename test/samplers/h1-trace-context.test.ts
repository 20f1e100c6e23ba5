/**
 * HTTP/1 trace context: B3 headers, the trace headers of a captured request
 * head (cut lines not read, a head cut before its end told), the kernel
 * records' layouts, and what the sampler's consumers keep together.
 */
import { describe, expect, it } from 'vitest';
import { samplingKeeps } from '../../src/export/skywalking/rover-network.js';
import { decodeH1Head, encodeH1KeepConfig, H1_HEAD_MAX } from '../../src/samplers/network-layout.js';
import { parseB3, parseB3Headers, parseHeadTraceContext } from '../../src/samplers/trace-headers.js';
import { unionKeeping } from '../../src/stacks/network-records.js';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const head = (...lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'latin1');

describe('B3 headers', () => {
  it('reads single-header b3 with 128- or 64-bit trace ids and the sampling state', () => {
    expect(parseB3('80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90'))
      .toEqual({ traceId: '80f198ee56343ba864fe8b2a57d3eff7', spanId: 'e457b5a2e4d86bd1', sampled: true });
    expect(parseB3('463ac35c9f6413ad-a2fb4a1d1a96d312')).toEqual({ traceId: '463ac35c9f6413ad', spanId: 'a2fb4a1d1a96d312' });
    expect(parseB3('463ac35c9f6413ad-a2fb4a1d1a96d312-0')?.sampled).toBe(false);
    expect(parseB3('463ac35c9f6413ad-a2fb4a1d1a96d312-d')?.sampled).toBe(true);
    for (const bad of ['0', '1', 'd', '463ac35c9f6413ad', '463ac35c9f6413ad-a2fb4a1d', '463AC35C9F6413AD-a2fb4a1d1a96d312',
      '0000000000000000-a2fb4a1d1a96d312', '463ac35c9f6413ad-a2fb4a1d1a96d312-x', '463ac35c9f6413ad-a2fb4a1d1a96d312-1-zz']) {
      expect(parseB3(bad)).toBeUndefined();
    }
  });

  it('reads X-B3-TraceId and X-B3-SpanId with X-B3-Sampled or the debug flag', () => {
    const of = (h: Record<string, string>) => parseB3Headers((n) => h[n]);
    expect(of({ 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-sampled': '1' }))
      .toEqual({ traceId: '463ac35c9f6413ad', spanId: 'a2fb4a1d1a96d312', sampled: true });
    expect(of({ 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-flags': '1', 'x-b3-sampled': '0' })?.sampled).toBe(true);
    expect(of({ 'x-b3-traceid': '463ac35c9f6413ad' })).toBeUndefined();
    expect(of({ 'x-b3-traceid': 'nothex', 'x-b3-spanid': 'a2fb4a1d1a96d312' })).toBeUndefined();
  });
});

describe('trace headers of a request head', () => {
  it('finds traceparent, sw8 and b3 whatever the header names\' case, the first of a repeated one', () => {
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    const sw8 = `1-${b64('t.1.2')}-${b64('s.3.4')}-2-${b64('shop')}-${b64('i')}-${b64('/e')}-${b64('a:1')}`;
    const ctx = parseHeadTraceContext(head('GET /a HTTP/1.1', 'Host: x', `TraceParent: ${TP}`, 'traceparent: 00-11111111111111111111111111111111-2222222222222222-01',
      `SW8: ${sw8}`, 'B3: 463ac35c9f6413ad-a2fb4a1d1a96d312-1', '', ''));
    expect(ctx).toEqual({
      traceparent: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', sampled: true },
      sw8: expect.objectContaining({ traceId: 't.1.2', segmentId: 's.3.4', spanId: 2 }),
      zipkin: { traceId: '463ac35c9f6413ad', spanId: 'a2fb4a1d1a96d312', sampled: true },
      truncated: false,
    });
  });

  it('does not read a line the capture cut, and tells a head cut before its end that gave no context', () => {
    // the traceparent value is cut: a wrong id is worse than none
    const cut = head('GET /a HTTP/1.1', 'Host: x', `traceparent: ${TP}`).subarray(0, 60);
    expect(parseHeadTraceContext(cut)).toEqual({ truncated: true });
    // complete lines before the cut are read
    expect(parseHeadTraceContext(head('GET /a HTTP/1.1', `traceparent: ${TP}`, 'X-Pad: aaaa')).traceparent?.spanId).toBe('b7ad6b7169203331');
    expect(parseHeadTraceContext(head('GET /a HTTP/1.1', `traceparent: ${TP}`, 'X-Pad: aaaa')).truncated).toBe(false);
    // a whole head without trace headers is no context and not cut
    expect(parseHeadTraceContext(head('GET /a HTTP/1.1', 'Host: x', '', ''))).toEqual({ truncated: false });
    expect(parseHeadTraceContext(Buffer.from([0xff, 0x00, 0x0a, 0x3a]))).toEqual({ truncated: true });
  });
});

describe('h1 head records and keeping', () => {
  it('decodes struct h1_head_event (only head_len bytes travel) and encodes struct h1_keep_config', () => {
    const rec = Buffer.alloc(16 + 5);
    rec.writeBigUInt64LE(123456789n, 0);
    rec.writeUInt32LE(4242, 8);
    rec.writeUInt16LE(5, 12);
    rec.write('GET /', 16, 'latin1');
    expect(decodeH1Head(rec)).toEqual({ startNs: 123456789n, tgid: 4242, head: Buffer.from('GET /') });
    // a length past the record is not trusted
    rec.writeUInt16LE(900, 12);
    expect(decodeH1Head(rec)?.head.length).toBe(5);
    expect(decodeH1Head(Buffer.alloc(8))).toBeUndefined();
    const cfg = encodeH1KeepConfig({ minDurationNs: 100_000_000, minStatus: 500, headLen: 4096 });
    expect(cfg.length).toBe(16);
    expect(cfg.readBigUInt64LE(0)).toBe(100_000_000n);
    expect(cfg.readUInt32LE(8)).toBe(H1_HEAD_MAX);
    expect(cfg.readUInt16LE(12)).toBe(500);
  });

  it('keeps for several consumers what any of them keeps, and nothing when none does', () => {
    expect(unionKeeping([undefined, undefined])).toBeUndefined();
    expect(unionKeeping([{ minDurationNs: 5, minStatus: 500, headBytes: 0 }])).toBeUndefined();
    expect(unionKeeping([{ minDurationNs: 100, minStatus: 500, headBytes: 512 }, undefined, { minDurationNs: 50, minStatus: 1000, headBytes: 1024 }]))
      .toEqual({ minDurationNs: 50, minStatus: 500, headBytes: 1024 });
  });

  it('reads what a NETWORK task samples from its rules', () => {
    const rule = (minDurationMs: number | undefined, when4xx: boolean, when5xx: boolean) => ({ uriRegex: undefined, minDurationMs, when4xx, when5xx });
    expect(samplingKeeps([])).toBeUndefined();
    expect(samplingKeeps([rule(undefined, false, false)])).toBeUndefined();
    expect(samplingKeeps([rule(100, false, true), rule(30, false, false)])).toEqual({ minDurationNs: 30_000_000, minStatus: 500 });
    expect(samplingKeeps([rule(undefined, true, false)])).toEqual({ minDurationNs: Number.MAX_SAFE_INTEGER, minStatus: 400 });
  });
});
