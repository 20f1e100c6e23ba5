/**
 * Parses the first bytes of HTTP/1.x messages as the network sampler's
 * kernel side captured them (at most 96 bytes of a request line, 16 of a
 * status line). Whatever the bytes, the answer is a value, never a throw:
 * they come from arbitrary programs' sockets.
 */

import { sameBytes } from './network-layout.js';

/** A request line: method, target path (query cut off) and version. */
export interface RequestHead {
  readonly method: string;
  readonly path: string;
  /** The captured bytes ended before the path did. */
  readonly pathTruncated: boolean;
  /** '1.0', '1.1', or '' when the captured bytes ended first. */
  readonly version: string;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);

/** Printable ASCII without space: what a request target is made of. */
function isTargetByte(b: number): boolean {
  return b > 0x20 && b < 0x7f;
}

/** The request line at the start of bytes[start, end), or undefined when it is not one. */
export function parseRequestHead(bytes: Uint8Array, start = 0, end = bytes.length): RequestHead | undefined {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset + start, Math.max(0, end - start));
  const sp = view.indexOf(0x20);
  if (sp <= 0 || sp > 7) return undefined;
  const method = view.toString('latin1', 0, sp);
  if (!METHODS.has(method)) return undefined;
  let stop = sp + 1;
  while (stop < view.length && isTargetByte(view[stop]!)) stop++;
  const target = view.toString('latin1', sp + 1, stop);
  const q = target.search(/[?#]/);
  const path = q < 0 ? target : target.slice(0, q);
  const truncated = stop === view.length && q < 0;
  let version = '';
  if (stop < view.length && view[stop] === 0x20) {
    const v = view.toString('latin1', stop + 1, Math.min(view.length, stop + 9));
    if (v === 'HTTP/1.0' || v === 'HTTP/1.1') version = v.slice(5);
  }
  return { method, path, pathTruncated: truncated, version };
}

/**
 * parseRequestHead with its answers kept by request line: the same line
 * (method, path, version) seen again costs a hash and a compare, no
 * strings. Bounded: the table starts over when full.
 */
export interface RequestHeadInterner {
  parse(bytes: Buffer, start: number, end: number): RequestHead | undefined;
}

const INTERNED_LINES = 4096;

/** A new interning parser of request lines. */
export function createRequestHeadInterner(): RequestHeadInterner {
  const lines = new Map<number, { readonly raw: Buffer; readonly head: RequestHead | undefined }>();
  return {
    parse(bytes, start, end) {
      // the key is the line through its CR or LF, or every captured byte when it did not end: the answer depends on nothing else
      let stop = start;
      let h = 0x811c9dc5;
      while (stop < end) {
        const b = bytes[stop++]!;
        h = Math.imul(h ^ b, 0x01000193);
        if (b === 0x0d || b === 0x0a) break;
      }
      const key = (h >>> 0) * 128 + (stop - start);
      const known = lines.get(key);
      // the key holds the length: equal bytes over raw's length are the same line
      if (known !== undefined && known.raw.length === stop - start && sameBytes(bytes, start, known.raw)) return known.head;
      const head = parseRequestHead(bytes, start, end);
      if (lines.size >= INTERNED_LINES) lines.clear();
      lines.set(key, { raw: Buffer.from(bytes.subarray(start, stop)), head });
      return head;
    },
  };
}

/** A status line: its version and code. */
export interface StatusHead {
  readonly version: string;
  readonly statusCode: number;
}

// one answer per version and code: a status line allocates nothing
const statusHeads = new Map<number, StatusHead>();
const HTTP_1_DOT = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e]; // "HTTP/1."

function isDigit(b: number | undefined): b is number {
  return b !== undefined && b >= 0x30 && b <= 0x39;
}

/** The status line at the start of bytes[start, end) ("HTTP/1.x NNN"), or undefined. */
export function parseStatusHead(bytes: Uint8Array, start = 0, end = bytes.length): StatusHead | undefined {
  end = Math.min(end, start + 16);
  if (end - start < 12) return undefined;
  for (let i = 0; i < HTTP_1_DOT.length; i++) if (bytes[start + i] !== HTTP_1_DOT[i]) return undefined;
  const minor = bytes[start + 7];
  if ((minor !== 0x30 && minor !== 0x31) || bytes[start + 8] !== 0x20) return undefined;
  const c0 = bytes[start + 9], c1 = bytes[start + 10], c2 = bytes[start + 11];
  if (!isDigit(c0) || c0 < 0x31 || c0 > 0x35 || !isDigit(c1) || !isDigit(c2)) return undefined;
  // the code ends the captured bytes or is followed by a space or CR
  if (end > start + 12 && bytes[start + 12] !== 0x20 && bytes[start + 12] !== 0x0d) return undefined;
  const statusCode = (c0 - 0x30) * 100 + (c1 - 0x30) * 10 + (c2 - 0x30);
  const key = statusCode * 2 + (minor - 0x30);
  let head = statusHeads.get(key);
  if (head === undefined) statusHeads.set(key, (head = { version: minor === 0x31 ? '1.1' : '1.0', statusCode }));
  return head;
}
