/**
 * Parses the first bytes of HTTP/1.x messages as the network sampler's
 * kernel side captured them (at most 96 bytes of a request line, 16 of a
 * status line). Whatever the bytes, the answer is a value, never a throw:
 * they come from arbitrary programs' sockets.
 */

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

/** The request line at the start of `bytes`, or undefined when it is not one. */
export function parseRequestHead(bytes: Uint8Array): RequestHead | undefined {
  const sp = bytes.indexOf(0x20);
  if (sp <= 0 || sp > 7) return undefined;
  const method = Buffer.from(bytes.subarray(0, sp)).toString('latin1');
  if (!METHODS.has(method)) return undefined;
  let end = sp + 1;
  while (end < bytes.length && isTargetByte(bytes[end]!)) end++;
  const target = Buffer.from(bytes.subarray(sp + 1, end)).toString('latin1');
  const q = target.search(/[?#]/);
  const path = q < 0 ? target : target.slice(0, q);
  const truncated = end === bytes.length && q < 0;
  let version = '';
  if (end < bytes.length && bytes[end] === 0x20) {
    const v = Buffer.from(bytes.subarray(end + 1, end + 9)).toString('latin1');
    if (v === 'HTTP/1.0' || v === 'HTTP/1.1') version = v.slice(5);
  }
  return { method, path, pathTruncated: truncated, version };
}

/** A status line: its version and code. */
export interface StatusHead {
  readonly version: string;
  readonly statusCode: number;
}

/** The status line at the start of `bytes` ("HTTP/1.x NNN"), or undefined. */
export function parseStatusHead(bytes: Uint8Array): StatusHead | undefined {
  const m = /^HTTP\/(1\.[01]) ([1-5]\d\d)(?:[ \r]|$)/.exec(Buffer.from(bytes.subarray(0, 16)).toString('latin1'));
  if (!m) return undefined;
  return { version: m[1]!, statusCode: Number(m[2]) };
}
