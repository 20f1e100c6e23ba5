import { describe, expect, it } from 'vitest';
import { formatDurationMs, formatDurationNs, MAX_TIMER_MS, parseDurationMs, parseDurationNs } from '../../src/config/duration.js';

describe('parseDurationNs', () => {
  it.each([
    ['1m30s', 90_000_000_000n],
    ['90s', 90_000_000_000n],
    ['1h0m0s', 3_600_000_000_000n],
    ['2h', 7_200_000_000_000n],
    ['1.5s', 1_500_000_000n],
    ['.5s', 500_000_000n],
    ['500ms', 500_000_000n],
    ['250us', 250_000n],
    ['250µs', 250_000n],
    ['250μs', 250_000n],
    ['10ns', 10n],
    ['1h2m3.004005006s', 3_723_004_005_006n],
    ['1.5h', 5_400_000_000_000n],
    ['  15s ', 15_000_000_000n],
    ['0', 0n],
    ['-1s', -1_000_000_000n],
  ])('reads %s', (text, ns) => {
    expect(parseDurationNs(text)).toBe(ns);
  });

  it.each(['', 'ten', '1', '15', '1.5', 's', '1d', '1m 30s', '1s-1s', '--1s', '1e3s', '1..5s', '1S'])('rejects %j', (text) => {
    expect(parseDurationNs(text)).toBeUndefined();
  });

  it('reads a bare number in the unit the setting names', () => {
    expect(parseDurationNs('15', 's')).toBe(15_000_000_000n);
    expect(parseDurationNs('10000', 'ms')).toBe(10_000_000_000n);
    expect(parseDurationNs('1.5', 'us')).toBe(1_500n);
    expect(parseDurationNs('10s', 'ms')).toBe(10_000_000_000n);
  });

  it('drops a fraction finer than a nanosecond, as Go does', () => {
    expect(parseDurationNs('1.0000000019s')).toBe(1_000_000_001n);
  });
});

describe('parseDurationMs', () => {
  it('rounds to whole milliseconds', () => {
    expect(parseDurationMs('1m30s')).toBe(90_000);
    expect(parseDurationMs('1.5ms')).toBe(2);
    expect(parseDurationMs('1us')).toBe(0);
    expect(parseDurationMs('20', 's')).toBe(20_000);
    expect(parseDurationMs('ten', 's')).toBeUndefined();
  });
});

describe('formatDurationNs', () => {
  it.each([
    [90_000_000_000n, '1m30s'],
    [3_600_000_000_000n, '1h'],
    [3_601_000_000_000n, '1h1s'],
    [1_500_000_000n, '1.5s'],
    [250_000_000n, '250ms'],
    [1_000n, '1us'],
    [1_500n, '1.5us'],
    [7n, '7ns'],
    [0n, '0s'],
    [60_000_000_001n, '1m0.000000001s'],
    [-2_000_000n, '-2ms'],
  ])('writes %s ns as %s', (ns, text) => {
    expect(formatDurationNs(ns)).toBe(text);
  });

  it('writes what parseDurationNs reads back to the same value', () => {
    const texts = ['1m30s', '90s', '1h0m0s', '1.5s', '250ms', '1us', '250µs', '10ns', '2h', '500ms', '1h2m3.004005006s', '0.1ns', '1000000h', '36h', '59.999999999s'];
    for (const text of texts) {
      const ns = parseDurationNs(text);
      expect(ns, text).toBeDefined();
      const written = formatDurationNs(ns ?? 0n);
      expect(parseDurationNs(written), `${text} -> ${written}`).toBe(ns);
      // Formatting is canonical: writing what was read back changes nothing.
      expect(formatDurationNs(parseDurationNs(written) ?? 0n)).toBe(written);
    }
  });

  it('round-trips every millisecond count up to a timer\'s longest wait', () => {
    for (const ms of [1, 999, 1000, 1001, 59_999, 60_000, 90_000, 3_599_999, 3_600_000, 86_400_000, MAX_TIMER_MS]) {
      expect(parseDurationMs(formatDurationMs(ms)), String(ms)).toBe(ms);
    }
    expect(formatDurationMs(MAX_TIMER_MS)).toBe('596h31m23.647s');
    expect(formatDurationMs(100)).toBe('100ms');
    expect(formatDurationMs(0.001)).toBe('1us');
  });
});
