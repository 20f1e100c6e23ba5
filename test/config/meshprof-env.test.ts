import { describe, expect, it } from 'vitest';
import { readAgentEnv } from '../../src/config/agent-env.js';
import { ConfigError, ConfigErrors } from '../../src/config/config-error.js';
import { discoveryConfigFromEnv } from '../../src/config/discovery-env.js';
import { resolveMeshprofEnv } from '../../src/config/meshprof-env.js';
import { readOtlpEnv, readOtlpResourceEnv } from '../../src/config/otlp-env.js';
import { readPyroscopeEnv } from '../../src/config/pyroscope-env.js';
import { readSkyWalkingEnv } from '../../src/config/skywalking-env.js';
import { resolveAgentConfig } from '../../src/config/validate-agent-config.js';
import { settingsList } from '../helpers/settings-list.js';

type Env = Record<string, string>;

/** What a reader throws for env, as it did before the readers were combined. */
function thrown(read: () => unknown): Error {
  try {
    read();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the reader to throw');
}

describe('resolveMeshprofEnv', () => {
  it('lists every bad variable of every reader in one error, each with its own message', () => {
    const agentBad: Env = { MESHPROF_INTERVAL: '500ms' };
    const otlpBad: Env = { OTEL_EXPORTER_OTLP_PROTOCOL: 'xml' };
    const discoveryBad: Env = { MESHPROF_TARGET_ROLES: 'boss' };
    const own = [
      thrown(() => resolveAgentConfig(readAgentEnv(agentBad))).message,
      thrown(() => readOtlpEnv(otlpBad)).message,
      thrown(() => discoveryConfigFromEnv(discoveryBad)).message,
    ];
    expect(own).toEqual([
      'MESHPROF_INTERVAL=500ms: not a duration of at least 1s: use e.g. 15s or 1m',
      'reading OTEL_EXPORTER_OTLP_PROTOCOL: unsupported protocol "xml" (use grpc or http/protobuf)',
      'reading MESHPROF_TARGET_ROLES: "boss" is not one of sidecar, app, ztunnel',
    ]);

    const err = thrown(() => resolveMeshprofEnv({ ...agentBad, ...otlpBad, ...discoveryBad, MESHPROF_OUTPUT_DIR: 'none' }));
    expect(err).toBeInstanceOf(ConfigErrors);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(settingsList(...own));
    expect((err as ConfigErrors).errors.map((e) => e.setting)).toEqual(['MESHPROF_INTERVAL', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'MESHPROF_TARGET_ROLES']);
  });

  it('also lists several bad variables of one reader, and the SkyWalking, Pyroscope and traces ones', () => {
    const err = thrown(() => resolveMeshprofEnv({
      MESHPROF_INTERVAL: 'soon',
      MESHPROF_FREQUENCY: '0',
      MESHPROF_PYROSCOPE_URL: 'ftp://p',
      MESHPROF_PYROSCOPE_API: 'grpc',
      MESHPROF_SKYWALKING_ADDR: 'oap',
      OTEL_TRACES_EXPORTER: 'zipkin',
      MESHPROF_KUBERNETES: 'maybe',
      MESHPROF_EXCLUDE_PIDS: '12,abc',
    }));
    expect(err.message).toBe(settingsList(
      'MESHPROF_INTERVAL=soon: not a duration of at least 1s: use e.g. 15s or 1m',
      'MESHPROF_FREQUENCY=0: use a whole number of Hz from 1 to 10000',
      'reading MESHPROF_PYROSCOPE_URL: scheme ftp: is not http or https',
      'reading MESHPROF_PYROSCOPE_API: "grpc" is not push, ingest or auto',
      'reading MESHPROF_SKYWALKING_ADDR: "oap" is not host:port',
      'reading OTEL_TRACES_EXPORTER: "zipkin" is not supported (use otlp or none)',
      'reading MESHPROF_KUBERNETES: "maybe" is not one of auto, on, off',
      'reading MESHPROF_EXCLUDE_PIDS: "abc" is not a process id',
    ));
  });

  it('throws one bad variable as its own ConfigError, message unchanged', () => {
    const err = thrown(() => resolveMeshprofEnv({ MESHPROF_PYROSCOPE_URL: 'http://p', MESHPROF_PYROSCOPE_TIMEOUT: '-1' }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).not.toBeInstanceOf(ConfigErrors);
    expect((err as ConfigError).setting).toBe('MESHPROF_PYROSCOPE_TIMEOUT');
    expect(err.message).toBe('MESHPROF_PYROSCOPE_TIMEOUT=-1: not a duration of at least 1ms: use e.g. 10000 (milliseconds) or 10s');
  });

  it('reports a mistyped OTLP protocol alone, not the gRPC endpoint meant with it', () => {
    const err = thrown(() => resolveMeshprofEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'gprc', OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' }));
    expect(err.message).toBe('reading OTEL_EXPORTER_OTLP_PROTOCOL: unsupported protocol "gprc" (use grpc or http/protobuf)');
  });

  it('returns, for a good environment, what each reader returns', () => {
    const env: Env = {
      MESHPROF_INTERVAL: '30s',
      MESHPROF_PROFILES: 'oncpu,offcpu',
      MESHPROF_HOST_PROC: '/host/proc',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_SERVICE_NAME: 'node-agent',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod',
      MESHPROF_PYROSCOPE_URL: 'http://pyroscope:4040/',
      MESHPROF_SKYWALKING_ADDR: 'oap:11800',
      OTEL_TRACES_EXPORTER: 'otlp',
      MESHPROF_KUBERNETES: 'off',
      MESHPROF_TARGET_NAMESPACES: 'shop',
      MESHPROF_TARGET_ROLES: 'sidecar',
      MESHPROF_EXCLUDE_EXE: '/^java/',
    };
    const parts = resolveMeshprofEnv(env);
    expect(parts.agent).toEqual(resolveAgentConfig(readAgentEnv(env)));
    expect(parts.exporters).toEqual({ otlp: readOtlpEnv(env), otlpMetrics: readOtlpEnv(env, 'METRICS'), otlpLogs: readOtlpEnv(env, 'LOGS'), pyroscope: readPyroscopeEnv(env), resource: readOtlpResourceEnv(env) });
    expect(parts.skywalking).toEqual(readSkyWalkingEnv(env));
    expect(parts.tracesExporter).toBe('otlp');
    expect(parts.discovery).toEqual(discoveryConfigFromEnv(env));
    // and those are the settings env asks for, not defaults
    expect(parts.agent).toMatchObject({ intervalMs: 30_000, profiles: ['oncpu', 'offcpu'], procRoot: '/host/proc' });
    expect(parts.exporters.otlp).toMatchObject({ protocol: 'grpc', endpoint: 'collector:4317', endpointExplicit: true });
    expect(parts.exporters.pyroscope?.url).toBe('http://pyroscope:4040');
    expect(parts.exporters.resource).toEqual({ serviceName: 'node-agent', resourceAttributes: { 'deployment.environment': 'prod' } });
    expect(parts.skywalking?.addr).toBe('oap:11800');
    expect(parts.discovery).toMatchObject({ procRoot: '/host/proc', kubernetes: 'off', watchNamespaces: ['shop'] });
    expect(parts.discovery.rules.include.roles).toEqual(['sidecar']);
    expect(parts.discovery.rules.exclude.exe).toEqual([/^java/]);
  });

  it('returns the defaults, exporters and SkyWalking off, for an empty environment', () => {
    const parts = resolveMeshprofEnv({});
    expect(parts.exporters.otlp.endpointExplicit).toBe(false);
    expect(parts.exporters.pyroscope).toBeUndefined();
    expect(parts.skywalking).toBeUndefined();
    expect(parts.tracesExporter).toBe('none');
    expect(parts.discovery).toEqual(discoveryConfigFromEnv({}));
  });

  it('reads the host /proc from Rover\'s ROVER_HOST_PROC_MAPPING for the samplers and discovery too', () => {
    const c = resolveMeshprofEnv({ ROVER_BACKEND_ADDR: 'oap:11800', ROVER_HOST_PROC_MAPPING: '/host/proc' });
    expect(c.skywalking?.hostProcPath).toBe('/host/proc');
    expect(c.agent.procRoot).toBe('/host/proc');
    expect(c.discovery.procRoot).toBe('/host/proc');
    // MESHPROF_HOST_PROC wins when both are set
    expect(resolveMeshprofEnv({ MESHPROF_HOST_PROC: '/hp', ROVER_HOST_PROC_MAPPING: '/host/proc' }).agent.procRoot).toBe('/hp');
  });
});
