/** Parsing of /proc/PID/maps. */

/** What backs a mapping. */
export type ProcMappingKind = 'file' | 'anon' | 'heap' | 'stack' | 'vdso' | 'vsyscall' | 'special';

/** One line of /proc/PID/maps. */
export interface ProcMapping {
  readonly start: bigint;
  /** Exclusive end address. */
  readonly end: bigint;
  /** The four permission characters, e.g. "r-xp". */
  readonly perms: string;
  readonly readable: boolean;
  readonly executable: boolean;
  /** File offset of `start` (0 for anonymous mappings). */
  readonly offset: bigint;
  readonly devMajor: number;
  readonly devMinor: number;
  readonly inode: bigint;
  /** Path without the " (deleted)" suffix; "" for anonymous memory; "[vdso]" etc. for special ones. */
  readonly path: string;
  /** The file was unlinked after it was mapped. */
  readonly deleted: boolean;
  readonly kind: ProcMappingKind;
}

const LINE = /^([0-9a-f]+)-([0-9a-f]+)\s+([-rwxps]{4})\s+([0-9a-f]+)\s+([0-9a-f]+):([0-9a-f]+)\s+(\d+)\s*(.*)$/;
const DELETED = ' (deleted)';

/** Parses one maps line; undefined for a line that is not a mapping. */
export function parseProcMapsLine(line: string): ProcMapping | undefined {
  const m = LINE.exec(line);
  if (m === null) return undefined;
  const [, start, end, perms, offset, major, minor, inode, rest] = m as unknown as [string, string, string, string, string, string, string, string, string];
  let path = rest;
  const deleted = path.endsWith(DELETED);
  if (deleted) path = path.slice(0, -DELETED.length);
  return {
    start: BigInt(`0x${start}`),
    end: BigInt(`0x${end}`),
    perms,
    readable: perms[0] === 'r',
    executable: perms[2] === 'x',
    offset: BigInt(`0x${offset}`),
    devMajor: parseInt(major, 16),
    devMinor: parseInt(minor, 16),
    inode: BigInt(inode),
    path,
    deleted,
    kind: kindOf(path, inode),
  };
}

/** Parses a whole maps file; malformed lines are skipped. Result is sorted by start. */
export function parseProcMaps(text: string): ProcMapping[] {
  const out: ProcMapping[] = [];
  for (const line of text.split('\n')) {
    const m = parseProcMapsLine(line);
    if (m !== undefined) out.push(m);
  }
  // The kernel already lists mappings in address order; sort defensively for binary search.
  out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return out;
}

/** The mapping containing `address` in a start-sorted list, by binary search. */
export function findMapping(mappings: readonly ProcMapping[], address: bigint): ProcMapping | undefined {
  let lo = 0;
  let hi = mappings.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const m = mappings[mid]!;
    if (address < m.start) hi = mid - 1;
    else if (address >= m.end) lo = mid + 1;
    else return m;
  }
  return undefined;
}

function kindOf(path: string, inode: string): ProcMappingKind {
  if (path === '') return 'anon';
  if (path === '[heap]') return 'heap';
  if (path === '[stack]' || path.startsWith('[stack:')) return 'stack';
  if (path === '[vdso]') return 'vdso';
  if (path === '[vsyscall]') return 'vsyscall';
  if (path.startsWith('[') || (inode === '0' && !path.startsWith('/'))) return 'special';
  // memfd:, /dev/zero, SysV shm and similar still have a path and are read like files.
  return 'file';
}
