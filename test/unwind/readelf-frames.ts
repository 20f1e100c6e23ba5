/**
 * Test helper: parses `readelf --debug-dump=frames-interp -W` output, the
 * independent oracle the unwind tables are checked against.
 */
import { spawnSync } from 'node:child_process';

/** One readelf table row: register name -> rule text ("c-16", "u", ...). */
export interface ReadelfRow {
  readonly loc: bigint;
  readonly cfa: string;
  readonly columns: ReadonlyMap<string, string>;
}

/** One FDE with its interpreted rows (the CIE's initial row when readelf printed none). */
export interface ReadelfFde {
  readonly offset: number;
  readonly pcBegin: bigint;
  readonly pcEnd: bigint;
  readonly rows: readonly ReadelfRow[];
}

/** Runs readelf on `path` and parses every FDE. */
export function readelfFdes(path: string): ReadelfFde[] {
  // readelf exits 1 on libc.so.6 after printing every frame (it complains
  // silently about other sections), so judge by the output, not the status.
  const run = spawnSync('readelf', ['--debug-dump=frames-interp', '-W', path], { encoding: 'utf8', maxBuffer: 512 << 20 });
  if (run.error !== undefined || !run.stdout.includes('FDE')) throw new Error(`running readelf on ${path}: ${run.error?.message ?? run.stderr}`);
  return parseReadelfFrames(run.stdout);
}

/** Parses frames-interp output. */
export function parseReadelfFrames(text: string): ReadelfFde[] {
  const cieRows = new Map<number, ReadelfRow[]>();
  const fdes: ReadelfFde[] = [];
  let current: { kind: 'cie'; rows: ReadelfRow[] } | { kind: 'fde'; cie: number; fde: Omit<ReadelfFde, 'rows'>; rows: ReadelfRow[] } | undefined;
  let names: string[] = [];
  const finish = (): void => {
    if (current?.kind !== 'fde') return;
    const { fde } = current;
    // readelf prints no table for an FDE without instructions: the CIE's initial row applies.
    const rows = current.rows.length > 0 ? current.rows : (cieRows.get(current.cie) ?? []).map((r) => ({ ...r, loc: fde.pcBegin }));
    fdes.push({ ...fde, rows });
  };
  for (const line of text.split('\n')) {
    const cie = /^([0-9a-f]{8,16}) [0-9a-f]+ [0-9a-f]+ CIE/.exec(line);
    const fde = /^([0-9a-f]{8,16}) [0-9a-f]+ [0-9a-f]+ FDE cie=([0-9a-f]+) pc=([0-9a-f]+)\.\.([0-9a-f]+)/.exec(line);
    if (cie !== null || fde !== null) {
      finish();
      names = [];
      if (cie !== null) {
        const rows: ReadelfRow[] = [];
        cieRows.set(parseInt(cie[1]!, 16), rows);
        current = { kind: 'cie', rows };
      } else {
        const [, off, cieOff, lo, hi] = fde!;
        current = { kind: 'fde', cie: parseInt(cieOff!, 16), fde: { offset: parseInt(off!, 16), pcBegin: BigInt(`0x${lo}`), pcEnd: BigInt(`0x${hi}`) }, rows: [] };
      }
      continue;
    }
    const header = /^\s+LOC\s+CFA\s*(.*)$/.exec(line);
    if (header !== null) {
      names = header[1]!.trim().split(/\s+/).filter((s) => s !== '');
      continue;
    }
    const row = /^([0-9a-f]{16}) (.+)$/.exec(line);
    if (row !== null && current !== undefined) {
      // "r10 (r10)" (a register rule) is one value that readelf prints with a space.
      const tokens: string[] = [];
      for (const t of row[2]!.trim().split(/\s+/)) {
        if (t.startsWith('(') && tokens.length > 0) tokens[tokens.length - 1] += ` ${t}`;
        else tokens.push(t);
      }
      const [cfa, ...rest] = tokens;
      const columns = new Map<string, string>();
      names.forEach((n, i) => columns.set(n, rest[i] ?? 'u'));
      current.rows.push({ loc: BigInt(`0x${row[1]}`), cfa: cfa!, columns });
    }
  }
  finish();
  return fdes;
}
