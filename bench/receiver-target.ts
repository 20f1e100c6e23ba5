/**
 * The process under load in the receiver benchmark (bench/receiver-load.ts):
 * `baseline` is a bare grpc-js ProfilesService that decodes each request,
 * `receiver <port>` is meshprof's receiver (validation, enrichment from
 * /proc, forwarding through the real OTLP exporter) in front of such a bare
 * service in another process at port, so the figures are the receiver's
 * alone. Prints `ready <port>` and then one JSON line of memory and CPU
 * figures every 500 ms until stdin closes.
 */
import { fromBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { startReceiverService } from '../src/agent/receiver-service.js';
import { readExportersEnv } from '../src/config/exporters-env.js';
import { readReceiverEnv } from '../src/config/receiver-env.js';
import { exporterSink } from '../src/export/exporter-sinks.js';
import { createExportMetrics } from '../src/export/export-metrics.js';
import { createExporters } from '../src/export/exporters-from-env.js';
import { ExportProfilesServiceRequestSchema } from '../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { createLogger, silentLogger } from '../src/log/logger.js';
import { OTLP_PROFILES_EXPORT_PATH } from '../src/receive/index.js';

/** A bare ProfilesService: decodes, counts samples, answers OK. */
async function startBareService(): Promise<{ port: number; samples: () => number }> {
  const server = new grpc.Server();
  const pass = (b: Buffer): Buffer => b;
  let samples = 0;
  server.addService({
    Export: { path: OTLP_PROFILES_EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass },
  }, {
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const r = fromBinary(ExportProfilesServiceRequestSchema, call.request);
      for (const rp of r.resourceProfiles) for (const sp of rp.scopeProfiles) for (const p of sp.profiles) samples += p.samples.length;
      callback(null, Buffer.alloc(0));
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { port, samples: () => samples };
}

async function main(mode: string, sinkPort: number): Promise<void> {
  let port = 0;
  let samples = (): number => 0;
  let dropped = (): number => 0;
  let rejected = (): Record<string, number> => ({});
  // The receiver's last forwards go out before it stops, so the backend's count is complete.
  let drain = async (): Promise<void> => {};
  if (mode === 'baseline') {
    const bare = await startBareService();
    port = bare.port;
    samples = bare.samples;
  } else if (mode === 'receiver' && sinkPort > 0) {
    const registry = new Registry();
    const metrics = createExportMetrics(registry);
    const exporters = createExporters(readExportersEnv({
      OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT: `http://127.0.0.1:${sinkPort}`, OTEL_EXPORTER_OTLP_PROFILES_PROTOCOL: 'grpc',
    }), { logger: silentLogger, metrics });
    dropped = () => Object.values(metrics.drops()).reduce((n, byReason) => n + Object.values(byReason).reduce((a, b) => a + b, 0), 0);
    const receiver = await startReceiverService(readReceiverEnv({ MESHPROF_RECEIVER_GRPC_ENDPOINT: '127.0.0.1:0', MESHPROF_RECEIVER_AUTH_TOKEN: 'bench' })!, {
      procRoot: '/proc',
      naming: { describeProcess: (base) => ({ ...base, attributes: { ...base.attributes, 'k8s.pod.name': 'bench-pod' } }), describeContainer: () => undefined },
      sinks: exporters.map(exporterSink),
      registry,
      // Errors only: a failing receiver must say why in the bench's output.
      log: createLogger((level, text) => { if (level === 'error') process.stderr.write(`receiver-target: ${text}\n`); }),
    });
    port = Number(receiver.grpcAddress!.split(':').pop());
    rejected = () => receiver.metrics.totals().rejected;
    drain = async () => {
      await receiver.close();
      await Promise.all(exporters.map((e) => e.shutdown(10_000)));
    };
  } else {
    throw new Error(`receiver-target: mode ${mode} ${sinkPort} is not baseline or receiver <port>`);
  }
  console.log(`ready ${port}`);
  const cpu0 = process.cpuUsage();
  const report = (): void => {
    const m = process.memoryUsage();
    const c = process.cpuUsage(cpu0);
    console.log(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, cpuMs: (c.user + c.system) / 1000, samples: samples(), dropped: dropped(), rejected: rejected() }));
  };
  const timer = setInterval(report, 500);
  process.stdin.resume();
  process.stdin.on('end', () => {
    clearInterval(timer);
    void drain().finally(() => {
      report();
      process.exit(0);
    });
  });
}

void main(process.argv[2] ?? '', Number(process.argv[3] ?? 0)).catch((err: unknown) => { console.error(err); process.exit(1); });
