/**
 * The HTTP side of the receiver, one server for three front doors:
 * OTLP/HTTP profiles (`POST /v1development/profiles`, protobuf or JSON),
 * Pyroscope's legacy `POST /ingest` (pprof, raw or as the multipart field
 * `profile`) and Pyroscope's Connect `POST /push.v1.PusherService/Push`.
 * Bodies are read within the limit (request-body.ts); the intake decides.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { create, fromBinary, fromJson, toBinary, toJsonString, type JsonValue } from '@bufbuild/protobuf';
import type { ListenAddress, ReceiverConfig } from '../config/receiver-env.js';
import { StatusSchema } from '../gen/google/rpc/status_pb.js';
import {
  ExportProfilesServiceRequestSchema,
  ExportProfilesServiceResponseSchema,
} from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import { PushRequestSchema } from '../gen/pyroscope/push/v1/push_pb.js';
import type { TokenCheck } from './bearer-token.js';
import type { LoadShedder } from './load-shedder.js';
import { retryAfterSeconds, retryStatus } from './retry-hint.js';
import { otlpJsonToProtoJson } from './otlp-json-input.js';
import { decodeExportProfilesRequest } from './otlp-decode.js';
import { InvalidRequestError } from './otlp-validation.js';
import type { ReceiverServer } from './otlp-grpc-receiver.js';
import type { PprofSeries } from './pprof-input.js';
import { parseIngestName } from './pyroscope-ingest-name.js';
import type { ProfileIntake } from './profile-intake.js';
import { BodyError, decompress, isGzip, readRequestBody } from './request-body.js';
import type { ReceiverMetrics } from './receiver-metrics.js';
import type { ReceivedProtocol } from './received-profiles.js';
import { type Logger } from '../log/logger.js';

/** Paths served. */
export const OTLP_PROFILES_HTTP_PATH = '/v1development/profiles';
export const PYROSCOPE_INGEST_PATH = '/ingest';
export const PYROSCOPE_CONNECT_PUSH_PATH = '/push.v1.PusherService/Push';

/** What the HTTP receiver needs. */
export interface HttpReceiverDeps {
  readonly intake: ProfileIntake;
  readonly metrics: ReceiverMetrics;
  readonly checkToken: TokenCheck;
  readonly shedder: LoadShedder;
  readonly log: Logger;
}

/** A refusal: HTTP status, the reason it is counted under, and what the client is told. */
class Refusal extends Error {
  constructor(readonly status: number, readonly reason: Parameters<ReceiverMetrics['recordRejected']>[1], message: string) {
    super(message);
  }
}

type Answer = { status: number; contentType: string; body: Uint8Array | string; headers?: Record<string, string> };

const mediaType = (req: http.IncomingMessage): string => String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
const isJson = (type: string): boolean => type === 'application/json';
const isProto = (type: string): boolean => type === 'application/x-protobuf' || type === 'application/protobuf' || type === 'application/proto';

/** `Bearer <token>`, or Basic auth whose password is the token (what Pyroscope SDKs send). */
function authorized(req: http.IncomingMessage, checkToken: TokenCheck): boolean {
  const header = req.headers.authorization;
  const basic = /^basic\s+(.+)$/i.exec(header?.trim() ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    return checkToken(`Bearer ${decoded.slice(decoded.indexOf(':') + 1)}`);
  }
  return checkToken(header);
}

/** Starts the server on config.http. */
export async function startHttpReceiver(config: ReceiverConfig & { readonly http: ListenAddress }, deps: HttpReceiverDeps): Promise<ReceiverServer> {
  const { intake, metrics, checkToken, shedder, log } = deps;
  const { maxBytes } = config;

  /** Runs the receiver's synchronous part of a request, telling the shedder how long it took. */
  const timed = <T>(fn: () => T): T => {
    const started = performance.now();
    try {
      return fn();
    } finally {
      shedder.spent(performance.now() - started);
    }
  };

  const otlp = async (req: http.IncomingMessage): Promise<Answer> => {
    const type = mediaType(req);
    if (!isJson(type) && !isProto(type)) throw new Refusal(415, 'unsupported_media_type', `Content-Type ${type || '(none)'} is not supported: send application/x-protobuf or application/json`);
    const body = await readRequestBody(req, maxBytes);
    const outcome = timed(() => {
      let request;
      try {
        request = isJson(type)
          ? fromJson(ExportProfilesServiceRequestSchema, otlpJsonToProtoJson(JSON.parse(body.toString('utf8')) as JsonValue), { ignoreUnknownFields: true })
          : decodeExportProfilesRequest(body);
      } catch (err) {
        throw new Refusal(400, 'malformed', `decoding ExportProfilesServiceRequest: ${(err as Error).message}`);
      }
      // JSON is never smaller than the same request in protobuf: its length bounds the size the forwarder needs.
      return intake.acceptOtlp('otlp-http', request, body.length);
    });
    const response = create(ExportProfilesServiceResponseSchema, outcome.rejectedProfiles > 0
      ? { partialSuccess: { rejectedProfiles: BigInt(outcome.rejectedProfiles), errorMessage: outcome.errorMessage } }
      : {});
    return isJson(type)
      ? { status: 200, contentType: 'application/json', body: toJsonString(ExportProfilesServiceResponseSchema, response) }
      : { status: 200, contentType: 'application/x-protobuf', body: toBinary(ExportProfilesServiceResponseSchema, response) };
  };

  const pprofBytes = async (raw: Uint8Array): Promise<Uint8Array> => (isGzip(raw) ? decompress(raw, 'gzip', maxBytes) : raw);

  const ingest = async (req: http.IncomingMessage, url: URL): Promise<Answer> => {
    const name = url.searchParams.get('name');
    if (name === null || name === '') throw new Refusal(400, 'invalid', 'the name query parameter is missing: send e.g. ?name=my-service{env=prod}');
    const labels = parseIngestName(name);
    const format = url.searchParams.get('format');
    const type = mediaType(req);
    const body = await readRequestBody(req, maxBytes);
    let pprof: Uint8Array;
    if (type === 'multipart/form-data') {
      let form: Awaited<ReturnType<Response['formData']>>;
      try {
        form = await new Response(body, { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
      } catch (err) {
        throw new Refusal(400, 'malformed', `reading multipart body: ${(err as Error).message}`);
      }
      const part = form.get('profile');
      if (part === null || typeof part === 'string') throw new Refusal(400, 'invalid', 'the multipart body has no file field named profile');
      pprof = new Uint8Array(await part.arrayBuffer());
    } else if (format === 'pprof') {
      pprof = body;
    } else {
      throw new Refusal(415, 'unsupported_media_type', `format ${format ?? 'folded (the default)'} is not supported: send pprof (format=pprof, or a multipart field named profile)`);
    }
    const bytes = await pprofBytes(pprof);
    timed(() => intake.acceptPprof('pyroscope-ingest', [{ labels, pprof: bytes }]));
    return { status: 200, contentType: 'text/plain', body: '' };
  };

  const push = async (req: http.IncomingMessage): Promise<Answer> => {
    const type = mediaType(req);
    if (!isJson(type) && !isProto(type)) throw new Refusal(415, 'unsupported_media_type', `Content-Type ${type || '(none)'} is not supported: send application/proto or application/json`);
    const body = await readRequestBody(req, maxBytes);
    let request;
    try {
      request = isJson(type)
        ? fromJson(PushRequestSchema, JSON.parse(body.toString('utf8')) as JsonValue, { ignoreUnknownFields: true })
        : fromBinary(PushRequestSchema, body);
    } catch (err) {
      throw new Refusal(400, 'malformed', `decoding push.v1.PushRequest: ${(err as Error).message}`);
    }
    const series: PprofSeries[] = [];
    for (const s of request.series) {
      for (const sample of s.samples) series.push({ labels: s.labels, pprof: await pprofBytes(sample.rawProfile) });
    }
    timed(() => intake.acceptPprof('pyroscope-push', series));
    return { status: 200, contentType: isJson(type) ? 'application/json' : 'application/proto', body: isJson(type) ? '{}' : new Uint8Array() };
  };

  const routes: Record<string, { protocol: ReceivedProtocol; handle: (req: http.IncomingMessage, url: URL) => Promise<Answer> }> = {
    [OTLP_PROFILES_HTTP_PATH]: { protocol: 'otlp-http', handle: otlp },
    [PYROSCOPE_INGEST_PATH]: { protocol: 'pyroscope-ingest', handle: ingest },
    [PYROSCOPE_CONNECT_PUSH_PATH]: { protocol: 'pyroscope-push', handle: push },
  };

  /** The error body each protocol expects: google.rpc.Status for OTLP, Connect's JSON error for push, text for /ingest. */
  const errorAnswer = (route: string, req: http.IncomingMessage, status: number, message: string): Answer => {
    if (route === OTLP_PROFILES_HTTP_PATH) {
      const s = create(StatusSchema, { code: status === 401 ? 16 : status === 413 ? 8 : 3, message });
      return isJson(mediaType(req))
        ? { status, contentType: 'application/json', body: toJsonString(StatusSchema, s) }
        : { status, contentType: 'application/x-protobuf', body: toBinary(StatusSchema, s) };
    }
    if (route === PYROSCOPE_CONNECT_PUSH_PATH) {
      const code = status === 401 ? 'unauthenticated' : status === 413 ? 'resource_exhausted' : status === 500 ? 'internal' : 'invalid_argument';
      return { status, contentType: 'application/json', body: JSON.stringify({ code, message }) };
    }
    return { status, contentType: 'text/plain', body: `${message}\n` };
  };

  /** 429 with Retry-After; for OTLP also google.rpc.Status with RetryInfo, as OTLP/HTTP exporters read it. */
  const overloadAnswer = (route: string, req: http.IncomingMessage, retryAfterMs: number): Answer => {
    const message = `the receiver is overloaded: retry after ${retryAfterMs} ms`;
    const headers = { 'Retry-After': retryAfterSeconds(retryAfterMs) };
    if (route === OTLP_PROFILES_HTTP_PATH && !isJson(mediaType(req))) {
      return { status: 429, contentType: 'application/x-protobuf', body: retryStatus(8, message, retryAfterMs), headers };
    }
    if (route === OTLP_PROFILES_HTTP_PATH) {
      return { status: 429, contentType: 'application/json', body: toJsonString(StatusSchema, create(StatusSchema, { code: 8, message })), headers };
    }
    if (route === PYROSCOPE_CONNECT_PUSH_PATH) return { status: 429, contentType: 'application/json', body: JSON.stringify({ code: 'resource_exhausted', message }), headers };
    return { status: 429, contentType: 'text/plain', body: `${message}\n`, headers };
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    const route = routes[url.pathname];
    const send = (a: Answer, close = false): void => {
      res.writeHead(a.status, { 'Content-Type': a.contentType, ...a.headers, ...(close ? { Connection: 'close' } : {}) });
      res.end(typeof a.body === 'string' ? a.body : Buffer.from(a.body));
    };
    if (route === undefined || req.method !== 'POST') {
      // Not read: a large body to a wrong path ends with the connection.
      send({ status: route === undefined ? 404 : 405, contentType: 'text/plain', body: `${route === undefined ? 'not found' : 'use POST'}: meshprof receives at POST ${Object.keys(routes).join(', ')}\n` }, !req.complete);
      return;
    }
    const refuse = (r: Refusal): void => {
      metrics.recordRejected(route.protocol, r.reason);
      // A body cut off at the limit is still arriving: close rather than read it.
      send(errorAnswer(url.pathname, req, r.status, r.message), !req.complete);
    };
    if (!authorized(req, checkToken)) {
      refuse(new Refusal(401, 'unauthenticated', 'missing or wrong bearer token'));
      return;
    }
    // A body announced over the limit gets its own answer (413) below, overloaded or not.
    const refused = Number(req.headers['content-length'] ?? 0) > maxBytes ? undefined : shedder.admit();
    if (refused !== undefined) {
      metrics.recordRejected(route.protocol, refused.reason);
      // Read and thrown away, not parsed: the connection stays usable for the retry.
      req.resume();
      send(overloadAnswer(url.pathname, req, refused.retryAfterMs));
      return;
    }
    route.handle(req, url).then(send, (err: unknown) => {
      if (err instanceof Refusal) return refuse(err);
      if (err instanceof BodyError) return refuse(new Refusal(err.status, err.reason, err.message));
      // The intake counted it already.
      if (err instanceof InvalidRequestError) return send(errorAnswer(url.pathname, req, 400, err.message));
      log.error({ err: String(err), path: url.pathname }, 'receiving profiles over HTTP');
      refuse(new Refusal(500, 'internal', 'internal error'));
    });
  };

  const server = config.tls
    ? https.createServer({ cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) }, handler)
    : http.createServer(handler);
  const { host, port } = config.http;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`receiving profiles over HTTP on ${host}:${port}: ${err.message}`, { cause: err })));
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    address: `${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () => new Promise<void>((resolve) => {
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), 2000);
      server.close(() => { clearTimeout(timer); resolve(); });
    }),
  };
}
