/**
 * Finds the separate debug file of a stripped ELF binary the way GDB does:
 * by GNU build-id under `/usr/lib/debug/.build-id/xx/rest.debug`, then by
 * `.gnu_debuglink` next to the binary, in its `.debug/` subdirectory and
 * under `/usr/lib/debug/<dir>/`, checking the link's CRC32.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { crc32 } from 'node:zlib';

/** What is known about the stripped binary. */
export interface DebugFileQuery {
  /** Path of the binary as the process sees it (inside `root`). */
  readonly path: string;
  /** GNU build-id, lowercase hex. */
  readonly buildId?: string | undefined;
  /** Contents of `.gnu_debuglink`. */
  readonly debugLink?: { readonly name: string; readonly crc: number } | undefined;
}

/** A debug file found for a binary. */
export interface DebugFileMatch {
  /** Host path of the debug file (with `root` prefixed). */
  readonly path: string;
  readonly via: 'build-id' | 'debuglink';
}

/** Where to look. */
export interface DebugFileLocatorOptions {
  /** Filesystem root the paths live in: `/proc/PID/root` for a container; default `/`. */
  readonly root?: string;
  /** Global debug directories inside root; default `['/usr/lib/debug']`. */
  readonly debugDirs?: readonly string[];
}

/** CRC32 of a whole file as `.gnu_debuglink` records it (the zlib polynomial). */
export function fileCrc32(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let crc = 0;
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) crc = crc32(buf.subarray(0, n), crc);
    return crc;
  } finally {
    closeSync(fd);
  }
}

const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** Candidate paths inside root, in GDB's order, with how each was derived. */
export function debugFileCandidates(query: DebugFileQuery, debugDirs: readonly string[] = ['/usr/lib/debug']): DebugFileMatch[] {
  const out: DebugFileMatch[] = [];
  const id = query.buildId?.toLowerCase();
  if (id !== undefined && /^[0-9a-f]{4,}$/.test(id)) {
    for (const dir of debugDirs) {
      out.push({ path: posix.join(dir, '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`), via: 'build-id' });
    }
  }
  const link = query.debugLink?.name;
  // A link is a bare file name; anything else could escape the root.
  if (link !== undefined && link !== '' && !link.includes('/')) {
    const dir = posix.dirname(query.path);
    out.push({ path: posix.join(dir, link), via: 'debuglink' });
    out.push({ path: posix.join(dir, '.debug', link), via: 'debuglink' });
    for (const debugDir of debugDirs) out.push({ path: posix.join(debugDir, dir, link), via: 'debuglink' });
  }
  return out;
}

/**
 * Returns the first existing debug file for `query`, or undefined. Build-id
 * matches are trusted by name; debuglink matches must have the link's CRC32,
 * which also keeps the binary itself from matching its own link.
 */
export function locateDebugFile(query: DebugFileQuery, opts: DebugFileLocatorOptions = {}): DebugFileMatch | undefined {
  const root = opts.root ?? '/';
  const self = posix.join(root, query.path);
  for (const candidate of debugFileCandidates(query, opts.debugDirs)) {
    const hostPath = posix.join(root, candidate.path);
    if (hostPath === self || !isFile(hostPath)) continue;
    if (candidate.via === 'debuglink' && fileCrc32(hostPath) !== query.debugLink?.crc) continue;
    return { path: hostPath, via: candidate.via };
  }
  return undefined;
}
