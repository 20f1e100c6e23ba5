/**
 * A stand-in for the Kubernetes API server: list and watch (chunked JSON
 * lines of {type, object}) for pods, services and replicasets, with
 * resourceVersions, namespaces and the spec.nodeName field selector.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export type Resource = 'pods' | 'services' | 'replicasets';

interface Obj {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec?: { nodeName?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface WatchEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

const KIND: Record<Resource, [string, string]> = {
  pods: ['PodList', 'v1'],
  services: ['ServiceList', 'v1'],
  replicasets: ['ReplicaSetList', 'apps/v1'],
};

export interface FakeKubeApi {
  readonly url: string;
  /** Request paths with query strings, in arrival order. */
  readonly requests: string[];
  /** Answers the next `n` requests with 503, as an API server does while starting. */
  failNext(n: number): void;
  /** Answers every request for resource with 403, as for a ClusterRole without it (Rover's has no replicasets). */
  forbid(resource: Resource): void;
  /** Holds every request until the returned function is called (a slow API server). */
  hold(): () => void;
  apply(resource: Resource, obj: Obj): void;
  remove(resource: Resource, namespace: string, name: string): void;
  kubeConfig(): KubeConfig;
  close(): Promise<void>;
}

export async function startFakeKubeApi(): Promise<FakeKubeApi> {
  let rv = 100;
  const store: Record<Resource, Map<string, Obj>> = { pods: new Map(), services: new Map(), replicasets: new Map() };
  const log: Record<Resource, WatchEvent[]> = { pods: [], services: [], replicasets: [] };
  const watchers = new Set<{ resource: Resource; ns: string | undefined; node: string | undefined; res: ServerResponse }>();
  const requests: string[] = [];
  let failing = 0;
  const forbidden = new Set<Resource>();
  let held: (() => void)[] | undefined;

  const visible = (o: Obj, ns: string | undefined, node: string | undefined): boolean =>
    (ns === undefined || o.metadata?.namespace === ns) && (node === undefined || o.spec?.nodeName === node);

  const publish = (resource: Resource, ev: WatchEvent): void => {
    log[resource].push(ev);
    for (const w of watchers) {
      if (w.resource === resource && visible(ev.object, w.ns, w.node)) {
        w.res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
      }
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (held !== undefined) {
      held.push(() => handle(req, res));
      return;
    }
    requests.push(req.url ?? '');
    const denied = [...forbidden].find((r) => (req.url ?? '').split('?')[0]!.endsWith(`/${r}`));
    if (denied !== undefined) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403,
        message: `${denied} is forbidden: User "system:serviceaccount:skywalking:skywalking-rover" cannot list resource "${denied}"`,
      }));
      return;
    }
    if (failing > 0) {
      failing--;
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'ServiceUnavailable', code: 503 }));
      return;
    }
    const u = new URL(req.url ?? '/', 'http://x');
    const m = /^\/(?:api\/v1|apis\/apps\/v1)(?:\/namespaces\/([^/]+))?\/(pods|services|replicasets)$/.exec(u.pathname);
    if (m === null) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
      return;
    }
    const ns = m[1];
    const resource = m[2] as Resource;
    const fs = u.searchParams.get('fieldSelector') ?? '';
    const node = /(?:^|,)spec\.nodeName=([^,]*)/.exec(fs)?.[1];
    if (u.searchParams.get('watch') === 'true') {
      const since = Number(u.searchParams.get('resourceVersion') ?? '0');
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      // Clients wait for the headers before reading events, as from a real API server.
      res.flushHeaders();
      for (const ev of log[resource]) {
        if (ev.rv > since && visible(ev.object, ns, node)) res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
      }
      const w = { resource, ns, node, res };
      watchers.add(w);
      req.on('close', () => watchers.delete(w));
      return;
    }
    const [kind, apiVersion] = KIND[resource];
    const items = [...store[resource].values()].filter((o) => visible(o, ns, node));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind, apiVersion, metadata: { resourceVersion: String(rv) }, items }));
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    failNext(n) {
      failing = n;
    },
    forbid(resource) {
      forbidden.add(resource);
    },
    hold() {
      const queue: (() => void)[] = [];
      held = queue;
      return () => {
        held = undefined;
        for (const answer of queue) answer();
      };
    },
    apply(resource, obj) {
      rv++;
      const o = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
      const key = `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
      const type = store[resource].has(key) ? 'MODIFIED' : 'ADDED';
      store[resource].set(key, o);
      publish(resource, { rv, type, object: o });
    },
    remove(resource, namespace, name) {
      const key = `${namespace}/${name}`;
      const o = store[resource].get(key);
      if (o === undefined) return;
      rv++;
      store[resource].delete(key);
      publish(resource, { rv, type: 'DELETED', object: { ...o, metadata: { ...o.metadata, resourceVersion: String(rv) } } });
    },
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
        users: [{ name: 'nobody' }],
        contexts: [{ name: 'fake', cluster: 'fake', user: 'nobody' }],
        currentContext: 'fake',
      });
      return kc;
    },
    async close() {
      for (const w of watchers) w.res.end();
      watchers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
