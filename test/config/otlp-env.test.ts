import { describe, expect, it } from 'vitest';
import { readOtlpEnv, readOtlpResourceEnv } from '../../src/config/otlp-env.js';
import { settingsList } from '../helpers/settings-list.js';

describe('readOtlpEnv', () => {
  it('defaults to http/protobuf on localhost:4318 with nothing set', () => {
    expect(readOtlpEnv({})).toEqual({
      protocol: 'http/protobuf',
      endpoint: 'http://localhost:4318/v1development/profiles',
      endpointExplicit: false,
      headers: {},
      compression: 'none',
      timeoutMs: 10_000,
      certificate: undefined,
      clientKey: undefined,
      clientCertificate: undefined,
      insecure: false,
    });
  });

  it('appends the profiles path to the generic endpoint for http/protobuf only', () => {
    expect(readOtlpEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://col:4318/' }).endpoint).toBe('http://col:4318/v1development/profiles');
    expect(readOtlpEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://col:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).endpoint).toBe('http://col:4317');
    expect(readOtlpEnv({ OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT: 'http://p:9/custom' }).endpoint).toBe('http://p:9/custom');
  });

  it('lets every profiles-specific variable win over the generic one', () => {
    const c = readOtlpEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://generic:4318',
      OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT: 'https://specific:4317',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_PROFILES_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_HEADERS: 'a=1',
      OTEL_EXPORTER_OTLP_PROFILES_HEADERS: 'b=2,api-key=x%3Dy',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
      OTEL_EXPORTER_OTLP_PROFILES_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
      OTEL_EXPORTER_OTLP_PROFILES_TIMEOUT: '2500',
      OTEL_EXPORTER_OTLP_INSECURE: 'false',
      OTEL_EXPORTER_OTLP_PROFILES_INSECURE: 'TRUE',
      OTEL_EXPORTER_OTLP_CERTIFICATE: '/generic/ca.pem',
      OTEL_EXPORTER_OTLP_PROFILES_CERTIFICATE: '/p/ca.pem',
      OTEL_EXPORTER_OTLP_CLIENT_KEY: '/g/key.pem',
      OTEL_EXPORTER_OTLP_PROFILES_CLIENT_CERTIFICATE: '/p/cert.pem',
    });
    expect(c).toEqual({
      protocol: 'grpc',
      endpoint: 'https://specific:4317',
      endpointExplicit: true,
      headers: { b: '2', 'api-key': 'x=y' },
      compression: 'gzip',
      timeoutMs: 2500,
      certificate: '/p/ca.pem',
      clientKey: '/g/key.pem',
      clientCertificate: '/p/cert.pem',
      insecure: true,
    });
  });

  it('treats blank values as unset', () => {
    const c = readOtlpEnv({ OTEL_EXPORTER_OTLP_PROFILES_PROTOCOL: '  ', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT: '' });
    expect(c.protocol).toBe('grpc');
    expect(c.endpoint).toBe('http://localhost:4317');
    expect(c.endpointExplicit).toBe(false);
  });

  it('reads the timeout as milliseconds or a duration, and insecure as any boolean word', () => {
    expect(readOtlpEnv({ OTEL_EXPORTER_OTLP_TIMEOUT: '2500' }).timeoutMs).toBe(2500);
    expect(readOtlpEnv({ OTEL_EXPORTER_OTLP_PROFILES_TIMEOUT: '10s' }).timeoutMs).toBe(10_000);
    expect(readOtlpEnv({ OTEL_EXPORTER_OTLP_INSECURE: 'yes' }).insecure).toBe(true);
    expect(readOtlpEnv({ OTEL_EXPORTER_OTLP_INSECURE: 'OFF' }).insecure).toBe(false);
  });

  it('accepts bare host:port for grpc', () => {
    expect(readOtlpEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).endpoint).toBe('collector:4317');
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'reading OTEL_EXPORTER_OTLP_PROTOCOL: unsupported protocol "http/json"'],
    [{ OTEL_EXPORTER_OTLP_PROFILES_COMPRESSION: 'zstd' }, 'reading OTEL_EXPORTER_OTLP_PROFILES_COMPRESSION: unsupported compression "zstd"'],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' }, 'OTEL_EXPORTER_OTLP_TIMEOUT=soon: not a duration of at least 1ms'],
    [{ OTEL_EXPORTER_OTLP_INSECURE: 'maybe' }, 'OTEL_EXPORTER_OTLP_INSECURE=maybe: not a boolean: use true/false, 1/0, yes/no or on/off'],
    [{ OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT: 'not a url' }, 'reading OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT: "not a url" is not a URL'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x' }, 'reading OTEL_EXPORTER_OTLP_ENDPOINT: scheme ftp: is not http or https'],
    [{ OTEL_EXPORTER_OTLP_HEADERS: 'novalue' }, 'reading OTEL_EXPORTER_OTLP_HEADERS: entry "novalue" is not key=value'],
  ])('rejects %o naming the variable', (env, message) => {
    expect(() => readOtlpEnv(env)).toThrow(message);
  });

  it('lists every bad variable at once, one line each', () => {
    expect(() => readOtlpEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317',
      OTEL_EXPORTER_OTLP_PROFILES_COMPRESSION: 'zstd',
      OTEL_EXPORTER_OTLP_TIMEOUT: '0',
      OTEL_EXPORTER_OTLP_HEADERS: 'novalue',
    })).toThrow(settingsList(
      // http/protobuf (the default) takes URLs only
      'reading OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4317" has no scheme: write http://collector:4317 (or https://)',
      'reading OTEL_EXPORTER_OTLP_PROFILES_COMPRESSION: unsupported compression "zstd" (use gzip or none)',
      'reading OTEL_EXPORTER_OTLP_HEADERS: entry "novalue" is not key=value',
      'OTEL_EXPORTER_OTLP_TIMEOUT=0: not a duration of at least 1ms: use e.g. 10000 (milliseconds) or 10s',
    ));
  });
});

describe('readOtlpResourceEnv', () => {
  it('parses OTEL_SERVICE_NAME and percent-decoded OTEL_RESOURCE_ATTRIBUTES', () => {
    expect(
      readOtlpResourceEnv({ OTEL_SERVICE_NAME: 'checkout', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod, team=pay%2Cments' }),
    ).toEqual({ serviceName: 'checkout', resourceAttributes: { 'deployment.environment': 'prod', team: 'pay,ments' } });
    expect(readOtlpResourceEnv({ OTEL_SERVICE_NAME: ' ' })).toEqual({ serviceName: undefined, resourceAttributes: {} });
    expect(() => readOtlpResourceEnv({ OTEL_RESOURCE_ATTRIBUTES: 'a=%zz' })).toThrow('reading OTEL_RESOURCE_ATTRIBUTES: bad percent-encoding');
  });
});
