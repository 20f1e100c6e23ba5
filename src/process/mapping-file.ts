/**
 * Finds a readable path for the file behind one mapping of one process,
 * as the agent sees it: through the process's root (containers), its
 * map_files entry (deleted files), or, once the process is gone, the path in
 * the agent's or the host's mount namespace when the inode still matches.
 */
import { statSync } from 'node:fs';
import type { ProcMapping } from './proc-maps.js';

/** Candidate paths for `mapping` of `pid`, best first, ending with the ones that must match the inode. */
export function mappingFileCandidates(procRoot: string, pid: number, mapping: ProcMapping): { path: string; mustMatch: boolean }[] {
  const range = `${mapping.start.toString(16)}-${mapping.end.toString(16)}`;
  const viaRoot = { path: `${procRoot}/${pid}/root${mapping.path}`, mustMatch: false };
  const viaMapFiles = { path: `${procRoot}/${pid}/map_files/${range}`, mustMatch: false };
  const own = mapping.deleted ? [viaMapFiles, viaRoot] : [viaRoot, viaMapFiles];
  return [...own, { path: mapping.path, mustMatch: true }, { path: `${procRoot}/1/root${mapping.path}`, mustMatch: true }];
}

/**
 * The first candidate whose inode equals the mapping's; failing that, the
 * first process-specific one that exists (overlay filesystems may report a
 * different inode through the mount than in maps). Undefined when none exists.
 */
export function resolveMappingFile(procRoot: string, pid: number, mapping: ProcMapping): string | undefined {
  if (mapping.kind !== 'file' || !mapping.path.startsWith('/')) return undefined;
  let fallback: string | undefined;
  for (const c of mappingFileCandidates(procRoot, pid, mapping)) {
    let ino: bigint;
    try {
      // A missing path (the process gone, a file only in another mount namespace) is the common miss
      // for every exec'ed program: answered without building an exception.
      const st = statSync(c.path, { bigint: true, throwIfNoEntry: false });
      if (st === undefined) continue;
      ino = st.ino;
    } catch {
      continue;
    }
    if (ino === mapping.inode) return c.path;
    if (!c.mustMatch) fallback ??= c.path;
  }
  return fallback;
}
