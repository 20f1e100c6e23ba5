import { describe, expect, it } from 'vitest';
import { readNetworkEnv } from '../../src/config/network-env.js';
import { readOtlpEnv } from '../../src/config/otlp-env.js';
import { resolveAgentConfig } from '../../src/config/validate-agent-config.js';
import { readAgentEnv } from '../../src/config/agent-env.js';

describe('network settings', () => {
  it('defaults to a 100 ms slow threshold, no paths, TLS followed, 1024 bytes of kept requests\' heads', () => {
    expect(readNetworkEnv({})).toEqual({ slowThresholdNs: 100_000_000, paths: false, maxPathsPerProcess: 100, tls: true, requestHeadBytes: 1024 });
    expect(readNetworkEnv({ MESHPROF_NETWORK_SLOW: '250ms', MESHPROF_NETWORK_PATHS: 'yes', MESHPROF_NETWORK_MAX_PATHS: '20', MESHPROF_NETWORK_TLS: 'off', MESHPROF_NETWORK_HEAD_BYTES: '0' }))
      .toEqual({ slowThresholdNs: 250_000_000, paths: true, maxPathsPerProcess: 20, tls: false, requestHeadBytes: 0 });
  });

  it('names the variable and what to write on bad values', () => {
    expect(() => readNetworkEnv({ MESHPROF_NETWORK_SLOW: 'soon' })).toThrow(/MESHPROF_NETWORK_SLOW=soon: .*use e\.g\. 100ms or 1s/);
    expect(() => readNetworkEnv({ MESHPROF_NETWORK_MAX_PATHS: '0' })).toThrow(/MESHPROF_NETWORK_MAX_PATHS=0: .*from 1 to 10000/);
    expect(() => readNetworkEnv({ MESHPROF_NETWORK_HEAD_BYTES: '4096' })).toThrow(/MESHPROF_NETWORK_HEAD_BYTES=4096: .*from 0 to 1024/);
  });

  it('takes network in MESHPROF_PROFILES beside the stack kinds', () => {
    expect(resolveAgentConfig(readAgentEnv({ MESHPROF_PROFILES: 'oncpu,network' }))).toMatchObject({ profiles: ['oncpu'], network: true });
    expect(resolveAgentConfig(readAgentEnv({ MESHPROF_PROFILES: 'network' }))).toMatchObject({ profiles: [], network: true });
    expect(resolveAgentConfig(readAgentEnv({}))).toMatchObject({ profiles: ['oncpu'], network: false });
  });

  it('reads the metrics endpoint from the METRICS variables, then the generic one with /v1/metrics', () => {
    expect(readOtlpEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }, 'METRICS').endpoint).toBe('http://c:4318/v1/metrics');
    expect(readOtlpEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:9/x' }, 'METRICS').endpoint).toBe('http://m:9/x');
    expect(readOtlpEnv({ OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_PROFILES_PROTOCOL: 'http/protobuf' }, 'METRICS').protocol).toBe('grpc');
    expect(readOtlpEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).endpoint).toBe('http://c:4318/v1development/profiles');
    expect(readOtlpEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, 'LOGS').endpoint).toBe('http://c:4318/v1/logs');
  });
});
