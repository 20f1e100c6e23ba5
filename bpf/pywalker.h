/* The Python frame walker shared by oncpu.bpf.c and offcpu.bpf.c: for a
 * process user space found to run CPython 3.8-3.13 (python_procs), finds
 * the sampled thread's PyThreadState (_PyRuntime.interpreters.head ->
 * threads, matched by pthread_self(), which is the thread's fs base on
 * x86-64 and the same in every pid namespace) and records the code object
 * and instruction offset of each frame of its chain, innermost first.
 * User space reads names and lines from the code objects and interleaves
 * the frames with the native _PyEval_EvalFrameDefault frames. Needs
 * bpf_loop (5.17), like unwinder.h, whose drops array it shares. */
#ifndef __PYWALKER_H
#define __PYWALKER_H

#include "python.h"

/* 3.12+: _PyInterpreterFrame.owner of the shim frame an eval call pushes. */
#define PY_FRAME_OWNED_BY_CSTACK 3

/* python_procs: tgid -> its interpreter's addresses and offsets */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct python_proc);
} python_procs SEC(".maps");

/* pystacks0/pystacks1: 31-bit hash of the frames -> Python stack, one map
 * per generation of the including sampler */
struct pystacks_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct python_stack);
};
struct pystacks_map pystacks0 SEC(".maps");
struct pystacks_map pystacks1 SEC(".maps");

/* The walk in progress, per CPU: a python_stack is too big for the stack. */
struct py_walk_state {
	struct python_stack stack;
	struct python_proc proc;
	__u64 frame;		/* _PyInterpreterFrame * or PyFrameObject * to record next */
	__u64 tstate;		/* while looking for the thread: the one to look at next */
	__u64 fsbase;
	__u8 unreadable;
	__u8 pad[7];
};

/* py_scratch[0]: this CPU's Python walk */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_walk_state);
} py_scratch SEC(".maps");

struct py_walk_ctx {
	struct py_walk_state *st;
};

static __always_inline int py_read_ptr(__u64 *dst, __u64 base, __s32 off)
{
	if (off < 0 || base == 0)
		return -1;
	return bpf_probe_read_user(dst, sizeof(*dst), (void *)(base + off)) ? -1 : 0;
}

/* bpf_loop callback: stops at the thread whose thread_id is the fs base. */
static long py_find_thread(__u64 index, void *data)
{
	struct py_walk_state *st = ((struct py_walk_ctx *)data)->st;
	__u64 id = 0;

	if (st->tstate == 0)
		return 1;
	if (py_read_ptr(&id, st->tstate, st->proc.tstate_thread_id)) {
		st->unreadable = 1;
		st->tstate = 0;
		return 1;
	}
	if (id == st->fsbase)
		return 1;
	if (py_read_ptr(&st->tstate, st->tstate, st->proc.tstate_next))
		st->tstate = 0;
	return 0;
}

/* bpf_loop callback: records one frame and moves to its caller. */
static long py_step(__u64 index, void *data)
{
	struct py_walk_state *st = ((struct py_walk_ctx *)data)->st;
	struct python_proc *p = &st->proc;
	__u64 frame = st->frame, code = 0, back = 0, instr = 0, lasti = 0, word;
	__u32 n = st->stack.len;
	__s32 ilasti = 0;
	__u8 flag = 0;

	if (frame == 0)
		return 1;
	if (py_read_ptr(&back, frame, p->frame_back) || py_read_ptr(&code, frame, p->frame_code)) {
		st->unreadable = 1;
		return 1;
	}
	st->frame = back;
	if (p->frame_owner >= 0 && p->frame_is_entry < 0) {
		/* 3.12+: the shim an eval call pushes closes the frames it ran */
		if (bpf_probe_read_user(&flag, 1, (void *)(frame + p->frame_owner)))
			return 1;
		if (flag == PY_FRAME_OWNED_BY_CSTACK) {
			if (n > 0 && n <= PY_MAX_DEPTH)
				st->stack.frames[n - 1] |= PY_FRAME_ENTRY;
			return 0;
		}
	}
	if (n >= PY_MAX_DEPTH) {
		st->stack.truncated = 1;
		return 1;
	}
	if (code == 0)
		return 0;
	if (p->code_adaptive >= 0) {
		if (py_read_ptr(&instr, frame, p->frame_lasti) == 0 && instr >= code + p->code_adaptive)
			lasti = (instr - code - p->code_adaptive) / 2;
	} else if (bpf_probe_read_user(&ilasti, sizeof(ilasti), (void *)(frame + (p->frame_lasti & 0xffff))) == 0 && ilasti > 0) {
		/* 3.8, 3.9: a byte offset; 3.10: an instruction index */
		lasti = p->minor <= 9 ? (__u64)ilasti / 2 : (__u64)ilasti;
	}
	if (lasti > PY_FRAME_LASTI_MASK)
		lasti = PY_FRAME_LASTI_MASK;
	word = (((code >> 3) & PY_FRAME_CODE_MASK) << PY_FRAME_CODE_SHIFT) | lasti;
	if (p->frame_is_entry >= 0) {
		flag = 0;
		bpf_probe_read_user(&flag, 1, (void *)(frame + p->frame_is_entry));
		if (flag)
			word |= PY_FRAME_ENTRY;
	} else if (p->frame_owner < 0) {
		/* before 3.11 every frame has its own eval call */
		word |= PY_FRAME_ENTRY;
	}
	st->stack.frames[n] = word;
	st->stack.len = n + 1;
	st->stack.hash = (st->stack.hash ^ word) * 0x100000001b3ULL;
	return 0;
}

/* Stores a walked stack under its id in pystacks<generation>. */
static __always_inline long py_store(__u32 generation, __u32 *id, struct python_stack *stack)
{
	struct python_stack *old;
	long err;

	if (generation)
		err = bpf_map_update_elem(&pystacks1, id, stack, BPF_NOEXIST);
	else
		err = bpf_map_update_elem(&pystacks0, id, stack, BPF_NOEXIST);
	if (err != -EEXIST)
		return err;
	old = generation ? bpf_map_lookup_elem(&pystacks1, id) : bpf_map_lookup_elem(&pystacks0, id);
	if (old && old->hash != stack->hash)
		return -EEXIST;
	return 0;
}

/* Walks the Python frames of thread `fsbase` (its fs base) of process
 * `tgid` if that runs a known CPython, and stores them in
 * pystacks<generation>. Returns the id, or -1 when the process or thread
 * runs no Python or the stack could not be stored.
 * A global function, so the verifier checks it once on its own: inlined,
 * it doubled the samplers' verification even where python_frames is off. */
__noinline int python_walk(__u32 tgid, __u64 fsbase, __u32 generation)
{
	struct python_proc *proc = bpf_map_lookup_elem(&python_procs, &tgid);
	struct py_walk_state *st;
	struct py_walk_ctx wctx;
	__u64 interp = 0, h;
	__u32 zero = 0, id;
	long err;

	if (!proc)
		return -1;
	st = bpf_map_lookup_elem(&py_scratch, &zero);
	if (!st)
		return -1;
	__builtin_memcpy(&st->proc, proc, sizeof(st->proc));
	st->unreadable = 0;
	st->stack.len = 0;
	st->stack.truncated = 0;
	st->stack.hash = 0xcbf29ce484222325ULL;
	st->fsbase = fsbase;
	st->tstate = 0;
	if (bpf_probe_read_user(&interp, sizeof(interp), (void *)st->proc.interp_head) || interp == 0)
		return -1;	/* not initialized yet, or finalized */
	if (py_read_ptr(&st->tstate, interp, st->proc.interp_threads_head))
		goto unreadable;
	wctx.st = st;
	bpf_loop(PY_MAX_THREADS, py_find_thread, &wctx, 0);
	if (st->unreadable)
		goto unreadable;
	if (st->tstate == 0)
		return -1;	/* a thread Python does not know (yet) */
	if (py_read_ptr(&st->frame, st->tstate, st->proc.tstate_frame))
		goto unreadable;
	if (st->proc.cframe_current_frame >= 0 && py_read_ptr(&st->frame, st->frame, st->proc.cframe_current_frame))
		goto unreadable;
	bpf_loop(PY_MAX_DEPTH * 2, py_step, &wctx, 0);
	if (st->unreadable)
		unwind_drop(UNWIND_DROP_PY_UNREADABLE);
	if (st->stack.truncated)
		unwind_drop(UNWIND_DROP_PY_DEPTH);
	if (st->stack.len == 0)
		return -1;
	h = st->stack.hash ^ st->stack.len;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	st->stack.hash = h;
	id = h & 0x7fffffff;
	err = py_store(generation, &id, &st->stack);
	if (err == -EEXIST) {
		unwind_drop(UNWIND_DROP_PY_COLLISION);
		return -1;
	} else if (err) {
		unwind_drop(UNWIND_DROP_PY_FULL);
		return -1;
	}
	return id;
unreadable:
	unwind_drop(UNWIND_DROP_PY_UNREADABLE);
	return -1;
}

#endif /* __PYWALKER_H */
