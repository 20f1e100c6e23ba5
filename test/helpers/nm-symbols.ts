import { execFileSync } from 'node:child_process';

/** `nm` symbol values of `path` (defined text symbols, dynamic table with `dynamic`). */
export function nmSymbols(path: string, dynamic = false): Map<string, { value: bigint; size: bigint }> {
  const out = execFileSync('nm', [...(dynamic ? ['-D'] : []), '-S', '--defined-only', path], { encoding: 'utf8' });
  const syms = new Map<string, { value: bigint; size: bigint }>();
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) [tTwW] (\S+)$/.exec(line);
    if (m !== null) syms.set(m[3]!.replace(/@.*$/, ''), { value: BigInt(`0x${m[1]!}`), size: BigInt(`0x${m[2]!}`) });
  }
  return syms;
}
