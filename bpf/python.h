/* Structs of the Python frame walker (pywalker.h) shared with user space
 * (src/unwind/python-layout.ts); fixed-width types only. */
#ifndef __PYTHON_H
#define __PYTHON_H

/* Python frames kept per sample, innermost first. */
#define PY_MAX_DEPTH 64
/* Threads of an interpreter looked at to find the sampled one. */
#define PY_MAX_THREADS 64

/* One frame as a u64: bit 63 set on the outermost frame one call of
 * _PyEval_EvalFrameDefault ran (every frame before 3.11), bits 62..19 the
 * code object's address >> 3, bits 18..0 the instruction offset in 2-byte
 * code units (saturated). */
#define PY_FRAME_ENTRY (1ULL << 63)
#define PY_FRAME_CODE_SHIFT 19
#define PY_FRAME_LASTI_MASK ((1ULL << PY_FRAME_CODE_SHIFT) - 1)
#define PY_FRAME_CODE_MASK ((1ULL << 44) - 1)

/* Value of python_procs: where a process's interpreter keeps its thread
 * states and the offsets of its version (src/unwind/python-offsets.ts);
 * -1 marks a field the version does not have. */
struct python_proc {
	__u64 interp_head;		/* runtime address of _PyRuntime.interpreters.head */
	__u32 minor;			/* 3.minor */
	__s32 interp_threads_head;	/* PyInterpreterState: tstate_head / threads.head */
	__s32 tstate_next;
	__s32 tstate_thread_id;		/* pthread_self(): the thread's fs base on x86-64 */
	__s32 tstate_frame;		/* frame (<3.11), cframe (3.11, 3.12), current_frame (3.13) */
	__s32 cframe_current_frame;	/* 3.11, 3.12 */
	__s32 frame_back;		/* f_back / previous */
	__s32 frame_code;		/* f_code / f_executable */
	__s32 frame_lasti;		/* int f_lasti (<3.11), prev_instr / instr_ptr pointer */
	__s32 frame_owner;		/* 3.12+: char owner, 3 = on the C stack (entry shim) */
	__s32 frame_is_entry;		/* 3.11: bool is_entry */
	__s32 code_adaptive;		/* 3.11+: co_code_adaptive, where instructions start */
};

/* Value of pystacks0/1: the Python frames of one sample, innermost first;
 * keyed like ustacks by the low 31 bits of `hash`. */
struct python_stack {
	__u32 len;
	__u32 truncated;		/* 1: PY_MAX_DEPTH frames and more to go */
	__u64 hash;
	__u64 frames[PY_MAX_DEPTH];
};

#endif /* __PYTHON_H */
