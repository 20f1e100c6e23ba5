import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfError, buildPath, errnoName, openBpfObject } from '../../src/kernel/index.js';
import { bpfSkipReason, requirePrerequisites } from '../helpers/bpf-prerequisites.js';
import { createLogger } from '../../src/log/logger.js';

const skip = bpfSkipReason();
const dir = mkdtempSync(join(tmpdir(), 'meshprof-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('verifier rejection', () => {
  // A missing prerequisite fails the run instead of skipping it.
  beforeAll(() => requirePrerequisites(skip));
  it('carries errno and the verifier log in a BpfError', () => {
    const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'bad.bpf.c');
    const obj = join(dir, 'bad.bpf.o');
    execFileSync('clang', ['-g', '-O2', '-target', 'bpf', '-I', dirname(buildPath('vmlinux.h')), '-c', src, '-o', obj]);
    const lines: string[] = [];
    const o = openBpfObject('bad', { path: obj, log: createLogger((level, msg) => { lines.push(`${level} ${msg}`); }) });
    try {
      o.load();
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BpfError);
      const e = err as BpfError;
      expect(errnoName(e.errno)).toBe('EACCES');
      expect(e.message).toMatch(/^loading bpf program bad: permission denied: the verifier rejected the program: fix it as the log below says\n/);
      // the verifier's own words, not just an errno
      expect(e.log).toMatch(/invalid mem access 'scalar'/);
      expect(e.message).toMatch(/invalid mem access 'scalar'/);
      expect(lines.some((l) => l.startsWith('warn ') && l.includes('invalid mem access'))).toBe(true);
    } finally {
      o.destroy();
    }
  });
});
