import { beforeAll, describe, expect, it } from 'vitest';
import {
  parseKernelRelease, probeBpfLoop, probeBpfSyscall, probeBtf, probeCapabilities, probeCpuClock, probeFentry,
  probeKernelVersion, probeKprobes, probeRawTp, probeTpBtf, probeTracefs, probeUprobes, requireStackWalker, runFeatureProbes,
} from '../../src/kernel/index.js';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';

describe('feature probes (pure)', () => {
  it('parses kernel releases and judges the 5.8 minimum', () => {
    expect(parseKernelRelease('6.18.44-fc-v782')).toEqual([6, 18]);
    expect(probeKernelVersion('6.18.44-fc-v782').ok).toBe(true);
    expect(probeKernelVersion('5.8.0').ok).toBe(true);
    const old = probeKernelVersion('5.4.0-100-generic');
    expect(old.ok).toBe(false);
    expect(old.fix).toContain('5.8');
  });

  it('reads capabilities from CapEff bits', () => {
    expect(probeCapabilities('CapEff:\t000001ffffffffff\n')).toMatchObject({ ok: true });
    // CAP_BPF (39) + CAP_PERFMON (38) only
    expect(probeCapabilities(`CapEff:\t${(3n << 38n).toString(16).padStart(16, '0')}\n`)).toMatchObject({
      ok: true, detail: 'CAP_PERFMON, CAP_BPF',
    });
    const none = probeCapabilities('CapEff:\t0000000000000000\n');
    expect(none.ok).toBe(false);
    expect(none.fix).toContain('CAP_BPF');
  });
});

const skip = bpfSkipReason();
describe('feature probes on this kernel (6.18)', () => {
  // A missing prerequisite fails the run instead of skipping it.
  beforeAll(() => requirePrerequisites(skip));
  // This kernel is newer than every required probe's minimum: each must say present.
  it.each([
    ['btf', probeBtf], ['bpf', probeBpfSyscall], ['perf_event cpu-clock', probeCpuClock],
    ['tp_btf', probeTpBtf], ['raw_tp', probeRawTp], ['uprobes', probeUprobes],
    ['kernel version', () => probeKernelVersion()], ['capabilities', () => probeCapabilities()],
  ] as const)('%s is reported present', (name, probe) => {
    const c = probe();
    expect(c.name).toBe(name);
    // Only memory profiles and TLS payloads attach uprobes: the rest is what every profile needs.
    expect(c.required).toBe(name !== 'uprobes');
    expect(c, c.detail).toMatchObject({ ok: true, fix: '' });
  });

  // Optional for the agent, but 6.18 is newer than its 5.17 minimum: missing here is a broken probe.
  it('bpf_loop is reported present, and the stack walker is not refused', () => {
    const c = probeBpfLoop();
    expect(c.name).toBe('bpf_loop');
    expect(c.required).toBe(false);
    expect(c, c.detail).toMatchObject({ ok: true, fix: '' });
    expect(() => requireStackWalker()).not.toThrow();
  });

  it('reports kprobes, fentry and tracefs as informational with a detail', () => {
    for (const c of [probeKprobes(), probeFentry(), probeTracefs()]) {
      expect(c.required).toBe(false);
      expect(c.detail.length).toBeGreaterThan(0);
      if (!c.ok) expect(c.fix).not.toBe('');
    }
  });

  it('runs every probe and every required one passes', () => {
    const all = runFeatureProbes();
    expect(all.map((c) => c.name)).toEqual([
      'kernel version', 'capabilities', 'btf', 'bpf', 'perf_event cpu-clock', 'tp_btf', 'raw_tp', 'uprobes',
      'bpf_loop', 'tracefs', 'kprobes', 'fentry',
    ]);
    expect(all.filter((c) => c.required && !c.ok)).toEqual([]);
  });
});
