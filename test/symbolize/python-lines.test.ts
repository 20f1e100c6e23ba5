// CPython line tables decoded to lines: golden data printed by each version's own
// co_lines() / dis.findlinestarts() for the same function (see the comment below).
import { describe, expect, it } from 'vitest';
import { pythonLine } from '../../src/symbolize/python-lines.js';

// def f(n):            # line 1
//     a = 0
//     for i in range(n):
//         if i % 3:
//             a += i
//         else:
//             a -= 1
//     return (a +
//             n)
const golden: { minor: number; table: string; lines: [number, number][] }[] = [
  {
    minor: 9, table: '000104010c0108010a020a01020102ff',
    lines: [[0, 2], [2, 2], [4, 3], [14, 3], [16, 4], [22, 4], [24, 5], [32, 5], [34, 7], [42, 7], [44, 8], [46, 9], [48, 8], [50, 8]],
  },
  { minor: 10, table: '04010c0108010a010a020201020104ff', lines: [[0, 2], [4, 3], [16, 4], [24, 5], [34, 7], [44, 8], [46, 9], [48, 8]] },
  {
    minor: 11,
    table: '8000d808098041dd0d12903189588c58f000040513f0000405138801d80b0c88718935f000030913d80c0d9011894688418841e00c0d9011894688418841d80c0dd80c0df103010d0ef00001050f',
    lines: [[0, 1], [2, 2], [4, 2], [6, 3], [18, 3], [20, 3], [24, 3], [34, 3], [36, 3], [38, 3], [40, 4], [42, 4], [44, 4], [48, 4], [50, 5],
      [52, 5], [54, 5], [58, 5], [60, 5], [62, 7], [64, 7], [66, 7], [70, 7], [72, 7], [74, 8], [76, 9], [78, 8], [82, 8]],
  },
  {
    minor: 12,
    table: '8000d808098041dc0d1290318b58f2000405138801d80b0c88718a35d80c0d901189468941e00c0d901189468941f009040513f00a000d0ed80c0df103010d0ef00001050f',
    lines: [[0, 1], [2, 2], [6, 3], [34, 4], [44, 5], [56, 7], [68, 3], [70, 8], [72, 9], [74, 8]],
  },
  {
    minor: 13,
    table: '8000d808098041dc0d1290318e588801d80b0c88718f35d80c0d89468a41e00c0d901189468a41f109000e16f00a000d0ed80c0df103010d0ef00001050f',
    lines: [[0, 1], [2, 2], [6, 3], [34, 4], [54, 5], [66, 7], [80, 3], [84, 8], [86, 9], [88, 8]],
  },
];

describe('pythonLine', () => {
  for (const g of golden) {
    it(`3.${g.minor}: the line of every instruction CPython itself reports`, () => {
      const table = Buffer.from(g.table, 'hex');
      const got = g.lines.map(([offset]) => [offset, pythonLine(g.minor, table, 1, offset)]);
      expect(got).toEqual(g.lines);
    });
  }

  it('falls back to the first line on an empty or corrupt table', () => {
    expect(pythonLine(11, Buffer.alloc(0), 7, 10)).toBe(7);
    expect(pythonLine(11, Buffer.from([0x01, 0x02]), 7, 10)).toBe(7);
    expect(pythonLine(9, Buffer.alloc(0), 7, 10)).toBe(7);
  });
});
