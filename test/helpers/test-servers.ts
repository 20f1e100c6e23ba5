/**
 * Protocol test servers on 127.0.0.1: a grpc-js ProfilesService and a plain
 * HTTP server (OTLP/HTTP, Connect push, /ingest), each recording what it got
 * and answering from a script so tests can fail on purpose.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { create, toBinary } from '@bufbuild/protobuf';
import { anyPack, DurationSchema } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { RetryInfoSchema } from '../../src/gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../../src/gen/google/rpc/status_pb.js';
import { ExportProfilesServiceResponseSchema } from '../../src/gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { PROFILES_EXPORT_METHOD } from '../../src/export/otlp-grpc-transport.js';

export interface GrpcReply {
  code?: grpc.status;
  details?: string;
  retryDelayMs?: number;
}

export interface GrpcTestServer {
  address: string;
  requests: { bytes: Buffer; metadata: grpc.Metadata }[];
  close(): Promise<void>;
}

/** Starts a ProfilesService (or any unary service at path); `reply` decides each call's outcome (default OK). */
export async function startGrpcServer(
  reply: (n: number) => GrpcReply = () => ({}),
  path: string = PROFILES_EXPORT_METHOD,
): Promise<GrpcTestServer> {
  const server = new grpc.Server();
  const requests: GrpcTestServer['requests'] = [];
  const pass = (b: Buffer): Buffer => b;
  server.addService(
    {
      Export: {
        path,
        requestStream: false,
        responseStream: false,
        requestSerialize: pass,
        requestDeserialize: pass,
        responseSerialize: pass,
        responseDeserialize: pass,
      },
    },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        requests.push({ bytes: call.request, metadata: call.metadata });
        const r = reply(requests.length);
        if (r.code === undefined || r.code === grpc.status.OK) {
          callback(null, Buffer.from(toBinary(ExportProfilesServiceResponseSchema, create(ExportProfilesServiceResponseSchema))));
          return;
        }
        const metadata = new grpc.Metadata();
        if (r.retryDelayMs !== undefined) {
          const retryInfo = create(RetryInfoSchema, {
            retryDelay: create(DurationSchema, { seconds: BigInt(Math.floor(r.retryDelayMs / 1000)), nanos: (r.retryDelayMs % 1000) * 1e6 }),
          });
          const status = create(StatusSchema, { code: r.code, message: r.details ?? '', details: [anyPack(RetryInfoSchema, retryInfo)] });
          metadata.set('grpc-status-details-bin', Buffer.from(toBinary(StatusSchema, status)));
        }
        callback({ code: r.code, details: r.details ?? 'failing on purpose', metadata });
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

export interface HttpRequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** Body as received (still gzipped if Content-Encoding says so). */
  raw: Buffer;
  /** Body after undoing Content-Encoding: gzip. */
  body: Buffer;
}

export interface HttpReply {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export interface HttpTestServer {
  url: string;
  requests: HttpRequestRecord[];
  close(): Promise<void>;
}

/** Starts an HTTP server; `reply` decides each response (default 200, empty). */
export async function startHttpServer(reply: (req: HttpRequestRecord, n: number) => HttpReply = () => ({})): Promise<HttpTestServer> {
  const requests: HttpRequestRecord[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://x');
      const record: HttpRequestRecord = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        raw,
        body: req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw,
      };
      requests.push(record);
      const r = reply(record, requests.length);
      res.writeHead(r.status ?? 200, r.headers ?? {});
      res.end(r.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
