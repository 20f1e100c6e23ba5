/**
 * The vDSO as a file: the kernel maps the same image into every 64-bit
 * process, so the agent copies its own from /proc/self/mem once and
 * symbolizes every process's [vdso] frames (clock_gettime, ...) with it.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseProcMaps } from '../process/proc-maps.js';

/**
 * Writes this process's vDSO image to a new file under `dir` (default the
 * OS temp dir) and returns its path; throws "extracting the vdso: cause".
 */
export function extractVdsoImage(dir: string = tmpdir()): string {
  try {
    const vdso = parseProcMaps(readFileSync('/proc/self/maps', 'utf8')).find((m) => m.kind === 'vdso');
    if (vdso === undefined) throw new Error('no [vdso] mapping in /proc/self/maps');
    const size = Number(vdso.end - vdso.start);
    const buf = Buffer.alloc(size);
    const fd = openSync('/proc/self/mem', 'r');
    try {
      let done = 0;
      while (done < size) {
        const n = readSync(fd, buf, done, size - done, vdso.start + BigInt(done));
        if (n === 0) throw new Error('short read of /proc/self/mem');
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    const path = join(mkdtempSync(join(dir, 'meshprof-vdso-')), 'vdso.so');
    writeFileSync(path, buf);
    return path;
  } catch (err) {
    throw new Error(`extracting the vdso: ${(err as Error).message}`);
  }
}
