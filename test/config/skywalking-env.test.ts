import { describe, expect, it } from 'vitest';
import { defaultSkyWalkingPeriods, readSkyWalkingEnv } from '../../src/config/skywalking-env.js';
import { settingsList } from '../helpers/settings-list.js';

describe('readSkyWalkingEnv', () => {
  it('is off without an address, and blank values count as unset', () => {
    expect(readSkyWalkingEnv({})).toBeUndefined();
    expect(readSkyWalkingEnv({ MESHPROF_SKYWALKING_ADDR: '  ', ROVER_BACKEND_ADDR: '' })).toBeUndefined();
  });

  it("reads a Rover DaemonSet's variables", () => {
    const c = readSkyWalkingEnv({
      ROVER_BACKEND_ADDR: 'oap.skywalking:11800',
      ROVER_BACKEND_ENABLE_TLS: 'true',
      ROVER_BACKEND_CA_PEM_PATH: '/certs/ca.pem',
      ROVER_BACKEND_PEM_PATH: '/certs/client.pem',
      ROVER_BACKEND_KEY_PATH: '/certs/client.key',
      ROVER_BACKEND_INSECURE_SKIP_VERIFY: 'false',
      ROVER_BACKEND_AUTHENTICATION: 'token',
      ROVER_CORE_CLUSTER_NAME: 'east',
      ROVER_PROCESS_DISCOVERY_KUBERNETES_NODE_NAME: 'node-1',
      ROVER_HOST_PROC_MAPPING: '/host/proc',
      ROVER_PROCESS_DISCOVERY_HEARTBEAT_PERIOD: '30s',
      ROVER_PROFILING_CONTINUOUS_TRIGGER_SILENCE_DURATION: '5m',
      ROVER_PROFILING_TASK_NETWORK_TOPOLOGY_REPORT_INTERVAL: '3s',
      ROVER_PROFILING_TASK_NETWORK_TOPOLOGY_METER_PREFIX: 'net_p',
    });
    expect(c).toEqual({
      addr: 'oap.skywalking:11800',
      tls: {
        enabled: true,
        caPath: '/certs/ca.pem',
        clientCertPath: '/certs/client.pem',
        clientKeyPath: '/certs/client.key',
        insecureSkipVerify: false,
      },
      authentication: 'token',
      clusterName: 'east',
      nodeName: 'node-1',
      hostProcPath: '/host/proc',
      periods: { ...defaultSkyWalkingPeriods, heartbeatMs: 30_000, continuousSilenceMs: 300_000, networkReportMs: 3_000 },
      networkMeterPrefix: 'net_p',
    });
  });

  it('refuses a meter prefix OAP could not match, naming the variable', () => {
    expect(() => readSkyWalkingEnv({ ROVER_BACKEND_ADDR: 'a:1', MESHPROF_SKYWALKING_NETWORK_METER_PREFIX: 'rover-net' }))
      .toThrow(/MESHPROF_SKYWALKING_NETWORK_METER_PREFIX.*rover_net_p/);
    expect(readSkyWalkingEnv({ ROVER_BACKEND_ADDR: 'a:1' })?.networkMeterPrefix).toBe('rover_net_p');
  });

  it('lets meshprof names win over Rover names', () => {
    const c = readSkyWalkingEnv({
      MESHPROF_SKYWALKING_ADDR: 'a:1',
      ROVER_BACKEND_ADDR: 'b:2',
      MESHPROF_SKYWALKING_TLS: '0',
      ROVER_BACKEND_ENABLE_TLS: 'true',
      MESHPROF_SKYWALKING_INSECURE: 'yes',
      MESHPROF_SKYWALKING_AUTHENTICATION: 'mine',
      ROVER_BACKEND_AUTHENTICATION: 'theirs',
      MESHPROF_SKYWALKING_CLUSTER: 'c1',
    });
    expect(c?.addr).toBe('a:1');
    expect(c?.tls.enabled).toBe(false);
    expect(c?.tls.insecureSkipVerify).toBe(true);
    expect(c?.authentication).toBe('mine');
    expect(c?.clusterName).toBe('c1');
    expect(c?.periods).toEqual(defaultSkyWalkingPeriods);
  });

  it('throws naming the variable', () => {
    expect(() => readSkyWalkingEnv({ ROVER_BACKEND_ADDR: 'nohost' })).toThrow(/ROVER_BACKEND_ADDR/);
    expect(() => readSkyWalkingEnv({ MESHPROF_SKYWALKING_ADDR: 'a:1', MESHPROF_SKYWALKING_TLS: 'maybe' })).toThrow(
      /MESHPROF_SKYWALKING_TLS/,
    );
    expect(() => readSkyWalkingEnv({ MESHPROF_SKYWALKING_ADDR: 'a:1', ROVER_PROFILING_FLUSH_INTERVAL: '5x' })).toThrow(
      /ROVER_PROFILING_FLUSH_INTERVAL/,
    );
    expect(() => readSkyWalkingEnv({ MESHPROF_SKYWALKING_ADDR: 'a:1', MESHPROF_SKYWALKING_CLIENT_CERT: '/c.pem' })).toThrow(
      /MESHPROF_SKYWALKING_CLIENT_KEY/,
    );
  });

  it('reads Go-style durations, a bare number as seconds', () => {
    const periods = (env: Record<string, string>) => readSkyWalkingEnv({ MESHPROF_SKYWALKING_ADDR: 'a:1', ...env })?.periods;
    expect(periods({ ROVER_PROCESS_DISCOVERY_HEARTBEAT_PERIOD: '20s' })?.heartbeatMs).toBe(20_000);
    expect(periods({ ROVER_PROFILING_CHECK_INTERVAL: '1m30s' })?.taskQueryMs).toBe(90_000);
    expect(periods({ ROVER_PROFILING_FLUSH_INTERVAL: '1500ms' })?.flushMs).toBe(1500);
    expect(periods({ ROVER_PROFILING_CONTINUOUS_FETCH_INTERVAL: '10' })?.continuousFetchMs).toBe(10_000);
    expect(() => periods({ ROVER_PROFILING_CONTINUOUS_CHECK_INTERVAL: 'ten' })).toThrow(
      'ROVER_PROFILING_CONTINUOUS_CHECK_INTERVAL=ten: not a duration of at least 1s: use e.g. 20s or 1m30s',
    );
    expect(() => periods({ ROVER_PROFILING_CONTINUOUS_TRIGGER_SILENCE_DURATION: '1000000h' })).toThrow(
      /^ROVER_PROFILING_CONTINUOUS_TRIGGER_SILENCE_DURATION=1000000h: longer than 596h31m23.647s/,
    );
  });

  it('lists every bad variable at once, one line each', () => {
    expect(() => readSkyWalkingEnv({ ROVER_BACKEND_ADDR: 'nohost', MESHPROF_SKYWALKING_TLS: 'maybe', ROVER_BACKEND_KEY_PATH: '/k.pem' })).toThrow(settingsList(
      'reading ROVER_BACKEND_ADDR: "nohost" is not host:port',
      'MESHPROF_SKYWALKING_TLS=maybe: not a boolean: use true/false, 1/0, yes/no or on/off',
      'reading MESHPROF_SKYWALKING_CLIENT_CERT and MESHPROF_SKYWALKING_CLIENT_KEY: set both or neither',
    ));
  });
});
