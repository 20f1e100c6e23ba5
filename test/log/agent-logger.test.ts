import { describe, expect, it } from 'vitest';
import { createAgentLogger, formatTextRecord } from '../../src/log/agent-logger.js';
import { readAgentEnv } from '../../src/config/agent-env.js';
import { resolveAgentConfig } from '../../src/config/validate-agent-config.js';

/** A stdout stand-in that keeps what is written. */
function sink(isTTY: boolean): { write(text: string): boolean; readonly isTTY: boolean; text(): string } {
  let out = '';
  return { isTTY, write: (t: string) => { out += t; return true; }, text: () => out };
}

const resolve = (env: Record<string, string>) => resolveAgentConfig(readAgentEnv(env));

describe('agent logger', () => {
  it('writes JSON lines with level names and ISO times when not on a terminal', () => {
    const out = sink(false);
    const log = createAgentLogger({ level: 'info', format: 'auto', out });
    log.info({ kind: 'oncpu', stacks: 12 }, 'collected interval');
    log.debug('not at info');
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({ level: 'info', msg: 'collected interval', kind: 'oncpu', stacks: 12, service: 'meshprof' });
    expect(String(rec.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('writes one compact line per record on a terminal, and when asked for text', () => {
    for (const [format, isTTY] of [['auto', true], ['text', false]] as const) {
      const out = sink(isTTY);
      const log = createAgentLogger({ level: 'debug', format, out });
      log.warn({ kind: 'oncpu', paths: ['a b.pb.gz'], n: 3 }, 'drops so far');
      expect(out.text()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN  drops so far kind=oncpu paths=\["a b.pb.gz"\] n=3\n$/);
    }
  });

  it('writes JSON on a terminal when asked for json', () => {
    const out = sink(true);
    createAgentLogger({ level: 'info', format: 'json', out }).error('x');
    expect(JSON.parse(out.text())).toMatchObject({ level: 'error', msg: 'x' });
  });

  it('passes lines that are not JSON through unchanged', () => {
    expect(formatTextRecord('plain')).toBe('plain\n');
    expect(formatTextRecord('{"level":"info","time":"2026-01-02T03:04:05.678Z","msg":"hi","empty":""}\n')).toBe('03:04:05.678 INFO  hi empty=""\n');
  });

  it('reads MESHPROF_LOG_FORMAT and names it when wrong', () => {
    expect(resolve({}).logFormat).toBe('auto');
    expect(resolve({ MESHPROF_LOG_FORMAT: 'text' }).logFormat).toBe('text');
    expect(() => resolve({ MESHPROF_LOG_FORMAT: 'pretty' })).toThrow('MESHPROF_LOG_FORMAT=pretty: use one of json, text, auto');
  });

  it("honours Rover's ROVER_LOGGER_LEVEL (logrus names, any case) when MESHPROF_LOG_LEVEL is unset", () => {
    expect(resolve({ ROVER_LOGGER_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
    expect(resolve({ ROVER_LOGGER_LEVEL: 'warning' }).logLevel).toBe('warn');
    expect(resolve({ ROVER_LOGGER_LEVEL: 'DEBUG', MESHPROF_LOG_LEVEL: 'error' }).logLevel).toBe('error');
    expect(() => resolve({ ROVER_LOGGER_LEVEL: 'LOUD' })).toThrow('ROVER_LOGGER_LEVEL=LOUD: use one of');
  });
});
