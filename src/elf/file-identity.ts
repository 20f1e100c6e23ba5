/** Which file, in which version: the key per-file caches of tables use. */
import { statSync } from 'node:fs';

/** Device, inode, mtime and size of the file at `path` (one stat, links followed); throws the stat error. */
export function fileIdentity(path: string): string {
  const st = statSync(path, { bigint: true });
  return `${st.dev}:${st.ino}:${st.mtimeNs}:${st.size}`;
}
