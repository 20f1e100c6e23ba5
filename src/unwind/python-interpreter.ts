/**
 * Finds the CPython interpreter of a process from its mappings: the file
 * (python binary or libpython) that defines `_PyRuntime`, its version
 * (`Py_Version` on 3.11+, else the file's name, as in python3.9 or
 * libpython3.10.so.1.0) and the runtime address of
 * `_PyRuntime.interpreters.head`, where the kernel walker starts.
 */
import { basename } from 'node:path';
import { ElfFile } from '../elf/elf-file.js';
import { resolveMappingFile } from '../process/mapping-file.js';
import type { ProcMapping } from '../process/proc-maps.js';
import type { PythonOffsets } from './python-layout.js';
import { PYTHON_OFFSETS } from './python-offsets.js';

/** A process's interpreter, as the walker and the code-object reader need it. */
export interface PythonInterpreter {
  /** "3.11" */
  readonly version: string;
  readonly minor: number;
  readonly offsets: PythonOffsets;
  /** Runtime address of _PyRuntime.interpreters.head. */
  readonly interpHead: bigint;
  /** The mapped file that holds _PyRuntime, as the process sees it. */
  readonly file: string;
}

/** What a process's mappings say about Python. */
export type PythonDetection =
  | { readonly kind: 'none' }
  | { readonly kind: 'supported'; readonly interpreter: PythonInterpreter }
  | { readonly kind: 'unsupported'; readonly file: string; readonly reason: string };

/** What one file holds, read once per file (device, inode). */
interface FileFacts {
  readonly runtime: bigint | undefined;
  readonly version: readonly [number, number] | undefined;
  /** Virtual address of the file's first byte (its lowest PT_LOAD at offset 0). */
  readonly baseVaddr: bigint;
}

/** Reads Python facts of files, each once. */
export interface PythonDetector {
  detect(pid: number, mappings: readonly ProcMapping[]): PythonDetection;
}

/** Files whose name says they may be an interpreter. */
const CANDIDATE = /(^|\/)(lib)?python[\d.]*[a-z]*(\.so[.\d]*)?$/;

/** Creates a detector reading files through `procRoot` (containers: /proc/PID/root). */
export function createPythonDetector(procRoot: string): PythonDetector {
  const facts = new Map<string, FileFacts | Error>();
  const factsOf = (pid: number, m: ProcMapping): FileFacts | Error => {
    const key = `${m.devMajor}:${m.devMinor}:${m.inode}`;
    let f = facts.get(key);
    if (f === undefined) {
      f = readFacts(procRoot, pid, m);
      facts.set(key, f);
    }
    return f;
  };
  return {
    detect(pid, mappings) {
      const seen = new Set<string>();
      for (const m of mappings) {
        if (m.kind !== 'file' || !m.executable || seen.has(m.path) || !CANDIDATE.test(m.path)) continue;
        seen.add(m.path);
        const f = factsOf(pid, m);
        if (f instanceof Error) return { kind: 'unsupported', file: m.path, reason: f.message };
        if (f.runtime === undefined) {
          // python3.11 of a shared build: its libpython has _PyRuntime; a libpython without is too old (or stripped)
          if (/^libpython/.test(basename(m.path))) {
            const v = f.version ?? versionFromPath(m.path);
            return { kind: 'unsupported', file: m.path, reason: `no _PyRuntime symbol${v ? ` (CPython ${v[0]}.${v[1]}; 3.8 to 3.13 are walked)` : ''}` };
          }
          continue;
        }
        const version = f.version ?? versionFromPath(m.path);
        if (version === undefined) return { kind: 'unsupported', file: m.path, reason: 'its CPython version is unknown (no Py_Version symbol, no version in the file name)' };
        const [major, minor] = version;
        const offsets = PYTHON_OFFSETS[`${major}.${minor}`];
        if (offsets === undefined) {
          return { kind: 'unsupported', file: m.path, reason: `CPython ${major}.${minor} has no offsets table (supported: ${Object.keys(PYTHON_OFFSETS).join(', ')})` };
        }
        const first = mappings.filter((x) => x.path === m.path).reduce((a, b) => (b.start < a.start ? b : a));
        const bias = first.start - first.offset - f.baseVaddr;
        return {
          kind: 'supported',
          interpreter: {
            version: `${major}.${minor}`, minor, offsets, file: m.path,
            interpHead: f.runtime + bias + BigInt(offsets.runtimeInterpretersHead),
          },
        };
      }
      return { kind: 'none' };
    },
  };
}

function readFacts(procRoot: string, pid: number, m: ProcMapping): FileFacts | Error {
  const path = resolveMappingFile(procRoot, pid, m);
  if (path === undefined) return new Error(`${m.path}: no readable path to the file`);
  let elf: ElfFile | undefined;
  try {
    elf = ElfFile.open(path);
    const syms = elf.symbolValues(['_PyRuntime', 'Py_Version']);
    const pyVersion = syms.get('Py_Version');
    const hex = pyVersion === undefined ? undefined : elf.readVaddr(pyVersion, 4)?.readUInt32LE(0);
    const base = elf.loadSegments.find((p) => p.offset === 0);
    return {
      runtime: syms.get('_PyRuntime'),
      version: hex === undefined ? undefined : [(hex >>> 24) & 0xff, (hex >>> 16) & 0xff],
      baseVaddr: base?.vaddr ?? 0n,
    };
  } catch (err) {
    return err as Error;
  } finally {
    elf?.close();
  }
}

/** 3.11 from python3.11, libpython3.11.so.1.0, or a pyenv path like versions/3.11.7/bin/python. */
export function versionFromPath(path: string): readonly [number, number] | undefined {
  const named = /python(\d)\.(\d+)/.exec(basename(path)) ?? /\/(\d)\.(\d+)\.\d+[^/]*\//.exec(path);
  return named ? [Number(named[1]), Number(named[2])] : undefined;
}
