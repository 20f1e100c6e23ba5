/**
 * Which file, and in which version: the one answer every per-file cache of
 * tables uses (symbols, line tables, unwind tables). A key names the file
 * by device and inode; a stamp says its contents are unchanged since.
 */
import { statSync, type BigIntStats } from 'node:fs';

/** A file's key and stamp, from one stat. */
export interface FileIdentity {
  /** `major:minor:inode`: the same string for a /proc/PID/maps line and a stat of its path. */
  readonly key: string;
  /** `size:mtime:ctime`; ctime too, since a rewrite can put the old mtime back but not the old ctime. */
  readonly stamp: string;
}

/** Names a file by device and inode, as /proc/PID/maps prints them. */
export function fileKey(devMajor: number, devMinor: number, inode: bigint): string {
  return `${devMajor}:${devMinor}:${inode}`;
}

/** Says a file's contents are unchanged: equal stamps of one key mean the same bytes. */
export function fileStamp(st: BigIntStats): string {
  return `${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** Key and stamp of the file at `path` (one stat, links followed); throws the stat error. */
export function statFileIdentity(path: string): FileIdentity {
  const st = statSync(path, { bigint: true });
  // glibc's major()/minor(): the split st_dev encoding /proc/PID/maps decodes too
  const major = ((st.dev >> 8n) & 0xfffn) | ((st.dev >> 32n) & ~0xfffn);
  const minor = (st.dev & 0xffn) | ((st.dev >> 12n) & ~0xffn);
  return { key: fileKey(Number(major), Number(minor), st.ino), stamp: fileStamp(st) };
}

/** Key and stamp of the file at `path` in one string, to key caches of what was read from it; throws the stat error. */
export function fileIdentity(path: string): string {
  const id = statFileIdentity(path);
  return `${id.key}@${id.stamp}`;
}
