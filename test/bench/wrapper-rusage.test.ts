import { describe, expect, it } from 'vitest';
import { parseWrapperRusage } from '../../bench/peer-programs.js';

describe('parseWrapperRusage', () => {
  it('adds user and system time and keeps the peak RSS and status', () => {
    expect(parseWrapperRusage('1250000 250000 131072 0\n')).toEqual({ cpuMs: 1500, maxRssKb: 131072, status: 0 });
  });

  it('answers undefined when the wrapper wrote nothing or half a line', () => {
    expect(parseWrapperRusage('')).toBeUndefined();
    expect(parseWrapperRusage('1250000 250000')).toBeUndefined();
    expect(parseWrapperRusage('1250000 x 131072 0')).toBeUndefined();
  });
});
