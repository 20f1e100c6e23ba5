import { describe, expect, it } from 'vitest';
import { effectiveCapabilities, missingProfilingCapabilities, requireProfilingPrivileges } from '../../src/kernel/index.js';

const status = (mask: bigint): string => `Name:\tx\nCapEff:\t${mask.toString(16).padStart(16, '0')}\n`;

describe('profiling privileges', () => {
  it('decodes CapEff bits by name', () => {
    expect(effectiveCapabilities(status((1n << 21n) | (1n << 19n)))).toEqual(new Set(['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']));
    expect(effectiveCapabilities('no capeff line')).toEqual(new Set());
  });

  it('accepts CAP_SYS_ADMIN or CAP_BPF with CAP_PERFMON, and names what is missing', () => {
    expect(missingProfilingCapabilities(effectiveCapabilities(status(1n << 21n)))).toEqual([]);
    expect(missingProfilingCapabilities(effectiveCapabilities(status((1n << 38n) | (1n << 39n))))).toEqual([]);
    expect(missingProfilingCapabilities(effectiveCapabilities(status(1n << 39n)))).toEqual(['CAP_PERFMON']);
    expect(() => requireProfilingPrivileges(effectiveCapabilities(status(0n)))).toThrow(
      'loading the eBPF samplers: missing CAP_BPF and CAP_PERFMON: run as root (sudo) or grant CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)',
    );
  });
});
