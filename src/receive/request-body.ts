/**
 * Reads an HTTP request body within a byte limit, before and after gzip:
 * a declared Content-Length over the limit is refused unread, a stream is
 * cut off the moment it passes it, and gunzip stops at the same limit, so a
 * small gzip bomb cannot inflate into memory.
 */
import type { IncomingMessage } from 'node:http';
import { gunzip, inflate } from 'node:zlib';
import { promisify } from 'node:util';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** Why a body could not be read; `status` is the HTTP answer. */
export class BodyError extends Error {
  constructor(readonly status: 413 | 415 | 400, readonly reason: 'too_large' | 'unsupported_media_type' | 'malformed', message: string) {
    super(message);
    this.name = 'BodyError';
  }
}

/** Reads the body, undoing Content-Encoding gzip or deflate; throws BodyError. */
export async function readRequestBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new BodyError(413, 'too_large', `request body of ${declared} bytes is over the receiver's limit of ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  await new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer): void => {
      total += c.length;
      if (total > maxBytes) {
        req.off('data', onData);
        // Stop buffering; the response (Connection: close) ends the exchange.
        req.pause();
        reject(new BodyError(413, 'too_large', `request body is over the receiver's limit of ${maxBytes} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', resolve);
    req.once('error', (err) => reject(new BodyError(400, 'malformed', `reading request body: ${err.message}`)));
  });
  const raw = Buffer.concat(chunks);
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  if (encoding === 'identity' || encoding === '') return raw;
  if (encoding !== 'gzip' && encoding !== 'deflate') {
    throw new BodyError(415, 'unsupported_media_type', `Content-Encoding ${encoding} is not supported: send gzip, deflate or none`);
  }
  return decompress(raw, encoding, maxBytes);
}

/** Inflates gzip/deflate bytes, refusing output over maxBytes. */
export async function decompress(raw: Uint8Array, encoding: 'gzip' | 'deflate', maxBytes: number): Promise<Buffer> {
  try {
    return await (encoding === 'gzip' ? gunzipAsync : inflateAsync)(raw, { maxOutputLength: maxBytes });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new BodyError(413, 'too_large', `request body inflates past the receiver's limit of ${maxBytes} bytes`);
    }
    throw new BodyError(400, 'malformed', `decompressing ${encoding} body: ${e.message}`);
  }
}

/** True for bytes that start with the gzip magic number. */
export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}
