/**
 * Settings that used to pass validation and fail later (at the first
 * export, every interval, or never visibly): each is refused at start, with
 * the variable named and what to write instead.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLocalPaths } from '../../src/config/local-paths.js';
import { readOtlpEnv } from '../../src/config/otlp-env.js';
import { parseFileMode } from '../../src/config/output-env.js';
import { readPyroscopeEnv } from '../../src/config/pyroscope-env.js';
import { readSkyWalkingEnv } from '../../src/config/skywalking-env.js';
import { resolveAgentConfig } from '../../src/config/validate-agent-config.js';
import { LocalProfileFiles } from '../../src/export/local-profile-files.js';

const tmp = mkdtempSync(join(tmpdir(), 'meshprof-settings-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('headers that could not be sent', () => {
  it.each([
    ['a=b%0d%0aX:1', 'reading OTEL_EXPORTER_OTLP_HEADERS: the value of header a holds U+000D, which cannot be sent in a header: remove it'],
    ['a b=c', 'reading OTEL_EXPORTER_OTLP_HEADERS: "a b" is not a header name: use letters, digits and -, e.g. api-key=secret'],
    ['a%0A=c', 'reading OTEL_EXPORTER_OTLP_HEADERS: "a\\n" is not a header name'],
  ])('OTEL_EXPORTER_OTLP_HEADERS=%s is refused', (headers, message) => {
    expect(() => readOtlpEnv({ OTEL_EXPORTER_OTLP_HEADERS: headers })).toThrow(message);
  });

  it('gRPC takes only printable ASCII and no -bin keys', () => {
    const grpc = { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
    expect(() => readOtlpEnv({ ...grpc, OTEL_EXPORTER_OTLP_HEADERS: 'k=caf%C3%A9' })).toThrow('the value of header k holds U+00E9');
    expect(() => readOtlpEnv({ ...grpc, OTEL_EXPORTER_OTLP_HEADERS: 'trace-bin=x' })).toThrow('gRPC -bin headers carry bytes');
    expect(readOtlpEnv({ ...grpc, OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20x,x-tenant=a' }).headers).toEqual({ Authorization: 'Bearer x', 'x-tenant': 'a' });
  });

  it('a Pyroscope tenant id or credential with a control character is refused', () => {
    expect(() => readPyroscopeEnv({ MESHPROF_PYROSCOPE_URL: 'http://p:4040', MESHPROF_PYROSCOPE_TENANT_ID: 'a\rb' }))
      .toThrow('reading MESHPROF_PYROSCOPE_TENANT_ID: holds U+000D, which cannot be sent in a header: remove it');
    expect(() => readPyroscopeEnv({ MESHPROF_PYROSCOPE_URL: 'http://p:4040', MESHPROF_PYROSCOPE_BEARER_TOKEN: 'x\ny' }))
      .toThrow('reading MESHPROF_PYROSCOPE_BEARER_TOKEN: holds U+000A');
  });

  it('a SkyWalking token that gRPC cannot carry is refused without showing it', () => {
    let message = '';
    try {
      readSkyWalkingEnv({ ROVER_BACKEND_ADDR: 'oap:11800', ROVER_BACKEND_AUTHENTICATION: 's3cret\n' + 'tail' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe('reading ROVER_BACKEND_AUTHENTICATION: the token holds a character gRPC metadata cannot carry (control or non-ASCII): check how it was set');
  });
});

describe('endpoints and addresses', () => {
  it('an endpoint without a scheme says to add http://', () => {
    expect(() => readOtlpEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' }))
      .toThrow('reading OTEL_EXPORTER_OTLP_ENDPOINT: "localhost:4318" has no scheme: write http://localhost:4318 (or https://)');
    expect(() => readPyroscopeEnv({ MESHPROF_PYROSCOPE_URL: 'localhost:4040' }))
      .toThrow('"localhost:4040" has no scheme: write http://localhost:4040');
    // gRPC endpoints may be bare host:port
    expect(readOtlpEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).endpoint).toBe('localhost:4317');
  });

  it('MESHPROF_METRICS_ADDR binds loopback unless a host is given, and its port is checked', () => {
    expect(resolveAgentConfig({ MESHPROF_METRICS_ADDR: ':9464' }).metricsAddr).toBe('127.0.0.1:9464');
    expect(resolveAgentConfig({ MESHPROF_METRICS_ADDR: '9464' }).metricsAddr).toBe('127.0.0.1:9464');
    expect(resolveAgentConfig({ MESHPROF_METRICS_ADDR: '0.0.0.0:9464' }).metricsAddr).toBe('0.0.0.0:9464');
    expect(() => resolveAgentConfig({ MESHPROF_METRICS_ADDR: ':99999' }))
      .toThrow('MESHPROF_METRICS_ADDR=:99999: use host:port with a port from 0 to 65535');
  });
});

describe('timers and periods', () => {
  it('MESHPROF_SHUTDOWN_TIMEOUT longer than a timer can wait is refused', () => {
    expect(() => resolveAgentConfig({ MESHPROF_SHUTDOWN_TIMEOUT: '1000000h' }))
      .toThrow('MESHPROF_SHUTDOWN_TIMEOUT=1000000h: longer than 596h31m23.647s, the longest a timer can wait');
  });

  it('ROVER_PROFILING_CHECK_INTERVAL has a floor of 1s', () => {
    expect(() => readSkyWalkingEnv({ ROVER_BACKEND_ADDR: 'oap:11800', ROVER_PROFILING_CHECK_INTERVAL: '1ms' }))
      .toThrow('ROVER_PROFILING_CHECK_INTERVAL=1ms: not a duration of at least 1s');
    expect(readSkyWalkingEnv({ ROVER_BACKEND_ADDR: 'oap:11800', ROVER_PROFILING_CHECK_INTERVAL: '1s' })?.periods.taskQueryMs).toBe(1000);
  });
});

describe('local files', () => {
  it('MESHPROF_OUTPUT_MODE is three octal digits the owner can read and write', () => {
    expect(parseFileMode('M', '0640')).toBe(0o640);
    expect(parseFileMode('M', '600')).toBe(0o600);
    expect(() => parseFileMode('M', '0400')).toThrow('keep 6 as the first digit');
    expect(() => parseFileMode('M', '0x1ff')).toThrow('not a file mode');
    expect(resolveAgentConfig({}).outputMode).toBe(0o600);
    expect(resolveAgentConfig({}).outputMaxBytes).toBe(2 ** 30);
    expect(resolveAgentConfig({ MESHPROF_OUTPUT_MAX_BYTES: '10MiB' }).outputMaxBytes).toBe(10 * 2 ** 20);
  });

  it('the agent writes pprof only by default', () => {
    expect(resolveAgentConfig({}).localFormats).toEqual(['pprof']);
  });

  it('a missing host /proc and an output directory that is a file or in /proc fail at start, naming both', () => {
    const file = join(tmp, 'file');
    writeFileSync(file, '');
    const started = Date.now();
    expect(() => checkLocalPaths({ MESHPROF_HOST_PROC: '/nonexistent' }, '/nonexistent', { dir: file, files: new LocalProfileFiles(file, ['pprof']) }))
      .toThrow([
        '2 settings need changing:',
        "  MESHPROF_HOST_PROC=/nonexistent: cannot list it (ENOENT): point it at the host's /proc (e.g. /host/proc in a container)",
        `  MESHPROF_OUTPUT_DIR=${file}: ${file} is not a directory (or set MESHPROF_OUTPUT_DIR=none to write no local files)`,
      ].join('\n'));
    expect(() => checkLocalPaths({ ROVER_HOST_PROC_MAPPING: tmp }, tmp, { dir: '/proc/x', files: new LocalProfileFiles('/proc/x', ['pprof']) }))
      .toThrow(`ROVER_HOST_PROC_MAPPING=${tmp}: no process directories in it`);
    expect(() => checkLocalPaths({}, '/proc', { dir: '/proc/x', files: new LocalProfileFiles('/proc/x', ['pprof']) }))
      .toThrow('MESHPROF_OUTPUT_DIR=/proc/x: it is in /proc, where files cannot be kept');
    // A bound, not a timing: a spinning mkdir would never return at all.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(() => checkLocalPaths({}, '/proc', undefined)).not.toThrow();
  });
});
