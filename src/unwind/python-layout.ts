/**
 * The byte layouts of the Python frame walker (bpf/python.h): the
 * per-process settings user space writes and the packed frames it reads.
 */

/**
 * Offsets of one CPython minor version (src/unwind/python-offsets.ts,
 * generated from its headers); -1 where the version has no such field.
 */
export interface PythonOffsets {
  /** _PyRuntimeState.interpreters.head */
  readonly runtimeInterpretersHead: number;
  /** PyInterpreterState.tstate_head (<3.11) / threads.head */
  readonly interpThreadsHead: number;
  readonly tstateNext: number;
  /** PyThreadState.thread_id: pthread_self() */
  readonly tstateThreadId: number;
  readonly tstateNativeThreadId: number;
  /** frame (<3.11), cframe (3.11, 3.12), current_frame (3.13) */
  readonly tstateFrame: number;
  /** _PyCFrame.current_frame (3.11, 3.12) */
  readonly cframeCurrentFrame: number;
  readonly frameBack: number;
  readonly frameCode: number;
  /** int f_lasti (<3.11), prev_instr (3.11, 3.12), instr_ptr (3.13) */
  readonly frameLasti: number;
  readonly frameOwner: number;
  readonly frameIsEntry: number;
  /** PyCodeObject.co_code_adaptive (3.11+) */
  readonly codeAdaptive: number;
  readonly codeQualname: number;
  readonly codeFilename: number;
  readonly codeName: number;
  readonly codeFirstLineNo: number;
  /** co_lnotab (<3.10) / co_linetable */
  readonly codeLineTable: number;
  readonly objectType: number;
  readonly bytesSize: number;
  readonly bytesData: number;
  /** PyASCIIObject.state */
  readonly unicodeState: number;
  /** sizeof(PyASCIIObject): where a compact ASCII string's characters start */
  readonly unicodeAsciiData: number;
  /** sizeof(PyCompactUnicodeObject): where other compact strings' characters start */
  readonly unicodeCompactData: number;
}

/** sizeof(struct python_proc). */
export const PYTHON_PROC_SIZE = 56;
/** PY_MAX_DEPTH: Python frames kept per sample. */
export const PYTHON_MAX_DEPTH = 64;

/** Encodes struct python_proc for `minor` (3.minor) with `interpHead` = runtime address of _PyRuntime.interpreters.head. */
export function encodePythonProc(interpHead: bigint, minor: number, o: PythonOffsets): Buffer {
  const buf = Buffer.alloc(PYTHON_PROC_SIZE);
  buf.writeBigUInt64LE(interpHead, 0);
  buf.writeUInt32LE(minor, 8);
  const fields = [
    o.interpThreadsHead, o.tstateNext, o.tstateThreadId, o.tstateFrame, o.cframeCurrentFrame,
    o.frameBack, o.frameCode, o.frameLasti, o.frameOwner, o.frameIsEntry, o.codeAdaptive,
  ];
  fields.forEach((v, i) => buf.writeInt32LE(v, 12 + i * 4));
  return buf;
}

const ENTRY = 1n << 63n;
const CODE_SHIFT = 19n;
const LASTI_MASK = (1n << CODE_SHIFT) - 1n;
const CODE_MASK = (1n << 44n) - 1n;

/** One packed Python frame (PY_FRAME_* in bpf/python.h). */
export interface PythonFrameRef {
  /** Address of the code object. */
  readonly code: bigint;
  /** Offset of the instruction in the code's bytecode, in bytes. */
  readonly byteOffset: number;
  /** The outermost frame one _PyEval_EvalFrameDefault call ran. */
  readonly entry: boolean;
}

/** Unpacks one frame word. */
export function decodePythonFrame(word: bigint): PythonFrameRef {
  return {
    code: ((word >> CODE_SHIFT) & CODE_MASK) << 3n,
    byteOffset: Number(word & LASTI_MASK) * 2,
    entry: (word & ENTRY) !== 0n,
  };
}

/** Packs one frame word, as the walker does (tests, fakes). */
export function encodePythonFrame(f: PythonFrameRef): bigint {
  const lasti = BigInt(Math.min(Math.floor(f.byteOffset / 2), Number(LASTI_MASK)));
  return (f.entry ? ENTRY : 0n) | (((f.code >> 3n) & CODE_MASK) << CODE_SHIFT) | lasti;
}
