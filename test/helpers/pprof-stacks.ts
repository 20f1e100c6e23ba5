import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';

/** One pprof's interval and the stacks of one pid: `sampleType|leaf;...;root` → summed value. */
export interface PprofStacks {
  readonly timeNanos: bigint;
  readonly durationNanos: bigint;
  readonly stacks: Record<string, number>;
}

/** Reads a (gzipped) pprof and keeps the samples whose `pid` label is pid. */
export function pprofStacksOf(bytes: Uint8Array, pid: number): PprofStacks {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const p = PprofProfile.decode(raw);
  const str = (i: number | bigint): string => p.stringTable.strings[Number(i)] ?? '';
  const fns = new Map(p.function.map((f) => [Number(f.id), str(f.name)]));
  const locs = new Map(p.location.map((l) => [Number(l.id), l.line.map((ln) => fns.get(Number(ln.functionId)) ?? '?')]));
  const types = p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`);
  const stacks: Record<string, number> = {};
  for (const s of p.sample) {
    const pidLabel = s.label.find((l) => str(l.key) === 'pid');
    if (Number(pidLabel?.num ?? -1) !== pid) continue;
    const key = s.locationId.flatMap((id) => locs.get(Number(id)) ?? ['?']).join(';');
    s.value.forEach((v, i) => {
      const k = `${types[i]}|${key}`;
      if (Number(v) !== 0) stacks[k] = (stacks[k] ?? 0) + Number(v);
    });
  }
  return { timeNanos: BigInt(p.timeNanos), durationNanos: BigInt(p.durationNanos), stacks };
}

/** pprofStacksOf for a file. */
export function pprofFileStacks(path: string, pid: number): PprofStacks {
  return pprofStacksOf(readFileSync(path), pid);
}

/** The distinct `pid` labels of a (gzipped) pprof's samples. */
export function pprofPids(bytes: Uint8Array): number[] {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const p = PprofProfile.decode(raw);
  const pidKey = p.stringTable.strings.indexOf('pid');
  const pids = new Set<number>();
  for (const s of p.sample) for (const l of s.label) if (Number(l.key) === pidKey) pids.add(Number(l.num));
  return [...pids];
}
