// Which processes get a python_procs entry, and how an unreadable CPython is reported.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import type { ProcMapping } from '../../src/process/proc-maps.js';
import type { PythonDetection, PythonDetector } from '../../src/unwind/python-interpreter.js';
import { PYTHON_PROC_SIZE } from '../../src/unwind/python-layout.js';
import { PYTHON_OFFSETS } from '../../src/unwind/python-offsets.js';
import { createPythonProcesses } from '../../src/unwind/python-processes.js';
import { fakeMap } from '../helpers/fake-map.js';

const key = (pid: number): string => Buffer.from(new Uint32Array([pid]).buffer).toString('hex');
const supported = (interpHead: bigint): PythonDetection => ({
  kind: 'supported',
  interpreter: { version: '3.11', minor: 11, offsets: PYTHON_OFFSETS['3.11']!, interpHead, file: '/usr/bin/python3.11' },
});

function setup(answers: Map<number, PythonDetection>) {
  const map = fakeMap('python_procs', 4, PYTHON_PROC_SIZE, 2);
  const warnings: string[] = [];
  const log = createLogger((level, text) => { if (level === 'warn') warnings.push(text); });
  const detector: PythonDetector = { detect: (pid) => answers.get(pid) ?? { kind: 'none' } };
  const py = createPythonProcesses(map, '/proc', log, detector);
  const proc = (pid: number): { pid: number; mappings: ProcMapping[] } => ({ pid, mappings: [] });
  return { map, warnings, py, proc };
}

describe('createPythonProcesses', () => {
  it('writes, rewrites and removes the entry of a Python process', () => {
    const answers = new Map<number, PythonDetection>([[10, supported(0x1000n)]]);
    const { map, py, proc } = setup(answers);
    py.setProcess(proc(10));
    py.setProcess(proc(11)); // no Python: nothing
    expect([...map.entries.keys()]).toEqual([key(10)]);
    expect(map.entries.get(key(10))!.readBigUInt64LE(0)).toBe(0x1000n);
    expect(py.interpreter(10)?.version).toBe('3.11');
    answers.set(10, supported(0x2000n)); // exec'd another interpreter
    py.setProcess(proc(10));
    expect(map.entries.get(key(10))!.readBigUInt64LE(0)).toBe(0x2000n);
    answers.set(10, { kind: 'none' }); // exec'd something else
    py.setProcess(proc(10));
    expect(map.entries.size).toBe(0);
    expect(py.interpreter(10)).toBeUndefined();
    answers.set(10, supported(0x1000n));
    py.setProcess(proc(10));
    py.removeProcess(10);
    expect(map.entries.size).toBe(0);
    expect(py.count).toBe(0);
  });

  it('says once per process why its Python is not walked', () => {
    const answers = new Map<number, PythonDetection>([[20, { kind: 'unsupported', file: '/usr/lib/libpython3.7m.so.1.0', reason: 'no _PyRuntime symbol' }]]);
    const { map, warnings, py, proc } = setup(answers);
    py.setProcess(proc(20));
    py.setProcess(proc(20));
    expect(map.entries.size).toBe(0);
    expect(warnings).toEqual(['python frames of pid 20 not walked: /usr/lib/libpython3.7m.so.1.0: no _PyRuntime symbol; its native frames are kept']);
  });

  it('says once that the map is full, and keeps going', () => {
    const answers = new Map<number, PythonDetection>([1, 2, 3, 4].map((pid) => [pid, supported(BigInt(pid))]));
    const { map, warnings, py, proc } = setup(answers);
    for (const pid of [1, 2, 3, 4]) py.setProcess(proc(pid));
    expect(map.entries.size).toBe(2);
    expect(py.count).toBe(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/pid 3 not walked: writing python_procs: .*E2BIG/);
  });
});
