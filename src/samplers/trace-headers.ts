/**
 * Trace context carried by a request's headers: SkyWalking's sw8 (Cross
 * Process Propagation Headers Protocol v3) and W3C traceparent. Values come
 * from arbitrary programs: anything malformed is no context, never a throw.
 */
import type { TraceParent, Sw8Context } from '../stacks/network-records.js';

/** Base64 text (standard alphabet, padding optional) decoded as UTF-8; undefined when it is not base64. */
function base64Text(s: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return undefined;
  return Buffer.from(s, 'base64').toString('utf8');
}

/**
 * sw8: `sample-traceId-segmentId-spanIndex-service-instance-endpoint-address`,
 * every string field base64; the ids are the caller's (the parent segment and span).
 */
export function parseSw8(value: string): Sw8Context | undefined {
  const f = value.trim().split('-');
  if (f.length !== 8 || (f[0] !== '0' && f[0] !== '1') || !/^\d+$/.test(f[3]!)) return undefined;
  const [traceId, segmentId, service, instance, endpoint, address] = [f[1]!, f[2]!, f[4]!, f[5]!, f[6]!, f[7]!].map(base64Text);
  if (!traceId || !segmentId || service === undefined || instance === undefined || endpoint === undefined || address === undefined) return undefined;
  const spanId = Number(f[3]);
  if (spanId > 0x7fffffff) return undefined;
  return { sampled: f[0] === '1', traceId, segmentId, spanId, service, instance, endpoint, address };
}

/** traceparent: `version-traceId(32 hex)-parentId(16 hex)-flags`, ids not all zeros (W3C Trace Context). */
export function parseTraceparent(value: string): TraceParent | undefined {
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/.exec(value.trim());
  if (!m || m[1] === 'ff' || (m[1] === '00' && value.trim().length !== 55)) return undefined;
  if (/^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  return { traceId: m[2]!, spanId: m[3]!, sampled: (parseInt(m[4]!, 16) & 1) === 1 };
}
