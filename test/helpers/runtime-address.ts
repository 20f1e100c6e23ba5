import { execFileSync } from 'node:child_process';

/** PT_LOAD segments from `readelf -lW`: offset, vaddr, filesz. */
export function readelfLoads(path: string): { offset: bigint; vaddr: bigint; fileSize: bigint }[] {
  const out = execFileSync('readelf', ['-lW', path], { encoding: 'utf8' });
  const loads = [];
  for (const line of out.split('\n')) {
    const m = /^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)/.exec(line);
    if (m !== null) loads.push({ offset: BigInt(`0x${m[1]!}`), vaddr: BigInt(`0x${m[2]!}`), fileSize: BigInt(`0x${m[3]!}`) });
  }
  return loads;
}

/**
 * Runtime address of file vaddr `value` of `file` in `pid`, computed the way
 * perf does from readelf segments and /proc/PID/maps, independently of src/.
 */
export function runtimeAddress(pid: number, file: string, value: bigint): bigint {
  const seg = readelfLoads(file).find((s) => value >= s.vaddr && value < s.vaddr + s.fileSize);
  if (seg === undefined) throw new Error(`no segment for 0x${value.toString(16)} in ${file}`);
  const fileOffset = value - seg.vaddr + seg.offset;
  const maps = execFileSync('cat', [`/proc/${pid}/maps`], { encoding: 'utf8' });
  for (const line of maps.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s+(\S+)$/.exec(line);
    if (m === null || m[4] !== file) continue;
    const start = BigInt(`0x${m[1]!}`);
    const end = BigInt(`0x${m[2]!}`);
    const off = BigInt(`0x${m[3]!}`);
    if (fileOffset >= off && fileOffset < off + (end - start)) return start + fileOffset - off;
  }
  throw new Error(`no mapping of ${file} covers offset 0x${fileOffset.toString(16)} in pid ${pid}`);
}
