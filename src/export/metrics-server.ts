/**
 * Serves the agent's Prometheus metrics at GET /metrics on MESHPROF_METRICS_ADDR.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** A listening metrics server. */
export interface MetricsServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on addr (`host:port`; an empty host means every interface). */
export async function startMetricsServer(addr: string, registry: Registry): Promise<MetricsServer> {
  const sep = addr.lastIndexOf(':');
  const host = addr.slice(0, sep);
  const port = Number(addr.slice(sep + 1));
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found: try /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(`collecting metrics: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`serving metrics on ${addr}: ${err.message}`, { cause: err })));
    server.listen(port, host === '' ? undefined : host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
