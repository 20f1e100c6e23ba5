/**
 * OTLP/HTTP transport: POST the binary ExportProfilesServiceRequest to the
 * profiles endpoint (…/v1development/profiles) as application/x-protobuf.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { fromBinary } from '@bufbuild/protobuf';
import { StatusSchema } from '../gen/google/rpc/status_pb.js';
import type { HttpTlsOptions } from './http-post.js';
import { createHttpAgent, headerValue, httpPost } from './http-post.js';
import type { ExportTransport, SendResult } from './transport.js';
import { httpResult } from './transport.js';

const gzipAsync = promisify(gzip);

/** Settings for createOtlpHttpTransport. */
export interface OtlpHttpTransportOptions {
  /** Full profiles URL, e.g. http://collector:4318/v1development/profiles. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly compression?: 'gzip' | 'none' | undefined;
  readonly tls?: HttpTlsOptions | undefined;
}

/** Creates an OTLP/HTTP (http/protobuf) transport. */
export function createOtlpHttpTransport(options: OtlpHttpTransportOptions): ExportTransport {
  const url = new URL(options.url);
  const agent = createHttpAgent(url, options.tls);
  const gzipped = options.compression === 'gzip';
  const headers: Record<string, string> = {
    ...options.headers,
    'Content-Type': 'application/x-protobuf',
    ...(gzipped ? { 'Content-Encoding': 'gzip' } : {}),
  };
  let closed = false;

  return {
    async send(bytes: Uint8Array, timeoutMs: number): Promise<SendResult> {
      if (closed) return { ok: false, retryable: false, reason: 'sending otlp/http: transport is shut down' };
      const body = gzipped ? await gzipAsync(bytes) : bytes;
      const out = await httpPost(url, body, headers, timeoutMs, agent);
      if (out.kind === 'error') {
        // Refused connections and timeouts are how a restarting collector looks: retry them.
        return { ok: false, retryable: true, reason: `sending otlp/http to ${url.href}: ${out.message}` };
      }
      const type = headerValue(out.headers, 'content-type') ?? '';
      return httpResult(out.status, headerValue(out.headers, 'retry-after'), statusMessage(out.body, type), `sending otlp/http to ${url.href}`);
    },
    async shutdown(): Promise<void> {
      closed = true;
      agent.destroy();
    },
  };
}

/** OTLP servers answer failures with a google.rpc.Status; show its message. */
function statusMessage(body: Buffer, contentType: string): string {
  if (!contentType.includes('protobuf')) return body.toString('utf8');
  try {
    return fromBinary(StatusSchema, body).message;
  } catch {
    return '';
  }
}
