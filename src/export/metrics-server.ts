/**
 * Serves the agent's Prometheus metrics at GET /metrics on MESHPROF_METRICS_ADDR,
 * next to the kubelet's probes: GET /healthz (the process answers) and
 * GET /readyz (samplers attached and exporters configured).
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

/** What /readyz reports: each condition by name, ready when all hold. */
export interface Readiness {
  /** Condition name → whether it holds, e.g. { samplers: true, exporters: false }. */
  conditions(): Readonly<Record<string, boolean>>;
}

/** Conditions set by the agent as it starts; all false until marked. */
export class ReadinessConditions implements Readiness {
  readonly #state: Record<string, boolean>;

  constructor(names: readonly string[]) {
    this.#state = Object.fromEntries(names.map((n) => [n, false]));
  }

  set(name: string, holds: boolean): void {
    this.#state[name] = holds;
  }

  conditions(): Readonly<Record<string, boolean>> {
    return { ...this.#state };
  }
}

const notReady = (c: Readonly<Record<string, boolean>>): string[] => Object.entries(c).filter(([, ok]) => !ok).map(([n]) => n);

/** Listens on addr (`host:port`; an empty host means every interface). */
export async function startMetricsServer(addr: string, registry: Registry, readiness?: Readiness): Promise<MetricsServer> {
  const sep = addr.lastIndexOf(':');
  const host = addr.slice(0, sep);
  const port = Number(addr.slice(sep + 1));
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { Allow: 'GET' }).end('use GET\n');
    } else if (path === '/healthz') {
      // Answering at all is the liveness signal: a wedged event loop does not.
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const conditions = readiness?.conditions() ?? {};
      const missing = notReady(conditions);
      res.writeHead(missing.length === 0 ? 200 : 503, { 'Content-Type': 'application/json' })
        .end(`${JSON.stringify({ ready: missing.length === 0, conditions })}\n`);
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(`collecting metrics: ${err instanceof Error ? err.message : String(err)}\n`),
      );
    } else {
      res.writeHead(404).end('not found: try /metrics, /healthz or /readyz\n');
    }
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
