/**
 * The scenario's service: a Node.js HTTP server traced with
 * @opentelemetry/sdk-node (HTTP instrumentation, one child span per
 * request), spans sampled at a ratio and exported over OTLP gRPC.
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
import { trace } from '@opentelemetry/api';

const [port = '0', sampling = '1', otlpPort = '4317'] = process.argv.slice(2);
const ratio = Number(sampling);

const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${otlpPort}` });
const sdk = sampling === 'off' ? undefined : new NodeSDK({
  serviceName: 'scenario-service',
  sampler: new tracing.TraceIdRatioBasedSampler(ratio),
  // A queue deep enough for every span at full sampling: the default (2,048
  // every 5 s) would drop most of them and hide what exporting costs.
  spanProcessors: [new tracing.BatchSpanProcessor(exporter, { maxQueueSize: 100_000, maxExportBatchSize: 2_048, scheduledDelayMillis: 500 })],
  instrumentations: [new HttpInstrumentation()],
});
sdk?.start();

// Required, not imported, after start(): the HTTP instrumentation patches
// CommonJS `require('http')`, which an ESM import would bypass.
const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');
const tracer = trace.getTracer('scenario-service');

const catalogue = Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item-${i}`, price: 100 + i, tags: ['a', 'b', 'c'] }));

const server = http.createServer((req, res) => {
  // One application span under the instrumentation's server span, as a handler that loads data would have.
  tracer.startActiveSpan('load-items', (span) => {
    span.setAttribute('items.count', catalogue.length);
    const body = JSON.stringify({ path: req.url, items: catalogue });
    span.end();
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
