/**
 * Pyroscope transport: PushRequest bytes to push.v1.PusherService/Push over
 * the Connect protocol (unary, binary protobuf), falling back to the legacy
 * /ingest endpoint for servers without the push API.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { PushRequestSchema } from '../gen/pyroscope/push/v1/push_pb.js';
import type { HttpTlsOptions } from './http-post.js';
import { createHttpAgent, headerValue, httpPost } from './http-post.js';
import { ingestRequest } from './pyroscope-ingest.js';
import type { ExportTransport, SendResult } from './transport.js';
import { httpResult } from './transport.js';

/** Connect path of the push RPC. */
export const PYROSCOPE_PUSH_PATH = '/push.v1.PusherService/Push';

/** Settings for createPyroscopeTransport. */
export interface PyroscopeTransportOptions {
  /** Base URL, e.g. http://pyroscope:4040. */
  readonly url: string;
  readonly basicAuth?: { readonly user: string; readonly password: string } | undefined;
  readonly bearerToken?: string | undefined;
  /** Sent as X-Scope-OrgID. */
  readonly tenantId?: string | undefined;
  /** auto: push, and ingest from then on once push answers 404/405/501. */
  readonly api?: 'push' | 'ingest' | 'auto' | undefined;
  readonly tls?: HttpTlsOptions | undefined;
}

/** Creates a Pyroscope transport; send() takes serialized push.v1.PushRequest bytes. */
export function createPyroscopeTransport(options: PyroscopeTransportOptions): ExportTransport {
  const base = new URL(options.url.replace(/\/+$/, '') + '/');
  const agent = createHttpAgent(base, options.tls);
  const auth: Record<string, string> = {};
  if (options.basicAuth) {
    const { user, password } = options.basicAuth;
    auth['Authorization'] = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  } else if (options.bearerToken) auth['Authorization'] = `Bearer ${options.bearerToken}`;
  if (options.tenantId) auth['X-Scope-OrgID'] = options.tenantId;
  let useIngest = options.api === 'ingest';

  const push = async (bytes: Uint8Array, timeoutMs: number): Promise<SendResult | 'missing'> => {
    const url = new URL(PYROSCOPE_PUSH_PATH.slice(1), base);
    const headers = { ...auth, 'Content-Type': 'application/proto', 'Connect-Protocol-Version': '1' };
    const out = await httpPost(url, bytes, headers, timeoutMs, agent);
    if (out.kind === 'error') return { ok: false, retryable: true, reason: `pushing to pyroscope ${url.href}: ${out.message}` };
    if (options.api !== 'push' && [404, 405, 501].includes(out.status)) return 'missing';
    return httpResult(out.status, headerValue(out.headers, 'retry-after'), out.body.toString('utf8'), `pushing to pyroscope ${url.href}`);
  };

  const ingest = async (bytes: Uint8Array, timeoutMs: number): Promise<SendResult> => {
    // Series go one by one; a failure stops the rest so a retry resends the whole request.
    for (const series of fromBinary(PushRequestSchema, bytes).series) {
      for (const sample of series.samples) {
        const req = ingestRequest(base, series.labels, sample.rawProfile);
        const out = await httpPost(req.url, req.body, { ...auth, 'Content-Type': req.contentType }, timeoutMs, agent);
        const doing = `ingesting into pyroscope ${req.url.origin}/ingest`;
        if (out.kind === 'error') return { ok: false, retryable: true, reason: `${doing}: ${out.message}` };
        const result = httpResult(out.status, headerValue(out.headers, 'retry-after'), out.body.toString('utf8'), doing);
        if (!result.ok) return result;
      }
    }
    return { ok: true };
  };

  return {
    async send(bytes, timeoutMs) {
      if (!useIngest) {
        const result = await push(bytes, timeoutMs);
        if (result !== 'missing') return result;
        useIngest = true;
      }
      return ingest(bytes, timeoutMs);
    },
    async shutdown() {
      agent.destroy();
    },
  };
}
