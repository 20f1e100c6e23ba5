// Interleaving walked Python frames with the native stack, and the packed frame words.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../src/stacks/frames.js';
import type { RawStackBatch } from '../../src/stacks/raw-stacks.js';
import { createPythonFrameNamer } from '../../src/symbolize/python-frames.js';
import { decodePythonFrame, encodePythonFrame, encodePythonProc, PYTHON_PROC_SIZE } from '../../src/unwind/python-layout.js';
import { PYTHON_OFFSETS } from '../../src/unwind/python-offsets.js';
import { versionFromPath } from '../../src/unwind/python-interpreter.js';

const native = (functionName: string): Frame => ({ functionName, kind: 'native', address: 0x1000n, mapping: undefined, symbolized: true });
const word = (code: bigint, entry: boolean, byteOffset = 8): bigint => encodePythonFrame({ code, byteOffset, entry });

describe('python frame words', () => {
  it('round-trip code address, offset and entry bit as bpf/python.h packs them', () => {
    const f = { code: 0x7f12_3456_7890n, byteOffset: 1234, entry: true };
    expect(decodePythonFrame(encodePythonFrame(f))).toEqual(f);
    expect(decodePythonFrame(encodePythonFrame({ ...f, entry: false })).entry).toBe(false);
    // offsets past 19 bits of code units saturate rather than spill into the address
    expect(decodePythonFrame(encodePythonFrame({ ...f, byteOffset: 1 << 24 }))).toMatchObject({ code: f.code, byteOffset: ((1 << 19) - 1) * 2 });
  });

  it('encodes struct python_proc with every offset of the version', () => {
    const buf = encodePythonProc(0x1234n, 11, PYTHON_OFFSETS['3.11']!);
    expect(buf.length).toBe(PYTHON_PROC_SIZE);
    expect(buf.readBigUInt64LE(0)).toBe(0x1234n);
    expect(buf.readUInt32LE(8)).toBe(11);
    expect(buf.readInt32LE(12)).toBe(PYTHON_OFFSETS['3.11']!.interpThreadsHead);
    expect(buf.readInt32LE(52)).toBe(PYTHON_OFFSETS['3.11']!.codeAdaptive);
  });

  it('has offsets for 3.8 to 3.13', () => {
    expect(Object.keys(PYTHON_OFFSETS)).toEqual(['3.8', '3.9', '3.10', '3.11', '3.12', '3.13']);
  });

  it('reads the version from interpreter file names', () => {
    expect(versionFromPath('/usr/bin/python3.11')).toEqual([3, 11]);
    expect(versionFromPath('/opt/lib/libpython3.9.so.1.0')).toEqual([3, 9]);
    expect(versionFromPath('/root/.pyenv/versions/3.10.13/bin/python')).toEqual([3, 10]);
    expect(versionFromPath('/usr/bin/python')).toBeUndefined();
  });
});

describe('PythonFrameNamer.merge', () => {
  const namer = createPythonFrameNamer({ procRoot: '/proc', interpreterOf: () => undefined });
  const names = (frames: readonly Frame[]): string[] => frames.map((f) => f.functionName);

  it('puts each eval call\'s Python frames leafward of its _PyEval_EvalFrameDefault frame', () => {
    // innermost call ran A and B (B its entry), the outer one C
    const python = [word(0xa0n, false), word(0xb0n, true), word(0xc0n, true)];
    const out = namer.merge(1, python, ['leaf', '_PyEval_EvalFrameDefault', 'call_hook', '_PyEval_EvalFrameDefault', 'main'].map(native));
    expect(names(out)).toEqual(['leaf', '[python code 0xa0]', '[python code 0xb0]', '_PyEval_EvalFrameDefault', 'call_hook',
      '[python code 0xc0]', '_PyEval_EvalFrameDefault', 'main']);
    expect(out[1]).toMatchObject({ kind: 'cpython', symbolized: false, address: 0xa0n });
  });

  it('drops -X perf trampolines (perf-map frames of kind cpython): the walked frames name them', () => {
    const trampoline: Frame = { ...native('hot_loop'), kind: 'cpython' };
    const out = namer.merge(1, [word(0xa0n, true), word(0xb0n, true)],
      [native('_PyEval_EvalFrameDefault'), trampoline, native('_PyEval_EvalFrameDefault'), native('main')]);
    expect(names(out)).toEqual(['[python code 0xa0]', '_PyEval_EvalFrameDefault', '[python code 0xb0]', '_PyEval_EvalFrameDefault', 'main']);
  });

  it('keeps Python frames that have no eval frame to stand on at the root', () => {
    const out = namer.merge(1, [word(0xa0n, true), word(0xb0n, true)], ['leaf', '_PyEval_EvalFrameDefault'].map(native));
    expect(names(out)).toEqual(['leaf', '[python code 0xa0]', '_PyEval_EvalFrameDefault', '[python code 0xb0]']);
  });
});

describe('PythonFrameNamer.read', () => {
  const o = PYTHON_OFFSETS['3.11']!;
  const interp = { version: '3.11', minor: 11, offsets: o, interpHead: 0n, file: '/usr/bin/python3.11' };
  const CODE = 0x1000n;
  const sample = (userStack: bigint[]) => ({ tgid: 7, tid: 7, comm: 'py', userStack, kernelStack: [], pythonStack: [word(CODE, true)], values: [1] });
  const batch = (userStack: bigint[]): RawStackBatch => ({
    samples: [sample(userStack)], valueTypes: [{ type: 'samples', unit: 'count' }], periodType: { type: 'cpu', unit: 'nanoseconds' }, period: 1,
    startTimeNs: 0n, durationNs: 1n, drops: {},
  });

  /** A /proc/7/mem holding one 3.11 code object whose name is a UCS-4 str of `codePoints` and file "f.py". */
  function fakeMem(codePoints: number[]): string {
    const root = mkdtempSync(join(tmpdir(), 'meshprof-pymem-'));
    mkdirSync(join(root, '7'));
    const mem = Buffer.alloc(0x4000);
    const str = (at: number, kind: number, ascii: boolean, data: Buffer, length: number): void => {
      mem.writeBigInt64LE(BigInt(length), at + 16);
      mem.writeUInt32LE((kind << 2) | (1 << 5) | ((ascii ? 1 : 0) << 6), at + o.unicodeState);
      data.copy(mem, at + (ascii ? o.unicodeAsciiData : o.unicodeCompactData));
    };
    const name = Buffer.alloc(codePoints.length * 4);
    codePoints.forEach((c, i) => name.writeUInt32LE(c, i * 4));
    str(0x2000, 4, false, name, codePoints.length);
    str(0x3000, 1, true, Buffer.from('f.py'), 4);
    mem.writeBigUInt64LE(0x2000n, Number(CODE) + o.codeQualname);
    mem.writeBigUInt64LE(0x3000n, Number(CODE) + o.codeFilename);
    mem.writeInt32LE(3, Number(CODE) + o.codeFirstLineNo);
    writeFileSync(join(root, '7', 'mem'), mem);
    return root;
  }

  it('reads a UCS-4 name, and takes a code point past U+10FFFF for a misread, not an exception', () => {
    const good = fakeMem([0x1f600, 0x61]);
    const bad = fakeMem([0x61, 0x7fffffff]);
    try {
      const named = createPythonFrameNamer({ procRoot: good, interpreterOf: () => interp });
      named.read(batch([0x10n]));
      expect(named.merge(7, [word(CODE, true)], [])[0]).toMatchObject({ functionName: '\u{1f600}a', fileName: 'f.py', symbolized: true });
      const misread = createPythonFrameNamer({ procRoot: bad, interpreterOf: () => interp });
      expect(() => misread.read(batch([0x10n]))).not.toThrow();
      expect(misread.merge(7, [word(CODE, true)], [])[0]).toMatchObject({ functionName: '[python code 0x1000]', symbolized: false });
      expect(misread.unreadable).toBe(1);
    } finally {
      rmSync(good, { recursive: true, force: true });
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('does not read the code objects of a stack walked in an image the process exec\'ed away from', () => {
    const root = fakeMem([0x61]);
    try {
      // the memory at the old image's code addresses is the new program's now
      const namer = createPythonFrameNamer({ procRoot: root, interpreterOf: () => interp, formerImage: (_pid, stack) => stack[0] === 0xdeadn });
      namer.read(batch([0xdeadn]));
      expect(namer.merge(7, [word(CODE, true)], [])[0]).toMatchObject({ symbolized: false });
      namer.read(batch([0x10n]));
      expect(namer.merge(7, [word(CODE, true)], [])[0]).toMatchObject({ functionName: 'a', symbolized: true });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
