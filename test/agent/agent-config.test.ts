import { describe, expect, it } from 'vitest';
import { METRIC_KINDS, PROFILE_KINDS } from '../../src/profile/profile-kinds.js';
import { agentDefaults } from '../../src/config/agent-config.js';
import { readAgentEnv } from '../../src/config/agent-env.js';
import { ConfigError, ConfigErrors, resolveAgentConfig } from '../../src/config/validate-agent-config.js';
import { settingsList } from '../helpers/settings-list.js';

const resolve = (env: Record<string, string>) => resolveAgentConfig(readAgentEnv(env));

describe('agent configuration', () => {
  it('keeps `npm start` working: no env means local files into ./profiles every 15 s, no exporters', () => {
    const c = resolve({});
    expect(c).toEqual(agentDefaults);
    expect(c.localFormats).toEqual(['pprof']);
    expect(c.profiles).toEqual(['oncpu']);
    expect(c.frequencyHz).toBe(99);
    expect(c.exportMaxRequestBytes).toBe(4_194_304);
    expect(c.shutdownTimeoutMs).toBe(10_000);
    expect(c.exportRetry).toEqual({ maxAttempts: Number.POSITIVE_INFINITY, initialBackoffMs: 1000, maxBackoffMs: 30_000, maxElapsedMs: 300_000 });
    expect(c.intervalMs).toBe(15_000);
    expect(c.outputDir).toBe('profiles');
    expect(c.exportRetry.maxAttempts).toBe(Number.POSITIVE_INFINITY);
    expect(c.exportQueue).toEqual({ maxItems: 256, maxBytes: 64 * 1024 * 1024 });
  });

  it('reads the export queue, retry, request size and shutdown settings', () => {
    const c = resolve({
      MESHPROF_EXPORT_QUEUE_MAX_REQUESTS: '3',
      MESHPROF_EXPORT_QUEUE_MAX_BYTES: '2MiB',
      MESHPROF_EXPORT_RETRY_MAX_ATTEMPTS: '5',
      MESHPROF_EXPORT_RETRY_INITIAL_BACKOFF: '100ms',
      MESHPROF_EXPORT_RETRY_MAX_BACKOFF: '2s',
      MESHPROF_EXPORT_RETRY_MAX_ELAPSED: '1m',
      MESHPROF_EXPORT_MAX_REQUEST_BYTES: '1048576',
      MESHPROF_SHUTDOWN_TIMEOUT: '3s',
      MESHPROF_METRICS_ADDR: ':9464',
    });
    expect(c.exportQueue).toEqual({ maxItems: 3, maxBytes: 2 * 1024 * 1024 });
    expect(c.exportRetry).toEqual({ maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 2000, maxElapsedMs: 60_000 });
    expect(c.exportMaxRequestBytes).toBe(1048576);
    expect(c.shutdownTimeoutMs).toBe(3000);
    // a port alone binds loopback: the metrics have no authentication
    expect(c.metricsAddr).toBe('127.0.0.1:9464');
  });

  it('walks user stacks with .eh_frame tables by default, in 16 MiB of rows; frame pointers only on request', () => {
    expect(resolve({})).toMatchObject({ unwind: 'eh-frame', unwindTableBytes: 16 * 1024 * 1024 });
    expect(resolve({ MESHPROF_UNWIND: 'frame-pointers', MESHPROF_UNWIND_TABLE_MEMORY: '64MiB' }))
      .toMatchObject({ unwind: 'frame-pointers', unwindTableBytes: 64 * 1024 * 1024 });
  });

  it('samples memory every 512 KiB by default, at MESHPROF_MEMORY_RATE otherwise, and says what to write for a bad rate', () => {
    expect(resolve({}).memoryRateBytes).toBe(512 * 1024);
    expect(resolve({ MESHPROF_MEMORY_RATE: '64KiB' }).memoryRateBytes).toBe(65536);
    expect(resolve({ MESHPROF_MEMORY_RATE: '1' }).memoryRateBytes).toBe(1);
    expect(() => resolve({ MESHPROF_MEMORY_RATE: 'often' })).toThrow(/^MESHPROF_MEMORY_RATE=often: not a size of at least 1 bytes/);
    expect(() => resolve({ MESHPROF_MEMORY_RATE: '8GiB' })).toThrow('MESHPROF_MEMORY_RATE=8GiB: larger than 4GiB');
    expect(resolve({ MESHPROF_PROFILES: 'memory,page-faults' }).profiles).toEqual(['memory', 'page-faults']);
  });

  it('reads Go-style compound durations, a bare number as seconds, and every boolean word', () => {
    expect(resolve({ MESHPROF_INTERVAL: '1m30s', MESHPROF_SHUTDOWN_TIMEOUT: '20', MESHPROF_EXPORT_RETRY_MAX_ELAPSED: '1h0m0s' }))
      .toMatchObject({ intervalMs: 90_000, shutdownTimeoutMs: 20_000, exportRetry: { maxElapsedMs: 3_600_000 } });
    expect(resolve({ MESHPROF_INCLUDE_IDLE: 'yes', MESHPROF_KEEP_MANGLED: 'ON', MESHPROF_LINE_INFO: '1' }))
      .toMatchObject({ includeIdle: true, keepMangled: true, lineInfo: true });
    expect(resolve({ MESHPROF_INCLUDE_IDLE: 'no', MESHPROF_KEEP_MANGLED: 'off', MESHPROF_LINE_INFO: '0' }))
      .toMatchObject({ includeIdle: false, keepMangled: false, lineInfo: false });
  });

  it('rejects a timer duration setTimeout cannot hold instead of firing after 1 ms', () => {
    expect(() => resolve({ MESHPROF_SHUTDOWN_TIMEOUT: '1000000h' })).toThrow(
      'MESHPROF_SHUTDOWN_TIMEOUT=1000000h: longer than 596h31m23.647s, the longest a timer can wait: use a shorter duration',
    );
    expect(() => resolve({ MESHPROF_EXPORT_RETRY_MAX_BACKOFF: '600h' })).toThrow(/^MESHPROF_EXPORT_RETRY_MAX_BACKOFF=600h: longer than/);
    expect(resolve({ MESHPROF_SHUTDOWN_TIMEOUT: '596h' }).shutdownTimeoutMs).toBe(596 * 3_600_000);
  });

  it('treats blank values as unset', () => {
    expect(resolve({ MESHPROF_INTERVAL: '  ', MESHPROF_EXPORT_QUEUE_MAX_BYTES: '' })).toEqual(agentDefaults);
  });

  it.each([
    ['MESHPROF_INTERVAL', '500ms', 'MESHPROF_INTERVAL=500ms: not a duration of at least 1s'],
    ['MESHPROF_EXPORT_QUEUE_MAX_REQUESTS', '0', 'MESHPROF_EXPORT_QUEUE_MAX_REQUESTS=0: use a whole number of at least 1'],
    ['MESHPROF_EXPORT_QUEUE_MAX_BYTES', 'lots', 'MESHPROF_EXPORT_QUEUE_MAX_BYTES=lots: not a size of at least 1024 bytes'],
    ['MESHPROF_EXPORT_RETRY_MAX_BACKOFF', 'never', 'MESHPROF_EXPORT_RETRY_MAX_BACKOFF=never: not a duration'],
    ['MESHPROF_SHUTDOWN_TIMEOUT', '1ms', 'MESHPROF_SHUTDOWN_TIMEOUT=1ms: not a duration of at least 100ms'],
    ['MESHPROF_LINE_INFO', 'maybe', 'MESHPROF_LINE_INFO=maybe: not a boolean: use true/false, 1/0, yes/no or on/off'],
    ['MESHPROF_METRICS_ADDR', 'localhost', 'MESHPROF_METRICS_ADDR=localhost: use host:port'],
    ['MESHPROF_UNWIND', 'dwarf', 'MESHPROF_UNWIND=dwarf: use one of eh-frame, frame-pointers'],
    ['MESHPROF_UNWIND_TABLE_MEMORY', '1KiB', 'MESHPROF_UNWIND_TABLE_MEMORY=1KiB: not a size of at least 65536 bytes'],
  ])('rejects %s=%s naming the variable', (name, value, message) => {
    let err: unknown;
    try {
      resolve({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).setting).toBe(name);
    expect((err as Error).message).toContain(message);
  });

  it('reports every bad variable at once, each with its own message', () => {
    let err: unknown;
    try {
      resolve({ MESHPROF_INTERVAL: '500ms', MESHPROF_PROFILES: 'oncpu,wall', MESHPROF_LOG_LEVEL: 'loud', MESHPROF_EXPORT_RETRY_MAX_ELAPSED: 'never' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigErrors);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigErrors).errors.map((e) => e.setting)).toEqual([
      'MESHPROF_INTERVAL', 'MESHPROF_PROFILES', 'MESHPROF_LOG_LEVEL', 'MESHPROF_EXPORT_RETRY_MAX_ELAPSED',
    ]);
    expect((err as Error).message).toBe(settingsList(
      'MESHPROF_INTERVAL=500ms: not a duration of at least 1s: use e.g. 15s or 1m',
      `MESHPROF_PROFILES=oncpu,wall: unknown value "wall": use a comma-separated list of ${[...PROFILE_KINDS, ...METRIC_KINDS].join(', ')}`,
      'MESHPROF_LOG_LEVEL=loud: use one of trace, debug, info, warn, error, silent',
      'MESHPROF_EXPORT_RETRY_MAX_ELAPSED=never: not a duration of at least 1ms: use e.g. 10s, 500ms or 1m',
    ));
  });
});
