import { mkdtempSync, readFileSync, realpathSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileIdentity, fileKey, statFileIdentity } from '../../src/elf/file-identity.js';
import { parseProcMaps } from '../../src/process/proc-maps.js';

describe('file identity', () => {
  it('names a mapped file the same from /proc/PID/maps and from a stat of its path', () => {
    const exe = realpathSync('/proc/self/exe');
    const m = parseProcMaps(readFileSync('/proc/self/maps', 'utf8')).find((x) => x.path === exe);
    expect(m).toBeDefined();
    expect(statFileIdentity(exe).key).toBe(fileKey(m!.devMajor, m!.devMinor, m!.inode));
  });

  it('keeps the key but changes the stamp when the file is rewritten in place, even with its old mtime', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshprof-identity-'));
    try {
      const f = join(dir, 'lib.so');
      writeFileSync(f, 'one');
      const before = statFileIdentity(f);
      const { atime, mtime } = statSync(f);
      writeFileSync(f, 'two');
      utimesSync(f, atime, mtime);
      const after = statFileIdentity(f);
      expect(after.key).toBe(before.key);
      expect(after.stamp).not.toBe(before.stamp);
      expect(fileIdentity(f)).toBe(`${after.key}@${after.stamp}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
