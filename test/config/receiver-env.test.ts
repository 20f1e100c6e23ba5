import { describe, expect, it } from 'vitest';
import { parseListenAddress, readReceiverEnv } from '../../src/config/receiver-env.js';
import { settingsList } from '../helpers/settings-list.js';

describe('readReceiverEnv', () => {
  it('is off unless an endpoint is set; blank counts as unset', () => {
    expect(readReceiverEnv({})).toBeUndefined();
    expect(readReceiverEnv({ MESHPROF_RECEIVER_GRPC_ENDPOINT: ' ', MESHPROF_RECEIVER_HTTP_ENDPOINT: '' })).toBeUndefined();
  });

  it('listens on loopback when only a port is given, with a 4 MiB limit by default', () => {
    expect(readReceiverEnv({ MESHPROF_RECEIVER_GRPC_ENDPOINT: '4317', MESHPROF_RECEIVER_HTTP_ENDPOINT: '0.0.0.0:4318' })).toEqual({
      grpc: { host: '127.0.0.1', port: 4317 },
      http: { host: '0.0.0.0', port: 4318 },
      authToken: undefined,
      maxBytes: 4 * 1024 * 1024,
      tls: undefined,
    });
    expect(parseListenAddress('X', '[::1]:4317')).toEqual({ host: '::1', port: 4317 });
    expect(readReceiverEnv({ MESHPROF_RECEIVER_HTTP_ENDPOINT: ':4318', MESHPROF_RECEIVER_MAX_BYTES: '16MiB', MESHPROF_RECEIVER_AUTH_TOKEN: 't' }))
      .toMatchObject({ grpc: undefined, http: { host: '127.0.0.1', port: 4318 }, maxBytes: 16 * 2 ** 20, authToken: 't' });
  });

  it('names every bad variable and what to change', () => {
    expect(() => readReceiverEnv({
      MESHPROF_RECEIVER_GRPC_ENDPOINT: 'localhost:99999',
      MESHPROF_RECEIVER_MAX_BYTES: 'lots',
      MESHPROF_RECEIVER_TLS_CERT_FILE: '/nonexistent/cert.pem',
    })).toThrow(settingsList(
      'MESHPROF_RECEIVER_GRPC_ENDPOINT=localhost:99999: not an address: use host:port (e.g. 127.0.0.1:4317) or a port alone (loopback)',
      'MESHPROF_RECEIVER_MAX_BYTES=lots: not a size of at least 1024 bytes: use e.g. 4MiB or 65536',
      'MESHPROF_RECEIVER_TLS_KEY_FILE is unset: TLS needs both MESHPROF_RECEIVER_TLS_CERT_FILE and MESHPROF_RECEIVER_TLS_KEY_FILE',
      'MESHPROF_RECEIVER_TLS_CERT_FILE=/nonexistent/cert.pem: cannot read it: ENOENT',
    ));
    expect(() => readReceiverEnv({ MESHPROF_RECEIVER_GRPC_ENDPOINT: '4317', MESHPROF_RECEIVER_HTTP_ENDPOINT: '127.0.0.1:4317' }))
      .toThrow('MESHPROF_RECEIVER_HTTP_ENDPOINT=127.0.0.1:4317: the same address as MESHPROF_RECEIVER_GRPC_ENDPOINT');
    expect(() => readReceiverEnv({ MESHPROF_RECEIVER_AUTH_TOKEN: 'secret' }))
      .toThrow('MESHPROF_RECEIVER_AUTH_TOKEN is set but the receiver is off: set MESHPROF_RECEIVER_GRPC_ENDPOINT and/or MESHPROF_RECEIVER_HTTP_ENDPOINT, or unset MESHPROF_RECEIVER_AUTH_TOKEN');
  });
});
