/**
 * OTLP/gRPC: the ProfilesService Export method on a grpc-js server. grpc-js
 * enforces the size limit on the message as received and as decompressed
 * (RESOURCE_EXHAUSTED, counted here as too_large); everything past that is
 * the intake's.
 */
import { readFileSync } from 'node:fs';
import { create, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import type { ReceiverConfig, ListenAddress } from '../config/receiver-env.js';
import { ExportProfilesServiceResponseSchema } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import type { TokenCheck } from './bearer-token.js';
import type { LoadShedder } from './load-shedder.js';
import { createRetryTrailers } from './retry-hint.js';
import { decodeExportProfilesRequest } from './otlp-decode.js';
import { InvalidRequestError } from './otlp-validation.js';
import type { ProfileIntake } from './profile-intake.js';
import type { ReceiverMetrics } from './receiver-metrics.js';
import { type Logger } from '../log/logger.js';

/** The gRPC method path of ProfilesService/Export. */
export const OTLP_PROFILES_EXPORT_PATH = '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export';

/** A listening server. */
export interface ReceiverServer {
  /** `host:port` actually bound (port 0 resolved). */
  readonly address: string;
  close(): Promise<void>;
}

/** What the gRPC receiver needs. */
export interface GrpcReceiverDeps {
  readonly intake: ProfileIntake;
  readonly metrics: ReceiverMetrics;
  readonly checkToken: TokenCheck;
  readonly shedder: LoadShedder;
  readonly log: Logger;
}

const protocol = 'otlp-grpc';
const pass = (b: Buffer): Buffer => b;
const EMPTY_RESPONSE = Buffer.alloc(0);

/** Starts the server on config.grpc. */
export async function startOtlpGrpcReceiver(config: ReceiverConfig & { readonly grpc: ListenAddress }, deps: GrpcReceiverDeps): Promise<ReceiverServer> {
  const { intake, metrics, checkToken, shedder, log } = deps;
  const retryTrailer = createRetryTrailers();
  // grpc-js ends a call over the size limit (as sent or as inflated) itself, before any
  // interceptor or handler sees a message or a status: such a call is seen only ending.
  // A client that cancels before its message arrives is counted the same way.
  const countLimits: grpc.ServerInterceptor = (_method, call) => {
    let seen = false;
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next(new grpc.ServerListenerBuilder()
          .withOnReceiveMessage((message, nextMessage) => { seen = true; nextMessage(message); })
          .withOnCancel(() => { if (!seen) metrics.recordRejected(protocol, 'too_large'); })
          .build());
      },
      sendStatus(status, next) {
        seen = true;
        next(status);
      },
    });
  };
  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.maxBytes,
    interceptors: [countLimits],
  });
  const fail = (callback: grpc.sendUnaryData<Buffer>, code: grpc.status, details: string): void => callback({ code, details });
  /** Decodes, validates and hands on one admitted request. */
  const handle = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void => {
    let request;
    try {
      request = decodeExportProfilesRequest(call.request);
    } catch (err) {
      metrics.recordRejected(protocol, 'malformed');
      return fail(callback, grpc.status.INVALID_ARGUMENT, `decoding ExportProfilesServiceRequest: ${(err as Error).message}`);
    }
    try {
      const outcome = intake.acceptOtlp(protocol, request, call.request.length);
      // Full success is the empty message: zero bytes.
      callback(null, outcome.rejectedProfiles === 0 ? EMPTY_RESPONSE : Buffer.from(toBinary(ExportProfilesServiceResponseSchema, create(ExportProfilesServiceResponseSchema, {
        partialSuccess: { rejectedProfiles: BigInt(outcome.rejectedProfiles), errorMessage: outcome.errorMessage },
      }))));
    } catch (err) {
      if (err instanceof InvalidRequestError) return fail(callback, grpc.status.INVALID_ARGUMENT, err.message);
      metrics.recordRejected(protocol, 'internal');
      log.error({ err: String(err) }, 'receiving OTLP profiles over gRPC');
      fail(callback, grpc.status.INTERNAL, 'internal error');
    }
  };
  server.addService({
    Export: { path: OTLP_PROFILES_EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass },
  }, {
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const auth = call.metadata.get('authorization')[0];
      if (!checkToken(typeof auth === 'string' ? auth : auth?.toString('utf8'))) {
        metrics.recordRejected(protocol, 'unauthenticated');
        return fail(callback, grpc.status.UNAUTHENTICATED, 'missing or wrong bearer token');
      }
      const refused = shedder.admit();
      if (refused !== undefined) {
        metrics.recordRejected(protocol, refused.reason);
        const details = `the receiver is overloaded: retry after ${refused.retryAfterMs} ms`;
        return callback({ code: grpc.status.RESOURCE_EXHAUSTED, details, metadata: retryTrailer(grpc.status.RESOURCE_EXHAUSTED, details, refused.retryAfterMs) });
      }
      const started = performance.now();
      try {
        handle(call, callback);
      } finally {
        shedder.spent(performance.now() - started);
      }
    },
  });
  const credentials = config.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(config.tls.certFile), private_key: readFileSync(config.tls.keyFile) }])
    : grpc.ServerCredentials.createInsecure();
  const { host, port } = config.grpc;
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync(target, credentials, (err, p) => (
    err ? reject(new Error(`receiving OTLP/gRPC on ${target}: ${err.message}`, { cause: err })) : resolve(p))));
  return {
    address: `${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () => new Promise<void>((resolve) => {
      // Calls in flight get a moment; a client that never finishes must not hold shutdown.
      const timer = setTimeout(() => { server.forceShutdown(); resolve(); }, 2000);
      server.tryShutdown(() => { clearTimeout(timer); resolve(); });
    }),
  };
}
