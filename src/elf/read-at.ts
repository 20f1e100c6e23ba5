/**
 * One positioned read of a whole buffer: readSync may return fewer bytes
 * than asked (a signal, a pipe-backed or network file), so it loops.
 */
import { readSync } from 'node:fs';

/** Fills `buf` from `position` of `fd` until it is full or the file ends; returns the bytes read. */
export function readAt(fd: number, buf: Uint8Array, position: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}
