import { ElfFile } from '../elf/elf-file.js';
import { locateDebugFile } from './debug-file-locator.js';
import { createElfSymbolTable, type ElfSymbolTable } from './elf-symbol-table.js';
import { createGoSymbolLookup } from './go-pclntab.js';
import type { SymbolLookup } from './symbol-cache.js';

/** Splits `/proc/PID/root/usr/bin/x` into the container root and the path inside it. */
export function splitRoot(hostPath: string): { root: string; path: string } {
  const m = /^(.*\/\d+\/root)(\/.*)$/.exec(hostPath);
  return m?.[1] !== undefined && m[2] !== undefined ? { root: m[1], path: m[2] } : { root: '/', path: hostPath };
}

/** The separate debug file of `elf`, inside the process's root first, then the host's. */
export function findDebugFile(elf: ElfFile): { path: string } | undefined {
  const { root, path } = splitRoot(elf.path);
  const query = { path, buildId: elf.buildId(), debugLink: elf.debugLink() };
  return locateDebugFile(query, { root }) ?? (root === '/' ? undefined : locateDebugFile(query, { root: '/' }));
}

/** Symbols of a separate debug file, first; the binary's own (.dynsym) where it has none. */
function withFallback(primary: ElfSymbolTable, fallback: SymbolLookup): SymbolLookup {
  return {
    lookup: (vaddr) => primary.lookup(vaddr) ?? fallback.lookup(vaddr),
    approximateBytes: primary.approximateBytes + fallback.approximateBytes,
  };
}

/**
 * The symbol cache's per-file lookup: a stripped binary (no .symtab) gets the
 * full table of its separate debug file, found by build-id or .gnu_debuglink
 * inside the process's root then the host's; Go binaries answer from
 * .gopclntab with file:line and the 'go' frame kind.
 */
export function createFileSymbolLookup(elf: ElfFile, table: ElfSymbolTable): SymbolLookup {
  let base: SymbolLookup = table;
  if (elf.section('.symtab') === undefined) {
    const found = findDebugFile(elf);
    if (found !== undefined) {
      const debug = ElfFile.open(found.path);
      try {
        base = withFallback(createElfSymbolTable(debug), table);
      } catch {
        // An unreadable debug file leaves the binary's own symbols in charge.
      } finally {
        debug.close();
      }
    }
  }
  return createGoSymbolLookup(elf, base);
}
