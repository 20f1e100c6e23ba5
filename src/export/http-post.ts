/**
 * One HTTP(S) POST with Node's own client, shared by the OTLP/HTTP and
 * Pyroscope transports. Resolves with the response or a network error.
 */
import http from 'node:http';
import https from 'node:https';
import { formatDurationMs } from '../config/duration.js';

/** TLS material for https endpoints (PEM contents, not paths). */
export interface HttpTlsOptions {
  readonly ca?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
}

/** What came back, or why nothing did. */
export type HttpPostOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly headers: http.IncomingHttpHeaders; readonly body: Buffer }
  | { readonly kind: 'error'; readonly message: string };

/** Posts body to url; keep-alive agents are passed in so connections are reused per transport. */
export function httpPost(
  url: URL,
  body: Uint8Array,
  headers: Readonly<Record<string, string>>,
  timeoutMs: number,
  agent: http.Agent | https.Agent,
): Promise<HttpPostOutcome> {
  return new Promise((resolve) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { ...headers, 'Content-Length': String(body.length) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ kind: 'response', status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', (err) => resolve({ kind: 'error', message: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${formatDurationMs(timeoutMs)}`)));
    req.on('error', (err) => resolve({ kind: 'error', message: err.message }));
    req.end(body);
  });
}

/** A keep-alive agent for url's scheme, carrying the TLS material for https. */
export function createHttpAgent(url: URL, tls: HttpTlsOptions = {}): http.Agent | https.Agent {
  return url.protocol === 'https:'
    ? new https.Agent({ keepAlive: true, ca: tls.ca, key: tls.key, cert: tls.cert })
    : new http.Agent({ keepAlive: true });
}

/** First value of a response header. */
export function headerValue(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
