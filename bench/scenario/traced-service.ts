/**
 * The scenario's service: a Node.js HTTP server traced with
 * @opentelemetry/sdk-node as a user would set it up (the HTTP
 * instrumentation, ParentBased(TraceIdRatioBased) sampling, a
 * BatchSpanProcessor exporting over OTLP gRPC). Each request does its work
 * in child spans, as a handler with a session cache and a database does: a
 * handler span, a cache read, two queries, a cache write and rendering, with
 * the semantic-convention attributes their client instrumentations set.
 * Sampled, that is seven recorded and exported spans per request; not
 * sampled, seven non-recording ones.
 *
 *   node --perf-basic-prof traced-service.js PORT SAMPLING OTLP_PORT
 *
 * SAMPLING is a ratio (1, 0.01, 0), or `off`: no SDK started at all (the
 * same packages loaded, nothing patched), the baseline tracing is measured
 * against.
 * Run with --perf-basic-prof so meshprof names the JavaScript frames (the
 * OpenTelemetry ones among them). Prints "listening" once it answers.
 */
import { createRequire } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { context, SpanKind, trace, type Attributes } from '@opentelemetry/api';

const [port = '0', sampling = '1', otlpPort = '4317'] = process.argv.slice(2);
const ratio = Number(sampling);

const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${otlpPort}` });
const sdk = sampling === 'off' ? undefined : new NodeSDK({
  serviceName: 'scenario-service',
  // What OTEL_TRACES_SAMPLER=parentbased_traceidratio sets up: a request
  // whose caller sampled it is sampled, a new trace at the ratio.
  sampler: new tracing.ParentBasedSampler({ root: new tracing.TraceIdRatioBasedSampler(ratio) }),
  // A queue deep enough for every span at full sampling: the default (2,048
  // every 5 s) would drop most of them and hide what exporting costs.
  spanProcessors: [new tracing.BatchSpanProcessor(exporter, { maxQueueSize: 200_000, maxExportBatchSize: 4_096, scheduledDelayMillis: 500 })],
  instrumentations: [new HttpInstrumentation()],
});
sdk?.start();

// Required, not imported, after start(): the HTTP instrumentation patches
// CommonJS `require('http')`, which an ESM import would bypass.
const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');
const tracer = trace.getTracer('scenario-service');

interface Item { id: number; name: string; price: number; tags: string[] }
// The "cache" and "database" are in-process, but their replies arrive as
// bytes the client decodes, as a pg or Redis client decodes the wire: that
// decoding is most of a real client's CPU, and it is the app's, the same
// with or without tracing. What changes with sampling is tracing's work.
const ROWS = 50;
/** A query's reply, as pg's text protocol would carry it: one row per line, tab-separated columns. */
const itemRows = Buffer.from(Array.from({ length: ROWS }, (_, i) => `${i}\titem-${i}\t${100 + i}\t{a,b,c}`).join('\n'));
const discountRows = Buffer.from(Array.from({ length: ROWS }, (_, i) => `${i}\t${i % 3 === 0 ? '0.9' : '1'}`).join('\n'));
const cache = new Map<string, Buffer>();

function decodeItems(reply: Buffer): Item[] {
  return reply.toString('utf8').split('\n').map((line) => {
    const [id = '0', name = '', price = '0', tags = '{}'] = line.split('\t');
    return { id: Number.parseInt(id, 10), name, price: Number.parseFloat(price), tags: tags.slice(1, -1).split(',') };
  });
}
function decodeDiscounts(reply: Buffer): Map<number, number> {
  return new Map(reply.toString('utf8').split('\n').map((line) => {
    const [id = '0', factor = '1'] = line.split('\t');
    return [Number.parseInt(id, 10), Number.parseFloat(factor)] as const;
  }));
}

/** A client call in a leaf span with the attributes its instrumentation would set. */
function client<T>(name: string, attributes: Attributes, work: () => T): T {
  const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, context.active());
  try {
    return work();
  } finally {
    span.end();
  }
}

const redis = (op: string, key: string): Attributes => ({
  'db.system': 'redis', 'db.operation': op, 'db.statement': `${op} ${key}`,
  'net.peer.name': 'redis.cache.svc.cluster.local', 'net.peer.port': 6379, 'db.redis.database_index': 0,
});
const postgres = (op: string, table: string, statement: string): Attributes => ({
  'db.system': 'postgresql', 'db.name': 'shop', 'db.user': 'shop', 'db.operation': op, 'db.sql.table': table, 'db.statement': statement,
  'net.peer.name': 'postgres.db.svc.cluster.local', 'net.peer.port': 5432,
});

const server = http.createServer((req, res) => {
  tracer.startActiveSpan('GET /items handler', { attributes: { 'code.function': 'listItems', 'code.namespace': 'scenario-service' } }, (handler) => {
    const session = String(req.headers['x-request-id'] ?? 'anonymous').slice(0, 8);
    const key = `session:${session}`;
    const user = client('redis GET', redis('GET', key), () => cache.get(key)?.toString('utf8') ?? 'guest');
    const items = client('pg.query:SELECT shop', postgres('SELECT', 'items', 'SELECT id, name, price, tags FROM items WHERE visible = $1 ORDER BY id LIMIT 50'),
      () => decodeItems(itemRows));
    const discounts = client('pg.query:SELECT shop', postgres('SELECT', 'discounts', 'SELECT item_id, factor FROM discounts WHERE item_id = ANY($1)'),
      () => decodeDiscounts(discountRows));
    const body = tracer.startActiveSpan('render items', { attributes: { 'app.format': 'json' } }, (render) => {
      const priced = items.map((it) => ({ ...it, price: Math.round(it.price * (discounts.get(it.id) ?? 1)) }));
      const out = JSON.stringify({ path: req.url, user, items: priced });
      // Set after the work, as instrumentations set results: a non-recording span drops these at once.
      render.setAttributes({ 'app.items': priced.length, 'app.bytes': out.length });
      render.addEvent('rendered');
      render.end();
      return out;
    });
    client('redis SET', redis('SET', `${key}:last`), () => cache.set(`${key}:last`, Buffer.from(user)));
    handler.setAttribute('app.items.returned', items.length);
    handler.end();
    res.setHeader('content-type', 'application/json');
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));

const stop = (): void => {
  server.close();
  void (sdk?.shutdown() ?? Promise.resolve()).finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
