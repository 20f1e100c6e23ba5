import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeOtlpBinary } from '../../src/encode/otlp.js';
import { createOtlpGrpcTransport } from '../../src/export/otlp-grpc-transport.js';
import { createOtlpHttpTransport } from '../../src/export/otlp-http-transport.js';
import type { ExportTransport } from '../../src/export/transport.js';
import { onCpuProfile } from '../helpers/on-cpu-profile.js';
import { expectedRows, resolveRequest, sortRows } from '../helpers/resolve-request.js';
import { startGrpcServer, startHttpServer } from '../helpers/test-servers.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
const track = <T extends ExportTransport>(t: T): T => {
  cleanup.push(() => t.shutdown());
  return t;
};

describe('createOtlpGrpcTransport', () => {
  it('delivers the request intact, gzip-compressed, with headers as metadata', async () => {
    const server = await startGrpcServer();
    cleanup.push(() => server.close());
    const transport = track(
      createOtlpGrpcTransport({ endpoint: `http://${server.address}`, headers: { 'x-tenant': 'team-a' }, compression: 'gzip' }),
    );
    const profile = onCpuProfile();
    expect(await transport.send(encodeOtlpBinary([profile], { hostName: 'h' }), 5000)).toEqual({ ok: true });
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0]!;
    expect(req.metadata.get('x-tenant')).toEqual(['team-a']);
    expect(sortRows(resolveRequest(req.bytes).samples)).toEqual(sortRows(expectedRows(profile)));
  });

  it('gzips the message on the wire when compression is gzip', async () => {
    // grpc-js servers hide the encoding, so a bare HTTP/2 server looks at the frame.
    const seen: { encoding: string | undefined; path: string | undefined; frame: Buffer }[] = [];
    const h2 = http2.createServer();
    h2.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        seen.push({ encoding: headers['grpc-encoding'] as string | undefined, path: headers[':path'], frame: Buffer.concat(chunks) });
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
      });
    });
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => h2.close(() => resolve())));
    const port = (h2.address() as AddressInfo).port;
    const transport = track(createOtlpGrpcTransport({ endpoint: `127.0.0.1:${port}`, insecure: true, compression: 'gzip' }));
    const profile = onCpuProfile();
    expect(await transport.send(encodeOtlpBinary([profile]), 5000)).toEqual({ ok: true });
    const { encoding, path, frame } = seen[0]!;
    expect(path).toBe('/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export');
    expect(encoding).toBe('gzip');
    expect(frame[0]).toBe(1); // compressed-flag byte of the gRPC message prefix
    expect(frame.readUInt32BE(1)).toBe(frame.length - 5);
    const message = gunzipSync(frame.subarray(5));
    expect(sortRows(resolveRequest(message).samples)).toEqual(sortRows(expectedRows(profile)));
  });

  it('classifies UNAVAILABLE as retryable and reads RetryInfo', async () => {
    const server = await startGrpcServer(() => ({ code: grpc.status.UNAVAILABLE, details: 'overloaded', retryDelayMs: 1500 }));
    cleanup.push(() => server.close());
    const transport = track(createOtlpGrpcTransport({ endpoint: server.address, insecure: true }));
    const result = await transport.send(new Uint8Array([]), 5000);
    expect(result).toMatchObject({ ok: false, retryable: true, retryAfterMs: 1500 });
    expect(!result.ok && result.reason).toContain('UNAVAILABLE overloaded');
  });

  it('classifies RESOURCE_EXHAUSTED as retryable and INVALID_ARGUMENT as permanent', async () => {
    const codes = [grpc.status.RESOURCE_EXHAUSTED, grpc.status.INVALID_ARGUMENT];
    const server = await startGrpcServer((n) => ({ code: codes[n - 1]! }));
    cleanup.push(() => server.close());
    const transport = track(createOtlpGrpcTransport({ endpoint: server.address, insecure: true }));
    expect(await transport.send(new Uint8Array([]), 5000)).toMatchObject({ ok: false, retryable: true, retryAfterMs: undefined });
    expect(await transport.send(new Uint8Array([]), 5000)).toMatchObject({ ok: false, retryable: false });
  });

  it('reports a refused connection as retryable', async () => {
    const server = await startGrpcServer();
    const address = server.address;
    await server.close();
    const transport = track(createOtlpGrpcTransport({ endpoint: `http://${address}` }));
    expect(await transport.send(new Uint8Array([]), 2000)).toMatchObject({ ok: false, retryable: true });
  });
});

describe('createOtlpHttpTransport', () => {
  it('posts x-protobuf to the profiles path, gzipped, with headers', async () => {
    const server = await startHttpServer();
    cleanup.push(() => server.close());
    const transport = track(
      createOtlpHttpTransport({ url: `${server.url}/v1development/profiles`, headers: { Authorization: 'Bearer t' }, compression: 'gzip' }),
    );
    const profile = onCpuProfile();
    expect(await transport.send(encodeOtlpBinary([profile]), 5000)).toEqual({ ok: true });
    const req = server.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1development/profiles');
    expect(req.headers['content-type']).toBe('application/x-protobuf');
    expect(req.headers['content-encoding']).toBe('gzip');
    expect(req.headers['authorization']).toBe('Bearer t');
    expect(req.raw[0]).toBe(0x1f);
    expect(sortRows(resolveRequest(req.body).samples)).toEqual(sortRows(expectedRows(profile)));
  });

  it('classifies 503 with Retry-After as retryable and 400 as permanent', async () => {
    const replies = [{ status: 503, headers: { 'Retry-After': '2' } }, { status: 400, body: 'bad dictionary' }];
    const server = await startHttpServer((_, n) => replies[n - 1]!);
    cleanup.push(() => server.close());
    const transport = track(createOtlpHttpTransport({ url: `${server.url}/v1development/profiles` }));
    expect(await transport.send(new Uint8Array([1]), 5000)).toMatchObject({ ok: false, retryable: true, retryAfterMs: 2000 });
    const permanent = await transport.send(new Uint8Array([1]), 5000);
    expect(permanent).toMatchObject({ ok: false, retryable: false });
    expect(!permanent.ok && permanent.reason).toContain('http 400 bad dictionary');
    expect(server.requests[0]!.headers['content-encoding']).toBeUndefined();
  });
});
