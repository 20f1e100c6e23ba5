import { describe, expect, it } from 'vitest';
import { parsePeersOptions } from '../../bench/peers.js';
import { formatStartup } from '../../bench/peers-table.js';

describe('peers --startup', () => {
  it('reads --startup and --baseline, and leaves the other modes off', () => {
    const o = parsePeersOptions(['--startup', '--baseline', '/work/wt/old']);
    expect(o).toMatchObject({ startupOnly: true, baseline: '/work/wt/old', cliCost: false, soak: false });
    expect(parsePeersOptions([]).startupOnly).toBe(false);
  });

  it('puts the baseline rows under this checkout\'s, as medians against node -e 0', () => {
    const table = formatStartup({
      runs: 3,
      nodeBareMs: [100, 120, 110],
      helpMs: [200, 220, 210],
      recordReadyMs: [330, 340, 335],
      baseline: { label: 'baseline /old', helpMs: [600, 610, 590], recordReadyMs: [1300, 1500, 1400] },
    });
    const rows = table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| command') && !l.startsWith('| ---'));
    expect(rows.map((r) => r.split('|')[1]!.trim())).toEqual([
      'node -e 0', 'meshprof --help', 'baseline /old: --help', 'meshprof record: exec → "recording" line', 'baseline /old: record',
    ]);
    expect(rows[2]).toContain('| 600 |');
    expect(rows[4]).toContain('| 1400 | 1300–1500 | 12.7× |');
  });
});
