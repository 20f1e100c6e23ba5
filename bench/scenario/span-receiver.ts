/**
 * The scenario's trace collector: a gRPC server answering OTLP
 * TraceService/Export with an empty (valid) response, counting requests
 * and bytes. It runs in the runner, outside the CPU budget, as a collector
 * on another node would.
 */
import { Server, ServerCredentials, type ServiceDefinition, type handleUnaryCall } from '@grpc/grpc-js';

/** A running receiver; `received()` is what arrived since start. */
export interface SpanReceiver {
  readonly port: number;
  received(): { requests: number; bytes: number };
  stop(): Promise<void>;
}

const identity = (b: Buffer): Buffer => b;

const TRACE_SERVICE: ServiceDefinition = {
  Export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** Starts the receiver on a free loopback port. */
export async function startSpanReceiver(): Promise<SpanReceiver> {
  let requests = 0;
  let bytes = 0;
  const server = new Server();
  // An empty ExportTraceServiceResponse is zero bytes: every span accepted.
  const exportCall: handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    requests++;
    bytes += call.request.length;
    callback(null, Buffer.alloc(0));
  };
  server.addService(TRACE_SERVICE, { Export: exportCall });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port,
    received: () => ({ requests, bytes }),
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}
