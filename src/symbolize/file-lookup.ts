import { ElfFile } from '../elf/elf-file.js';
import { locateDebugFile } from './debug-file-locator.js';
import { createElfSymbolTable } from './elf-symbol-table.js';
import { openSymbolFile, type FileSymbolTables } from './symbol-cache.js';

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

/**
 * A file's own symbol table (.symtab ∪ .dynsym) and, for a stripped binary
 * (no .symtab), the full table of its separate debug file, found by build-id
 * or .gnu_debuglink inside the process's root then the host's. This is the
 * costly part of loading a file's symbols: it runs in the symbol table worker.
 */
export function readFileSymbolTables(elf: ElfFile): FileSymbolTables {
  const own = createElfSymbolTable(elf);
  if (elf.section('.symtab') !== undefined) return { own };
  const found = findDebugFile(elf);
  if (found === undefined) return { own };
  const debug = ElfFile.open(found.path);
  try {
    return { own, debug: createElfSymbolTable(debug) };
  } catch {
    // An unreadable debug file leaves the binary's own symbols in charge.
    return { own };
  } finally {
    debug.close();
  }
}

/**
 * readFileSymbolTables of the file at `path` (read from `via` when given: a
 * descriptor another thread holds); throws "loading symbols of PATH: cause".
 */
export function readSymbolTablesAt(path: string, via?: string): FileSymbolTables {
  const elf = openSymbolFile(path, via);
  try {
    return readFileSymbolTables(elf);
  } catch (err) {
    throw new Error(`loading symbols of ${path}: ${(err as Error).message}`);
  } finally {
    elf.close();
  }
}
