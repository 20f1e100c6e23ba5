// Separate debug files: split a C program's debug info out, strip it, find it again.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/elf/elf-file.js';
import { debugFileCandidates, fileCrc32, locateDebugFile } from '../../src/symbolize/debug-file-locator.js';

const source = fileURLToPath(new URL('../fixtures/lang-c/split.c', import.meta.url));

describe('debug file locator', () => {
  let dir = '';
  let build = '';
  let buildId = '';
  let debugLink = { name: '', crc: 0 };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lang-debuglink-'));
    build = join(dir, 'build');
    mkdirSync(build);
    const bin = join(build, 'split');
    execFileSync('gcc', ['-g', '-O1', '-Wl,--build-id=sha1', '-o', bin, source]);
    execFileSync('objcopy', ['--only-keep-debug', bin, `${bin}.debug`]);
    execFileSync('strip', ['--strip-all', bin]);
    execFileSync('objcopy', [`--add-gnu-debuglink=${bin}.debug`, bin]);
    const elf = ElfFile.open(bin);
    try {
      expect(elf.symbols('symtab')).toHaveLength(0);
      buildId = elf.buildId() ?? '';
      debugLink = elf.debugLink() ?? debugLink;
    } finally {
      elf.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A container-like root with the binary at /app/split and the debug file at `debugPath`. */
  const layRoot = (name: string, debugPath: string): string => {
    const root = join(dir, name);
    mkdirSync(join(root, 'app'), { recursive: true });
    copyFileSync(join(build, 'split'), join(root, 'app/split'));
    mkdirSync(join(root, debugPath, '..'), { recursive: true });
    copyFileSync(join(build, 'split.debug'), join(root, debugPath));
    return root;
  };

  const staticNames = (path: string): string[] => {
    const elf = ElfFile.open(path);
    try {
      return elf.symbols('symtab').filter((s) => s.binding === 'local' && s.kind === 'func').map((s) => s.name).sort();
    } finally {
      elf.close();
    }
  };

  it('reads the link the stripped binary carries', () => {
    expect(buildId).toMatch(/^[0-9a-f]{40}$/);
    expect(debugLink.name).toBe('split.debug');
    expect(debugLink.crc).toBe(fileCrc32(join(build, 'split.debug')));
    // crc32 of "123456789" is the standard check value.
    writeFileSync(join(dir, 'check'), '123456789');
    expect(fileCrc32(join(dir, 'check'))).toBe(0xcbf43926);
  });

  it('finds the debug file by build-id under a root', () => {
    const root = layRoot('by-build-id', `usr/lib/debug/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`);
    const match = locateDebugFile({ path: '/app/split', buildId }, { root });
    expect(match).toEqual({ path: join(root, 'usr/lib/debug/.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`), via: 'build-id' });
    expect(staticNames(match?.path ?? '')).toEqual(expect.arrayContaining(['hot_static_loop', 'mix_static']));
  });

  it('finds the debug file by debuglink next to the binary, in .debug/ and in the global dir', () => {
    for (const [name, at] of [
      ['link-same-dir', 'app/split.debug'],
      ['link-dot-debug', 'app/.debug/split.debug'],
      ['link-global', 'usr/lib/debug/app/split.debug'],
    ] as const) {
      const root = layRoot(name, at);
      const match = locateDebugFile({ path: '/app/split', buildId: 'ffff' + buildId.slice(4), debugLink }, { root });
      expect(match).toEqual({ path: join(root, at), via: 'debuglink' });
      expect(staticNames(match?.path ?? '')).toEqual(expect.arrayContaining(['hot_static_loop', 'mix_static']));
    }
  });

  it('rejects a debuglink target whose CRC differs, and finds nothing without hints', () => {
    const root = layRoot('bad-crc', 'app/.debug/split.debug');
    writeFileSync(join(root, 'app/split.debug'), 'not the debug file');
    expect(locateDebugFile({ path: '/app/split', debugLink }, { root })?.path).toBe(join(root, 'app/.debug/split.debug'));
    expect(locateDebugFile({ path: '/app/split', debugLink: { ...debugLink, crc: debugLink.crc ^ 1 } }, { root })).toBeUndefined();
    expect(locateDebugFile({ path: '/app/split' }, { root })).toBeUndefined();
    expect(debugFileCandidates({ path: '/app/split', debugLink: { name: '../../etc/passwd', crc: 0 } })).toEqual([]);
  });
});
