import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatCheckTable } from '../../src/cli/check-command.js';
import type { FeatureCheck } from '../../src/kernel/feature-probes.js';
import { cliPath } from '../helpers/start-cli.js';

const run = promisify(execFile);

describe('meshprof check', () => {
  it('prints one row per feature, the fix under each failing row, and the verdict', () => {
    const checks: FeatureCheck[] = [
      { name: 'btf', ok: true, required: true, detail: '/sys/kernel/btf/vmlinux present', fix: '' },
      { name: 'perf_event cpu-clock', ok: false, required: true, detail: 'perf_event_open: EACCES', fix: 'run as root or grant CAP_PERFMON' },
      { name: 'kprobes', ok: false, required: false, detail: 'ENOENT', fix: 'needs kprobes support (optional)' },
    ];
    expect(formatCheckTable(checks)).toBe([
      'feature               status             detail',
      'btf                   ok                 /sys/kernel/btf/vmlinux present',
      'perf_event cpu-clock  MISSING            perf_event_open: EACCES',
      '                                         -> run as root or grant CAP_PERFMON',
      'kprobes               absent (optional)  ENOENT',
      '                                         -> needs kprobes support (optional)',
      '',
      'profiling cannot work here: fix perf_event cpu-clock',
      '',
    ].join('\n'));
  });

  it('exits 0 on this kernel and reports every required feature, and bpf_loop, ok', async () => {
    const { stdout } = await run('node', [cliPath, 'check']);
    for (const name of ['btf', 'bpf', 'perf_event cpu-clock', 'tp_btf', 'raw_tp', 'uprobes', 'capabilities', 'kernel version']) {
      expect(stdout).toMatch(new RegExp(`^${name}\\s+ok\\s`, 'm'));
    }
    // optional, but this kernel is newer than its 5.17 minimum
    expect(stdout).toMatch(/^bpf_loop\s+ok\s+perf_event programs may call bpf_loop$/m);
    expect(stdout).toContain('profiling can work here');
  });
});
