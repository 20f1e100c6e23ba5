/**
 * Records a running program with the real CLI (`meshprof record --pid`) and
 * reads the result back as plain stacks, so a test asserts exact frame
 * names, kinds and source lines of a recorded profile.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import { expect } from 'vitest';
import { resolveRequest } from './resolve-request.js';
import { startCli } from './start-cli.js';

/** One folded line: frames root first (process name first), and its count. */
export interface FoldedStack {
  readonly frames: readonly string[];
  readonly count: number;
}

/** A recorded frame with its source position, from a pprof file. */
export interface PprofFrame {
  readonly name: string;
  readonly fileName: string;
  readonly line: number;
}

/** Records `pid` with `meshprof record` into each of `outputs` at once (one CLI per file). */
export async function recordPid(pid: number, outputs: readonly string[], duration = '3s', extra: readonly string[] = []): Promise<void> {
  const runs = outputs.map((out) => startCli(['record', '--pid', String(pid), '--duration', duration, '-o', out, ...extra]));
  for (const r of runs) {
    const result = await r.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('wrote ');
  }
}

/** Parses a folded file. */
export function readFolded(file: string): FoldedStack[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const sp = l.lastIndexOf(' ');
      return { frames: l.slice(0, sp).split(';'), count: Number(l.slice(sp + 1)) };
    });
}

/** Samples of the stacks whose frames contain `chain` as consecutive elements. */
export function countChain(stacks: readonly FoldedStack[], chain: readonly string[]): number {
  let n = 0;
  for (const s of stacks) {
    for (let i = 0; i + chain.length <= s.frames.length; i++) {
      if (chain.every((c, j) => s.frames[i + j] === c)) {
        n += s.count;
        break;
      }
    }
  }
  return n;
}

/** Total samples of a folded profile. */
export function total(stacks: readonly FoldedStack[]): number {
  return stacks.reduce((n, s) => n + s.count, 0);
}

/** Every frame of a gzipped pprof, leaf first per sample, with file:line. */
export function readPprofFrames(file: string): PprofFrame[][] {
  const p = PprofProfile.decode(gunzipSync(readFileSync(file)));
  const str = (i: number | bigint): string => p.stringTable.strings[Number(i)] ?? '';
  const fns = new Map(p.function.map((f) => [Number(f.id), f]));
  const locs = new Map(p.location.map((l) => [Number(l.id), l]));
  return p.sample.map((s) =>
    s.locationId.map((id) => {
      const line = locs.get(Number(id))?.line[0];
      const fn = fns.get(Number(line?.functionId ?? 0));
      return { name: fn === undefined ? '?' : str(fn.name), fileName: fn === undefined ? '' : str(fn.filename), line: Number(line?.line ?? 0) };
    }),
  );
}

/** Frame name → the set of `profile.frame.type` values it carries in an OTLP protobuf file. */
export function readOtlpKinds(file: string): Map<string, Set<string>> {
  const kinds = new Map<string, Set<string>>();
  for (const s of resolveRequest(readFileSync(file)).samples) {
    s.functions.forEach((f, i) => {
      let set = kinds.get(f);
      if (set === undefined) kinds.set(f, (set = new Set()));
      set.add(s.kinds[i] ?? '');
    });
  }
  return kinds;
}
