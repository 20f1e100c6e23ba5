import { beforeAll, describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/elf/elf-file.js';
import { readEhFrame, readEhFrameHdr } from '../../src/elf/eh-frame-section.js';
import { buildUnwindTable, type UnwindTable } from '../../src/unwind/unwind-table.js';
import { encodeUnwindTable, findUnwindRow } from '../../src/unwind/unwind-table-codec.js';
import {
  CFA_END, CFA_NONE, CFA_PLT, CFA_RBP, CFA_RSP, CFA_UNSUPPORTED, RBP_CFA_OFFSET, RBP_UNCHANGED, type CfaType, type RbpType,
} from '../../src/unwind/unwind-row.js';
import { readelfFdes, type ReadelfRow } from './readelf-frames.js';
import { compileFixture, OMIT_FRAME_POINTER } from '../helpers/compile-fixture.js';

interface Comparison {
  table: UnwindTable;
  /** readelf rows compared. */
  checked: number;
  /** readelf rows whose rule the table cannot express (and that it marks CFA_UNSUPPORTED). */
  unsupported: number;
  byType: Map<CfaType, number>;
  /** FDE ends not followed by another FDE, checked to be CFA_NONE gaps. */
  gaps: number;
  mismatches: string[];
  fdes: number;
  hdrMatches: boolean;
}

interface Expected {
  cfaType: CfaType;
  cfaOffset?: number;
  rbpType?: RbpType;
  rbpOffset?: number;
}

function expectedRule(r: ReadelfRow, inPlt: boolean): Expected {
  const ra = r.columns.get('ra');
  if (ra === 'u') return { cfaType: CFA_END };
  if (ra !== 'c-8') return { cfaType: CFA_UNSUPPORTED };
  let e: Expected;
  const m = /^(rsp|rbp)\+(-?\d+)$/.exec(r.cfa);
  if (m !== null) e = { cfaType: m[1] === 'rsp' ? CFA_RSP : CFA_RBP, cfaOffset: Number(m[2]) };
  else if (r.cfa === 'exp' && inPlt) return { cfaType: CFA_PLT, cfaOffset: 8 };
  else return { cfaType: CFA_UNSUPPORTED };
  const rbp = r.columns.get('rbp');
  const saved = rbp === undefined ? null : /^c([+-]\d+)$/.exec(rbp);
  if (rbp === undefined || rbp === 'u' || rbp === 's') return { ...e, rbpType: RBP_UNCHANGED, rbpOffset: 0 };
  if (saved !== null) return { ...e, rbpType: RBP_CFA_OFFSET, rbpOffset: Number(saved[1]) };
  return { ...e, rbpType: undefined };
}

/** Builds our table for `path` and checks it at every readelf row address. */
function compare(path: string): Comparison {
  const elf = ElfFile.open(path);
  try {
    const eh = readEhFrame(elf);
    if (eh === undefined) throw new Error(`${path} has no .eh_frame`);
    const table = buildUnwindTable(eh);
    const encoded = encodeUnwindTable(table.rows);
    const plts = ['.plt', '.plt.sec', '.plt.got']
      .map((n) => elf.section(n))
      .filter((s) => s !== undefined)
      .map((s) => [s.address, s.address + BigInt(s.size)] as const);
    const hdr = readEhFrameHdr(elf);
    const hdrPcs = (hdr?.table ?? []).map((e) => e.pc).join(',');
    const ehPcs = [...eh.fdes].map((f) => f.pcBegin).sort((a, b) => (a < b ? -1 : 1)).join(',');
    const fdes = readelfFdes(path).filter((f) => f.pcEnd > f.pcBegin);
    const starts = new Set(fdes.map((f) => f.pcBegin));
    // For "is this FDE end covered by another FDE": ends sorted by start, with a running maximum.
    const byStart = [...fdes].sort((a, b) => (a.pcBegin < b.pcBegin ? -1 : a.pcBegin > b.pcBegin ? 1 : 0));
    const maxEnd: bigint[] = [];
    byStart.forEach((f, i) => maxEnd.push(i === 0 || f.pcEnd > maxEnd[i - 1]! ? f.pcEnd : maxEnd[i - 1]!));
    const covered = (pc: bigint): boolean => {
      let lo = 0;
      let hi = byStart.length - 1;
      let last = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (byStart[mid]!.pcBegin <= pc) { last = mid; lo = mid + 1; } else hi = mid - 1;
      }
      return last >= 0 && maxEnd[last]! > pc;
    };
    const c: Comparison = { table, checked: 0, unsupported: 0, byType: new Map(), gaps: 0, mismatches: [], fdes: fdes.length, hdrMatches: hdrPcs === ehPcs };
    const fail = (msg: string): void => {
      if (c.mismatches.length < 20) c.mismatches.push(msg);
    };
    for (const fde of fdes) {
      for (const r of fde.rows) {
        if (r.loc >= fde.pcEnd) continue;
        c.checked++;
        const want = expectedRule(r, plts.some(([lo, hi]) => r.loc >= lo && r.loc < hi));
        const got = findUnwindRow(encoded, r.loc);
        c.byType.set(want.cfaType, (c.byType.get(want.cfaType) ?? 0) + 1);
        if (want.cfaType === CFA_UNSUPPORTED) c.unsupported++;
        const where = `0x${r.loc.toString(16)} (readelf cfa=${r.cfa} rbp=${r.columns.get('rbp')} ra=${r.columns.get('ra')})`;
        if (got === undefined) { fail(`${where}: no row`); continue; }
        if (got.cfaType !== want.cfaType) { fail(`${where}: cfa type ${got.cfaType}, want ${want.cfaType}`); continue; }
        if (want.cfaOffset !== undefined && got.cfaOffset !== want.cfaOffset) fail(`${where}: cfa offset ${got.cfaOffset}`);
        if (want.cfaType !== CFA_RSP && want.cfaType !== CFA_RBP) continue;
        if (want.rbpType === undefined) { c.unsupported++; continue; }
        if (got.rbpType !== want.rbpType || got.rbpOffset !== want.rbpOffset) fail(`${where}: rbp ${got.rbpType}/${got.rbpOffset}`);
      }
      if (!starts.has(fde.pcEnd) && !covered(fde.pcEnd)) {
        c.gaps++;
        const got = findUnwindRow(encoded, fde.pcEnd);
        if (got?.cfaType !== CFA_NONE) fail(`0x${fde.pcEnd.toString(16)}: fde end is not a gap (type ${got?.cfaType})`);
      }
    }
    return c;
  } finally {
    elf.close();
  }
}

function summary(name: string, c: Comparison): string {
  const types = [...c.byType].map(([t, n]) => `${t}:${n}`).join(' ');
  return `${name}: ${c.fdes} fdes, ${c.checked} readelf rows checked, ${c.unsupported} unsupported, ${c.gaps} gaps, ` +
    `${c.table.stats.rows} table rows (${c.table.stats.cfaRows} before merging), types ${types}`;
}

describe('unwind table against readelf --debug-dump=frames-interp', () => {
  let fixture: string;
  let fixtureCc: string;
  beforeAll(() => {
    fixture = compileFixture('unwind-chain.c', { flags: OMIT_FRAME_POINTER });
    fixtureCc = compileFixture('unwind-chain.cc', { flags: OMIT_FRAME_POINTER });
  });

  it('matches every row of the C fixture, rbp-based and PLT rows included', () => {
    const c = compare(fixture);
    console.log(summary('fixture', c));
    expect(c.mismatches).toEqual([]);
    expect(c.unsupported).toBe(0);
    expect(c.checked).toBeGreaterThan(200);
    expect(c.byType.get(CFA_RBP) ?? 0).toBeGreaterThanOrEqual(4);
    expect(c.byType.get(CFA_PLT)).toBe(1);
    expect(c.byType.get(CFA_END)).toBe(1); // _start
    expect(c.hdrMatches).toBe(true);
  });

  it('matches every row of the C++ fixture ("zPLR" CIE with personality and LSDA)', () => {
    const c = compare(fixtureCc);
    console.log(summary('fixture-cc', c));
    expect(c.mismatches).toEqual([]);
    expect(c.unsupported).toBe(0);
    expect(c.checked).toBeGreaterThan(50);
    expect(c.hdrMatches).toBe(true);
  });

  it("matches Debian's libc at every row, with few unsupported rules", () => {
    const c = compare('/lib/x86_64-linux-gnu/libc.so.6');
    console.log(summary('libc', c));
    expect(c.mismatches).toEqual([]);
    expect(c.checked).toBeGreaterThan(20_000);
    expect(c.unsupported).toBeLessThanOrEqual(20);
    expect(c.byType.get(CFA_PLT)).toBeGreaterThanOrEqual(1);
    expect(c.table.stats.invalidFdes).toBe(0);
    expect(c.hdrMatches).toBe(true);
  });

  it("matches Debian's nginx at every row", () => {
    const c = compare('/usr/sbin/nginx');
    console.log(summary('nginx', c));
    expect(c.mismatches).toEqual([]);
    expect(c.checked).toBeGreaterThan(15_000);
    expect(c.unsupported).toBeLessThanOrEqual(5);
    expect(c.table.stats.invalidFdes).toBe(0);
    expect(c.hdrMatches).toBe(true);
  });
});
