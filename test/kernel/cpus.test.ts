import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { onlineCpus, parseCpuList, possibleCpus } from '../../src/kernel/index.js';

describe('cpu lists', () => {
  it('parses ranges and singles', () => {
    expect(parseCpuList('0-3,5,7-8\n')).toEqual([0, 1, 2, 3, 5, 7, 8]);
    expect(parseCpuList('0')).toEqual([0]);
    expect(() => parseCpuList('0-a')).toThrow(/parsing cpu list: bad range "0-a"/);
  });

  it('reads this machine', () => {
    expect(onlineCpus()).toEqual(parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8')));
    expect(onlineCpus().length).toBe(availableParallelism());
    expect(possibleCpus()).toBeGreaterThanOrEqual(onlineCpus().length);
  });
});
