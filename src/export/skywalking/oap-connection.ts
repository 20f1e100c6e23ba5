/**
 * One gRPC channel to SkyWalking OAP, shared by every service client. The
 * channel reconnects by itself with exponential backoff; calls made while it
 * is down fail fast with UNAVAILABLE and their loops retry on the next tick.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type DescMethodClientStreaming,
  type DescMethodUnary,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf';
import type { SkyWalkingTlsConfig } from '../../config/skywalking-env.js';

/** How to reach OAP. */
export interface OapConnectionOptions {
  readonly addr: string;
  readonly tls?: SkyWalkingTlsConfig | undefined;
  /** Value of the `Authentication` header, as Rover sends it. */
  readonly authentication?: string | undefined;
  /** Per-call deadline. */
  readonly callTimeoutMs?: number | undefined;
  readonly initialBackoffMs?: number | undefined;
  readonly maxBackoffMs?: number | undefined;
}

/** Typed calls over the shared channel. */
export interface OapConnection {
  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: MessageInitShape<I>,
  ): Promise<MessageShape<O>>;
  /** Opens one client stream, writes every request, and waits for the answer. */
  clientStream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodClientStreaming<I, O>,
    requests: readonly MessageInitShape<I>[],
  ): Promise<MessageShape<O>>;
  /**
   * Calls the listener each time the channel becomes ready again after having
   * been ready before: OAP restarted or the network came back.
   */
  onReconnect(listener: () => void): void;
  close(): void;
}

function readPem(path: string | undefined, what: string): Buffer | null {
  if (path === undefined) return null;
  try {
    const pem = readFileSync(path);
    if (pem.length === 0) throw new Error('file is empty');
    return pem;
  } catch (err) {
    throw new Error(`reading skywalking ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Channel credentials from the TLS settings (plaintext when TLS is off). */
export function createOapCredentials(tls: SkyWalkingTlsConfig | undefined): grpc.ChannelCredentials {
  if (tls === undefined || !tls.enabled) return grpc.credentials.createInsecure();
  const verify: grpc.VerifyOptions = tls.insecureSkipVerify
    ? { rejectUnauthorized: false, checkServerIdentity: () => undefined }
    : {};
  return grpc.credentials.createSsl(
    readPem(tls.caPath, 'ca'),
    readPem(tls.clientKeyPath, 'client key'),
    readPem(tls.clientCertPath, 'client certificate'),
    verify,
  );
}

function pathOf(method: { name: string; parent: { typeName: string } }): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** Opens the channel lazily: nothing connects until the first call. */
export function createOapConnection(options: OapConnectionOptions): OapConnection {
  const timeoutMs = options.callTimeoutMs ?? 10_000;
  const client = new grpc.Client(options.addr, createOapCredentials(options.tls), {
    'grpc.initial_reconnect_backoff_ms': options.initialBackoffMs ?? 1_000,
    'grpc.max_reconnect_backoff_ms': options.maxBackoffMs ?? 30_000,
    'grpc.keepalive_time_ms': 30_000,
  });
  const auth = options.authentication;
  const listeners: (() => void)[] = [];
  let closed = false;
  let wasReady = false;
  let lostSinceReady = false;

  // grpc-js has no state events, only one-shot watches: re-arm after each change.
  const watch = (): void => {
    if (closed) return;
    const channel = client.getChannel();
    const state = channel.getConnectivityState(false);
    if (state === grpc.connectivityState.READY) {
      if (wasReady && lostSinceReady) for (const l of listeners) l();
      wasReady = true;
      lostSinceReady = false;
    } else if (wasReady && state !== grpc.connectivityState.CONNECTING) {
      lostSinceReady = true;
    }
    try {
      channel.watchConnectivityState(state, Date.now() + 3_600_000, () => watch());
    } catch {
      // the channel was closed under us
    }
  };
  watch();

  const metadata = (): grpc.Metadata => {
    const md = new grpc.Metadata();
    if (auth !== undefined && auth !== '') md.set('Authentication', auth);
    return md;
  };
  const deadline = (): grpc.CallOptions => ({ deadline: Date.now() + timeoutMs });

  function codec<I extends DescMessage, O extends DescMessage>(input: I, output: O) {
    return {
      serialize: (m: MessageInitShape<I>): Buffer => Buffer.from(toBinary(input, create(input, m))),
      deserialize: (b: Buffer): MessageShape<O> => fromBinary(output, b),
    };
  }

  return {
    unary(method, request) {
      const { serialize, deserialize } = codec(method.input, method.output);
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(pathOf(method), serialize, deserialize, request, metadata(), deadline(), (err, res) => {
          if (err !== null || res === undefined) reject(err ?? new Error('empty response'));
          else resolve(res);
        });
      });
    },
    clientStream(method, requests) {
      const { serialize, deserialize } = codec(method.input, method.output);
      return new Promise((resolve, reject) => {
        const call = client.makeClientStreamRequest(
          pathOf(method),
          serialize,
          deserialize,
          metadata(),
          deadline(),
          (err, res) => {
            if (err !== null || res === undefined) reject(err ?? new Error('empty response'));
            else resolve(res);
          },
        );
        for (const r of requests) call.write(r);
        call.end();
      });
    },
    onReconnect(listener) {
      listeners.push(listener);
    },
    close() {
      closed = true;
      client.close();
    },
  };
}
