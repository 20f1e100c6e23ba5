/**
 * Trace context carried by a request's headers: SkyWalking's sw8 (Cross
 * Process Propagation Headers Protocol v3), W3C traceparent and Zipkin's B3
 * (single `b3` or X-B3-*). Values come from arbitrary programs: anything
 * malformed is no context, never a throw.
 */
import type { TraceParent, Sw8Context, ZipkinContext } from '../stacks/network-records.js';

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

const HEX_ID = /^(?:[0-9a-f]{16}|[0-9a-f]{32})$/;
const HEX_SPAN = /^[0-9a-f]{16}$/;

/** B3 ids: a 64- or 128-bit trace id and a 64-bit span id, lower-case hex, not all zeros. */
function zipkinIds(traceId: string, spanId: string, sampled: boolean | undefined): ZipkinContext | undefined {
  if (!HEX_ID.test(traceId) || !HEX_SPAN.test(spanId) || /^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, ...(sampled !== undefined ? { sampled } : {}) };
}

/** Single-header B3: `traceId-spanId[-sampling[-parentSpanId]]`; `0`, `1` or `d` alone carry no ids. */
export function parseB3(value: string): ZipkinContext | undefined {
  const f = value.trim().split('-');
  if (f.length < 2 || f.length > 4) return undefined;
  const state = f[2];
  if (state !== undefined && state !== '0' && state !== '1' && state !== 'd') return undefined;
  if (f[3] !== undefined && !HEX_SPAN.test(f[3])) return undefined;
  return zipkinIds(f[0]!, f[1]!, state === undefined ? undefined : state !== '0');
}

/** Multi-header B3: X-B3-TraceId and X-B3-SpanId, with X-B3-Sampled (1/0, true/false) or X-B3-Flags: 1 (debug). */
export function parseB3Headers(get: (name: string) => string | undefined): ZipkinContext | undefined {
  const traceId = get('x-b3-traceid')?.trim();
  const spanId = get('x-b3-spanid')?.trim();
  if (traceId === undefined || spanId === undefined) return undefined;
  const s = get('x-b3-sampled')?.trim();
  const sampled = get('x-b3-flags')?.trim() === '1' || s === '1' || s === 'true' ? true : s === '0' || s === 'false' ? false : undefined;
  return zipkinIds(traceId, spanId, sampled);
}

/** Trace context of a request's headers, as far as any was found. */
export interface RequestTraceContext {
  readonly sw8?: Sw8Context;
  readonly traceparent?: TraceParent;
  readonly zipkin?: ZipkinContext;
}

/** The trace context of headers looked up by lower-case name; empty when there is none. */
export function traceContextOf(get: (name: string) => string | undefined): RequestTraceContext {
  const sw8 = ((v) => v === undefined ? undefined : parseSw8(v))(get('sw8'));
  const traceparent = ((v) => v === undefined ? undefined : parseTraceparent(v))(get('traceparent'));
  const b3 = get('b3');
  const zipkin = (b3 !== undefined ? parseB3(b3) : undefined) ?? parseB3Headers(get);
  return { ...(sw8 ? { sw8 } : {}), ...(traceparent ? { traceparent } : {}), ...(zipkin ? { zipkin } : {}) };
}

/** What an HTTP/1.x request head's first bytes tell of its trace. */
export interface HeadTraceContext extends RequestTraceContext {
  /**
   * The captured bytes ended before the blank line that ends the headers,
   * and no context was found in the complete lines: a trace header may
   * have been among those cut.
   */
  readonly truncated: boolean;
}

/**
 * Reads the trace headers of an HTTP/1.x request head (request line, then
 * `Name: value` lines, up to a blank line) from its first captured bytes.
 * A line cut by the end of the capture is not read: a cut value would be a
 * wrong id.
 */
export function parseHeadTraceContext(head: Uint8Array): HeadTraceContext {
  const text = Buffer.from(head).toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const complete = end >= 0 ? text.slice(0, end) : text.slice(0, Math.max(0, text.lastIndexOf('\n')));
  const headers = new Map<string, string>();
  const lines = complete.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    // the first of a repeated header wins, as the trace specifications read them
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  const ctx = traceContextOf((n) => headers.get(n));
  const found = ctx.sw8 !== undefined || ctx.traceparent !== undefined || ctx.zipkin !== undefined;
  return { ...ctx, truncated: end < 0 && !found };
}
