/** sw8 and traceparent headers: decoded when well formed, ignored otherwise. */
import { describe, expect, it } from 'vitest';
import { parseSw8, parseTraceparent } from '../../src/samplers/trace-headers.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('trace context headers', () => {
  it('decodes sw8 (SkyWalking v3 propagation): base64 fields, the caller\'s segment and span', () => {
    const sw8 = `1-${b64('a1b2.33.1700000000000')}-${b64('seg.44.1700000000001')}-3-${b64('shop')}-${b64('shop-1@10.0.0.1')}-${b64('/api/cart')}-${b64('10.0.0.2:8080')}`;
    expect(parseSw8(sw8)).toEqual({
      sampled: true, traceId: 'a1b2.33.1700000000000', segmentId: 'seg.44.1700000000001', spanId: 3,
      service: 'shop', instance: 'shop-1@10.0.0.1', endpoint: '/api/cart', address: '10.0.0.2:8080',
    });
    expect(parseSw8(sw8.replace(/^1/, '0'))?.sampled).toBe(false);
    for (const bad of ['', '1-x', sw8.replace(/-3-/, '-x-'), sw8.replace(/^1/, '2'), `${sw8}-extra`, sw8.replace(b64('shop'), 'not base64!')]) {
      expect(parseSw8(bad)).toBeUndefined();
    }
  });

  it('decodes traceparent (W3C), rejecting zero ids and version ff', () => {
    expect(parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'))
      .toEqual({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', sampled: true });
    expect(parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00')?.sampled).toBe(false);
    for (const bad of ['00-00000000000000000000000000000000-b7ad6b7169203331-01', '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
      'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01', 'garbage']) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
  });
});
