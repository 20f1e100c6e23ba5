// Interleaving walked Python frames with the native stack, and the packed frame words.
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../src/stacks/frames.js';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPythonFrameNamer, readPythonString } from '../../src/symbolize/python-frames.js';
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

describe('python strings read from process memory', () => {
  // A file stands in for /proc/PID/mem: the string object at 4096, its UCS-4 data after the header.
  const ucs4At = (codePoints: number[]): number => {
    const o = PYTHON_OFFSETS['3.11']!;
    const mem = Buffer.alloc(8192);
    mem.writeBigInt64LE(BigInt(codePoints.length), 4096 + 16);
    mem.writeUInt32LE((4 << 2) | (1 << 5), 4096 + o.unicodeState); // kind 4, compact, not ascii
    codePoints.forEach((cp, i) => mem.writeUInt32LE(cp, 4096 + o.unicodeCompactData + i * 4));
    const path = join(mkdtempSync(join(tmpdir(), 'pystr-')), 'mem');
    writeFileSync(path, mem);
    return openSync(path, 'r');
  };

  it('reads a UCS-4 name', () => {
    const fd = ucs4At([0x1f600, 0x61]);
    expect(readPythonString(fd, 4096n, PYTHON_OFFSETS['3.11']!)).toBe('\u{1f600}a');
    closeSync(fd);
  });

  it('refuses torn memory whose code points are past Unicode instead of throwing', () => {
    const fd = ucs4At([0x61, 0x8bf6_4a50]);
    expect(readPythonString(fd, 4096n, PYTHON_OFFSETS['3.11']!)).toBeNull();
    closeSync(fd);
  });
});
