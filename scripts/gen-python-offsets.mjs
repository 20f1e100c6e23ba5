#!/usr/bin/env node
// Generates src/unwind/python-offsets.ts: the struct offsets the Python
// frame walker (bpf/pywalker.h) and the code-object reader
// (src/symbolize/python-frames.ts) need, one row per CPython minor version.
//
// For each include directory given (a CPython install's include/pythonX.Y,
// with its internal/ headers: pyenv builds and Debian's pythonX.Y-dev carry
// them), a small C program is compiled with Py_BUILD_CORE against those
// headers and prints offsetof() of every field; nothing is read from a
// running interpreter. Layouts only change between minor versions, so one
// patch release per minor is enough. Run it again when a minor is added:
//
//   node scripts/gen-python-offsets.mjs /usr/include/python3.11 \
//     $(pyenv root)/versions/3.*/include/python3.*
//
// Needs gcc. Versions before 3.8 are skipped (not supported by the walker).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const out = resolve(new URL('.', import.meta.url).pathname, '../src/unwind/python-offsets.ts');

// One C program for every version: the #if blocks pick each field's name.
const probe = String.raw`
#define Py_BUILD_CORE 1
#include <Python.h>
#include <frameobject.h>
#include <stddef.h>
#include <stdio.h>
#if PY_VERSION_HEX >= 0x030B0000
#include <internal/pycore_frame.h>
#endif
#if PY_VERSION_HEX >= 0x03090000
#include <internal/pycore_interp.h>
#include <internal/pycore_runtime.h>
#else
#include <internal/pycore_pystate.h>
#endif
#define F(name, value) printf("%s\"%s\": %ld", first ? "" : ", ", name, (long)(value)), first = 0
int main(void) {
  int first = 1;
  printf("{");
  F("major", PY_MAJOR_VERSION);
  F("minor", PY_MINOR_VERSION);
  F("runtimeInterpretersHead", offsetof(_PyRuntimeState, interpreters.head));
#if PY_VERSION_HEX >= 0x030B0000
  F("interpThreadsHead", offsetof(PyInterpreterState, threads.head));
#else
  F("interpThreadsHead", offsetof(PyInterpreterState, tstate_head));
#endif
  F("tstateNext", offsetof(PyThreadState, next));
  F("tstateThreadId", offsetof(PyThreadState, thread_id));
#if PY_VERSION_HEX >= 0x030B0000
  F("tstateNativeThreadId", offsetof(PyThreadState, native_thread_id));
#else
  F("tstateNativeThreadId", -1);
#endif
#if PY_VERSION_HEX >= 0x030D0000
  F("tstateFrame", offsetof(PyThreadState, current_frame));
  F("cframeCurrentFrame", -1);
#elif PY_VERSION_HEX >= 0x030B0000
  F("tstateFrame", offsetof(PyThreadState, cframe));
  F("cframeCurrentFrame", offsetof(_PyCFrame, current_frame));
#else
  F("tstateFrame", offsetof(PyThreadState, frame));
  F("cframeCurrentFrame", -1);
#endif
#if PY_VERSION_HEX >= 0x030B0000
  F("frameBack", offsetof(_PyInterpreterFrame, previous));
#if PY_VERSION_HEX >= 0x030D0000
  F("frameCode", offsetof(_PyInterpreterFrame, f_executable));
  F("frameLasti", offsetof(_PyInterpreterFrame, instr_ptr));
#else
  F("frameCode", offsetof(_PyInterpreterFrame, f_code));
  F("frameLasti", offsetof(_PyInterpreterFrame, prev_instr));
#endif
  F("frameOwner", offsetof(_PyInterpreterFrame, owner));
#if PY_VERSION_HEX >= 0x030C0000
  F("frameIsEntry", -1);
#else
  F("frameIsEntry", offsetof(_PyInterpreterFrame, is_entry));
#endif
  F("codeAdaptive", offsetof(PyCodeObject, co_code_adaptive));
  F("codeQualname", offsetof(PyCodeObject, co_qualname));
#else
  F("frameBack", offsetof(PyFrameObject, f_back));
  F("frameCode", offsetof(PyFrameObject, f_code));
  F("frameLasti", offsetof(PyFrameObject, f_lasti));
  F("frameOwner", -1);
  F("frameIsEntry", -1);
  F("codeAdaptive", -1);
  F("codeQualname", -1);
#endif
  F("codeFilename", offsetof(PyCodeObject, co_filename));
  F("codeName", offsetof(PyCodeObject, co_name));
  F("codeFirstLineNo", offsetof(PyCodeObject, co_firstlineno));
#if PY_VERSION_HEX >= 0x030A0000
  F("codeLineTable", offsetof(PyCodeObject, co_linetable));
#else
  F("codeLineTable", offsetof(PyCodeObject, co_lnotab));
#endif
  F("objectType", offsetof(PyObject, ob_type));
  F("bytesSize", offsetof(PyVarObject, ob_size));
  F("bytesData", offsetof(PyBytesObject, ob_sval));
  F("unicodeState", offsetof(PyASCIIObject, state));
  F("unicodeAsciiData", sizeof(PyASCIIObject));
  F("unicodeCompactData", sizeof(PyCompactUnicodeObject));
  printf("}\n");
  return 0;
}
`;

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: gen-python-offsets.mjs INCLUDE_DIR... (e.g. /usr/include/python3.11)');
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'pyoffsets-'));
const rows = new Map();
try {
  writeFileSync(join(work, 'probe.c'), probe);
  for (const dir of dirs) {
    const exe = join(work, 'probe');
    try {
      execFileSync('gcc', ['-std=gnu11', '-w', `-I${dir}`, `-I${join(dir, 'internal')}`, join(work, 'probe.c'), '-o', exe], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      console.error(`skipping ${dir}: ${String(err.stderr ?? err.message).split('\n').slice(0, 3).join(' ')}`);
      continue;
    }
    const row = JSON.parse(execFileSync(exe, { encoding: 'utf8' }));
    const key = `${row.major}.${row.minor}`;
    const prev = rows.get(key);
    if (prev && JSON.stringify(prev.row) !== JSON.stringify(row)) {
      throw new Error(`${dir} and ${prev.dir} are both ${key} with different layouts`);
    }
    rows.set(key, { dir, row });
    console.error(`${key}: ${dir}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const sorted = [...rows.values()].sort((a, b) => a.row.minor - b.row.minor);
const body = sorted.map(({ row }) => {
  const { major, minor, ...fields } = row;
  return `  '${major}.${minor}': ${JSON.stringify(fields).replace(/"(\w+)":/g, '$1: ').replace(/,/g, ', ')},`;
}).join('\n');
writeFileSync(out, `/**
 * Struct offsets of each CPython minor version, as the Python frame walker
 * and the code-object reader use them. GENERATED by
 * scripts/gen-python-offsets.mjs from each version's headers; do not edit.
 * -1: the field does not exist in that version.
 */
import type { PythonOffsets } from './python-layout.js';

/** Offsets by "major.minor". */
export const PYTHON_OFFSETS: Readonly<Record<string, PythonOffsets>> = {
${body}
};
`);
console.error(`wrote ${out} (${sorted.length} versions)`);
