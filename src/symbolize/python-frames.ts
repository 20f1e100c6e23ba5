/**
 * Names the Python frames the kernel walked (RawStackSample.pythonStack):
 * reads each code object's name, file, first line and line table from the
 * process's memory (/proc/PID/mem) once, while the process lives (every
 * drain of the sampler, so an exited process keeps its names), and
 * interleaves the frames with the native ones: each
 * _PyEval_EvalFrameDefault frame is followed, leafward, by the Python
 * frames that call of the interpreter ran (the `-X perf` trampolines,
 * which name the same functions, give way to them).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Frame } from '../stacks/frames.js';
import type { RawStackBatch } from '../stacks/raw-stacks.js';
import { withDrain, type StackSampler } from '../samplers/stack-sampler.js';
import type { PythonInterpreter } from '../unwind/python-interpreter.js';
import { decodePythonFrame, type PythonOffsets } from '../unwind/python-layout.js';
import { pythonLine } from './python-lines.js';

/** What one code object says about itself. */
interface CodeInfo {
  readonly name: string;
  readonly file: string;
  readonly firstLine: number;
  readonly lineTable: Buffer;
  readonly minor: number;
  /** Its string and table pointers and first line: another object built at the address differs here. */
  readonly identity: string;
}

/** See the module comment. */
export interface PythonFrameNamer {
  /** Reads the code objects of the batch's Python frames not read yet, while their processes live. */
  read(batch: RawStackBatch): void;
  /**
   * The user frames of a sample with its Python frames interleaved (leaf
   * first); `native` are the sample's named user frames, leaf first.
   */
  merge(pid: number, python: readonly bigint[], native: readonly Frame[]): Frame[];
  /** Drops what was read of processes that are gone. */
  forget(pids: readonly number[]): void;
  /** Code objects that could not be read, since creation. */
  readonly unreadable: number;
}

/** Options for createPythonFrameNamer. */
export interface PythonFrameNamerOptions {
  readonly procRoot: string;
  /** The interpreter the kernel walker knows the process by. */
  readonly interpreterOf: (pid: number) => PythonInterpreter | undefined;
  /**
   * True when a native stack was walked in an image `pid` exec'ed away from:
   * its code objects went with that image, and reading their addresses
   * now would read the new program's memory.
   */
  readonly formerImage?: (pid: number, stack: readonly bigint[]) => boolean;
}

/** The native frame whose calls run Python frames. */
const EVAL_FRAME = /^_?PyEval_EvalFrameDefault/;
/** Bounds on what a code object's strings and tables may be: past them the read is a misread. */
const MAX_STRING = 4096;
const MAX_TABLE = 1 << 20;

/** Creates a namer; one per agent, shared by its collectors. */
export function createPythonFrameNamer(opts: PythonFrameNamerOptions): PythonFrameNamer {
  const codes = new Map<number, Map<bigint, CodeInfo | null>>();
  let unreadable = 0;
  const namer: PythonFrameNamer = {
    read(batch) {
      // every code object of the batch, each once per process: a known one is checked (its
      // object may have been freed and another built at its address), a new one read
      const wanted = new Map<number, Set<bigint>>();
      for (const s of batch.samples) {
        if (s.pythonStack === undefined || s.pythonStack.length === 0) continue;
        if (opts.formerImage?.(s.tgid, s.userStack) === true) continue;
        let want = wanted.get(s.tgid);
        if (want === undefined) wanted.set(s.tgid, (want = new Set()));
        for (const w of s.pythonStack) want.add(decodePythonFrame(w).code);
      }
      for (const [pid, want] of wanted) {
        const interp = opts.interpreterOf(pid);
        let known = codes.get(pid);
        if (known === undefined) codes.set(pid, (known = new Map()));
        let fd: number | undefined;
        try {
          fd = interp === undefined ? undefined : openSync(`${opts.procRoot}/${pid}/mem`, 'r');
        } catch {
          fd = undefined;
        }
        for (const code of want) {
          const had = known.get(code);
          if (fd === undefined || interp === undefined) {
            // gone (or never known): what was read while it lived stays
            if (had === undefined) {
              unreadable++;
              known.set(code, null);
            }
            continue;
          }
          if (had && identityAt(fd, code, interp.offsets) === had.identity) continue;
          const info = readCode(fd, code, interp);
          if (info === null) unreadable++;
          // a live process's failed read is retried next drain (the object may have been half-built)
          if (info !== null || had === undefined) known.set(code, info);
        }
        if (fd !== undefined) closeSync(fd);
      }
    },
    merge(pid, python, native) {
      const known = codes.get(pid);
      const groups: Frame[][] = [[]];
      for (const w of python) {
        const f = decodePythonFrame(w);
        const info = known?.get(f.code);
        groups[groups.length - 1]!.push(pythonFrame(f.code, f.byteOffset, info ?? undefined));
        if (f.entry) groups.push([]);
      }
      if (groups[groups.length - 1]!.length === 0) groups.pop();
      const out: Frame[] = [];
      let g = 0;
      // leaf first: the innermost eval call ran the first group
      for (const n of native) {
        // `-X perf` trampolines (perf-map frames of kind cpython) name what the walked frames name again
        if (n.kind === 'cpython') continue;
        if (EVAL_FRAME.test(n.systemName ?? n.functionName) && g < groups.length) out.push(...groups[g++]!);
        out.push(n);
      }
      // groups without an eval frame to stand on (a native stack cut short): outermost, below the natives
      while (g < groups.length) out.push(...groups[g++]!);
      return out;
    },
    forget(pids) {
      for (const pid of pids) codes.delete(pid);
    },
    get unreadable() { return unreadable; },
  };
  return namer;
}

/** Wraps a sampler so every drain (each poll: every second while a Python process is walked) reads the new code objects at once. */
export function withPythonFrameNames(sampler: StackSampler, namer: PythonFrameNamer): StackSampler {
  return withDrain(sampler, (inner) => {
    const batch = inner.drain();
    namer.read(batch);
    return batch;
  });
}

function pythonFrame(code: bigint, byteOffset: number, info: CodeInfo | undefined): Frame {
  if (info === undefined) {
    return { functionName: `[python code 0x${code.toString(16)}]`, kind: 'cpython', address: code, mapping: undefined, symbolized: false };
  }
  return {
    functionName: info.name,
    kind: 'cpython',
    address: code,
    mapping: undefined,
    fileName: info.file,
    line: pythonLine(info.minor, info.lineTable, info.firstLine, byteOffset),
    symbolized: true,
  };
}

function readAt(fd: number, address: bigint, length: number): Buffer | null {
  const buf = Buffer.alloc(length);
  try {
    return readSync(fd, buf, 0, length, address) === length ? buf : null;
  } catch {
    return null;
  }
}

/** The bytes of a code object up to its last field read here. */
function readCodeHead(fd: number, code: bigint, o: PythonOffsets): Buffer | null {
  return readAt(fd, code, Math.max(o.codeQualname, o.codeFilename, o.codeName, o.codeFirstLineNo, o.codeLineTable) + 8);
}

/** What tells one code object from another at the same address (not its refcount or warm-up counters, which move). */
function identityOf(c: Buffer, o: PythonOffsets): string {
  const ptr = (off: number): string => (off < 0 ? '-' : c.readBigUInt64LE(off).toString(16));
  return [ptr(o.objectType), ptr(o.codeFilename), ptr(o.codeName), ptr(o.codeQualname), ptr(o.codeLineTable), c.readInt32LE(o.codeFirstLineNo)].join(':');
}

function identityAt(fd: number, code: bigint, o: PythonOffsets): string | undefined {
  const c = readCodeHead(fd, code, o);
  return c === null ? undefined : identityOf(c, o);
}

function readCode(fd: number, code: bigint, interp: PythonInterpreter): CodeInfo | null {
  const o = interp.offsets;
  const c = readCodeHead(fd, code, o);
  if (c === null) return null;
  const name = readString(fd, c.readBigUInt64LE(o.codeQualname >= 0 ? o.codeQualname : o.codeName), o);
  const file = readString(fd, c.readBigUInt64LE(o.codeFilename), o);
  const lineTable = readBytes(fd, c.readBigUInt64LE(o.codeLineTable), o);
  if (name === null || file === null) return null;
  return {
    name, file, firstLine: c.readInt32LE(o.codeFirstLineNo), lineTable: lineTable ?? Buffer.alloc(0), minor: interp.minor,
    identity: identityOf(c, o),
  };
}

/** A compact str (every code object's names are): ASCII, Latin-1, UCS-2 or UCS-4. */
function readString(fd: number, at: bigint, o: PythonOffsets): string | null {
  if (at === 0n) return null;
  const h = readAt(fd, at, o.unicodeState + 4);
  if (h === null) return null;
  const length = Number(h.readBigInt64LE(16));
  const state = h.readUInt32LE(o.unicodeState);
  const kind = (state >> 2) & 7;
  const compact = (state >> 5) & 1;
  const ascii = (state >> 6) & 1;
  if (!compact || length < 0 || length > MAX_STRING || ![1, 2, 4].includes(kind)) return null;
  const data = readAt(fd, at + BigInt(ascii ? o.unicodeAsciiData : o.unicodeCompactData), length * kind);
  if (data === null) return null;
  if (kind === 1) return data.toString('latin1');
  if (kind === 2) return data.toString('utf16le');
  let s = '';
  for (let i = 0; i < length; i++) {
    const cp = data.readUInt32LE(i * 4);
    // memory that is no longer a str (freed, or an image exec'ed away): a misread, not an exception
    if (cp > 0x10ffff) return null;
    s += String.fromCodePoint(cp);
  }
  return s;
}

function readBytes(fd: number, at: bigint, o: PythonOffsets): Buffer | null {
  if (at === 0n) return null;
  const h = readAt(fd, at, o.bytesData);
  if (h === null) return null;
  const size = Number(h.readBigInt64LE(o.bytesSize));
  if (size < 0 || size > MAX_TABLE) return null;
  return readAt(fd, at + BigInt(o.bytesData), size);
}
