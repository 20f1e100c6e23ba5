// SPDX-License-Identifier: GPL-2.0
/* Memory sampler: uprobes on an allocator's entry points (malloc, calloc,
 * realloc, free, posix_memalign, aligned_alloc, mmap, munmap and their
 * jemalloc/tcmalloc names) sample allocations by bytes, one sample per
 * `rate` bytes on average at exponentially distributed intervals (as
 * tcmalloc and Go do), and count each sampled block's stack with weights
 * scaled back so totals are unbiased. Sampled blocks are remembered in
 * `live` until freed, so in-use bytes are exact for them. Two generations
 * of count and stack maps, as in oncpu.bpf.c. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "memory.h"
#include "sampler_maps.h"
#include "unwinder.h"
#include "pywalker.h"

/* include/uapi/asm-generic/mman-common.h */
#define MAP_ANONYMOUS 0x20

const volatile bool filter_tgid = false;
const volatile __u32 self_tgid = 0;
/* mean bytes between samples; 1 records every allocation at its own size */
const volatile __u64 rate = 512 * 1024;
/* walk the Python frames of processes in python_procs (pywalker.h) */
const volatile bool python_frames = false;
/* Exp(1) quantiles, 16.16 fixed point, mean 1 (written by user space) */
const volatile __u32 exp_quantiles[MEMORY_EXP_QUANTILES] = {};
/* h(x) = x / (1 - e^-x) at x = i / 64, 16.16 fixed point */
const volatile __u32 weights[MEMORY_WEIGHT_STEPS + 1] = {};

/* counts0/counts1: struct memory_key -> estimated allocations and frees */
struct counts_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct memory_key);
	__type(value, struct memory_value);
};
struct counts_map counts0 SEC(".maps");
struct counts_map counts1 SEC(".maps");

/* live: (tgid, address) of a sampled block -> its key and weights, until freed */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct memory_addr);
	__type(value, struct memory_live);
} live SEC(".maps");

/* calls: thread id -> the allocator call it is in; LRU so that threads
 * that die inside one do not pin entries */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct memory_pending);
} calls SEC(".maps");

/* Bytes left before this CPU's next sample; `armed` once drawn. */
struct countdown {
	__s64 left;
	__u64 armed;
};

/* countdown[0]: this CPU's distance to its next sample */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct countdown);
} countdown SEC(".maps");

static __always_inline bool targeted(__u32 tgid)
{
	__u32 zero = 0;
	struct sampler_control *ctl;

	if (self_tgid && tgid == self_tgid)
		return false;
	if (!filter_tgid)
		return true;
	ctl = bpf_map_lookup_elem(&control, &zero);
	if (ctl && ctl->all_targets)
		return true;
	return bpf_map_lookup_elem(&targets, &tgid) != NULL;
}

static __always_inline __s64 next_interval(void)
{
	__u32 i = bpf_get_prandom_u32() & (MEMORY_EXP_QUANTILES - 1);

	return (__s64)((rate * exp_quantiles[i]) >> MEMORY_FX_SHIFT) + 1;
}

/* Whether an allocation of `size` bytes is sampled: the byte stream of each
 * CPU is cut at exponential intervals, and a block is sampled when a cut
 * falls inside it (probability 1 - e^(-size/rate)). */
static __always_inline bool sample_bytes(__u64 size)
{
	struct countdown *c;
	__u32 zero = 0;

	if (rate <= 1)
		return true;
	c = bpf_map_lookup_elem(&countdown, &zero);
	if (!c)
		return false;
	if (!c->armed) {
		c->left = next_interval();
		c->armed = 1;
	}
	c->left -= (__s64)size;
	if (c->left > 0)
		return false;
	c->left = next_interval();
	return true;
}

/* The unbiased estimate a sampled block of `size` stands for: bytes =
 * size / p = rate * h(size / rate), objects = bytes / size. */
static __always_inline void weigh(__u64 size, __u64 *objects_fx, __u64 *bytes)
{
	__u64 x, i, frac, lo, hi, h;

	if (rate <= 1 || size == 0 || size >= 16 * rate) {
		*objects_fx = 1ULL << MEMORY_FX_SHIFT;
		*bytes = size;
		return;
	}
	x = (size << MEMORY_FX_SHIFT) / rate;
	i = (x >> MEMORY_WEIGHT_SHIFT) & (MEMORY_WEIGHT_STEPS - 1);
	frac = x & ((1 << MEMORY_WEIGHT_SHIFT) - 1);
	lo = weights[i];
	hi = weights[i + 1];
	h = lo + (((hi - lo) * frac) >> MEMORY_WEIGHT_SHIFT);
	*bytes = (rate * h) >> MEMORY_FX_SHIFT;
	*objects_fx = (*bytes << MEMORY_FX_SHIFT) / size;
}

static __always_inline void *counts_now(void)
{
	struct sampler_control *ctl;
	__u32 zero = 0;

	ctl = bpf_map_lookup_elem(&control, &zero);
	if (!ctl)
		return NULL;
	return ctl->generation ? (void *)&counts1 : (void *)&counts0;
}

static __always_inline void add(void *counts, struct memory_key *key, struct memory_value *delta)
{
	struct memory_value *val;
	long err;

	val = bpf_map_lookup_elem(counts, key);
	if (!val) {
		err = bpf_map_update_elem(counts, key, delta, BPF_NOEXIST);
		if (!err)
			return;
		if (err != -EEXIST) {
			drop(SAMPLER_DROP_COUNTS_FULL);
			return;
		}
		val = bpf_map_lookup_elem(counts, key);
		if (!val)
			return;
	}
	__sync_fetch_and_add(&val->alloc_objects_fx, delta->alloc_objects_fx);
	__sync_fetch_and_add(&val->alloc_bytes, delta->alloc_bytes);
	__sync_fetch_and_add(&val->free_objects_fx, delta->free_objects_fx);
	__sync_fetch_and_add(&val->free_bytes, delta->free_bytes);
}

/* A block was freed: if it was sampled, its weights leave in-use. */
static __always_inline void release(__u32 tgid, __u64 addr)
{
	struct memory_addr blk = { .tgid = tgid, .addr = addr };
	struct memory_value delta = {};
	struct memory_live *l;
	void *counts;

	if (!addr)
		return;
	l = bpf_map_lookup_elem(&live, &blk);
	if (!l)
		return;
	counts = counts_now();
	if (counts) {
		delta.free_objects_fx = l->objects_fx;
		delta.free_bytes = l->bytes;
		add(counts, &l->key, &delta);
	}
	bpf_map_delete_elem(&live, &blk);
}

/* A sampled block was returned: walk the stack from the caller's
 * registers (a uretprobe sees them as the call returns) and count it. */
static __always_inline void record(struct pt_regs *ctx, __u32 tgid, __u32 pid, __u64 addr, __u64 size)
{
	struct memory_addr blk = { .tgid = tgid, .addr = addr };
	struct memory_value delta = {};
	struct sampler_control *ctl;
	struct memory_live l = {};
	__u32 zero = 0;
	void *counts;

	ctl = bpf_map_lookup_elem(&control, &zero);
	if (!ctl)
		return;
	counts = ctl->generation ? (void *)&counts1 : (void *)&counts0;
	l.key.tgid = tgid;
	l.key.pid = pid;
	l.key.kern_stack_id = -1;
	bpf_get_current_comm(&l.key.comm, sizeof(l.key.comm));
	l.key.user_stack_id = unwind_user(tgid, PT_REGS_IP(ctx), PT_REGS_SP(ctx), PT_REGS_FP(ctx),
					  ctl->generation ? (void *)&ustacks1 : (void *)&ustacks0);
	l.key.py_stack_id = -1;
	if (python_frames && l.key.user_stack_id >= 0)
		l.key.py_stack_id = python_walk(tgid, BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), thread.fsbase),
						ctl->generation);
	weigh(size, &l.objects_fx, &l.bytes);
	delta.alloc_objects_fx = l.objects_fx;
	delta.alloc_bytes = l.bytes;
	add(counts, &l.key, &delta);
	if (bpf_map_update_elem(&live, &blk, &l, BPF_ANY))
		drop(MEMORY_DROP_LIVE_FULL);
}

/* Every call with a return probe goes through here, sampled or not, so that
 * allocator calls nested in it (mmap inside malloc) are not counted twice. */
static __always_inline void enter(__u32 call, __u64 size, __u64 arg, bool track)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, pid = (__u32)id;
	struct memory_pending p = {}, *outer;

	if (!targeted(tgid))
		return;
	outer = bpf_map_lookup_elem(&calls, &pid);
	/* An entry whose return was never seen (the call began before the
	 * return probe was attached, or left by longjmp) would count every
	 * later call as nested, and nothing would be sampled again: an entry
	 * older than any allocator call takes is replaced. */
	if (outer && bpf_ktime_get_ns() - outer->entered_ns < MEMORY_CALL_STALE_NS) {
		outer->depth++;
		return;
	}
	p.size = size;
	p.arg = arg;
	p.call = call;
	p.entered_ns = bpf_ktime_get_ns();
	p.sampled = track && sample_bytes(size);
	if (bpf_map_update_elem(&calls, &pid, &p, BPF_ANY))
		drop(MEMORY_DROP_CALLS_FULL);
}

static __always_inline void leave(struct pt_regs *ctx, __u64 ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, pid = (__u32)id;
	struct memory_pending *p, cur;
	__u64 addr = ret;

	p = bpf_map_lookup_elem(&calls, &pid);
	if (!p)
		return;
	if (p->depth) {
		p->depth--;
		return;
	}
	cur = *p;
	bpf_map_delete_elem(&calls, &pid);
	switch (cur.call) {
	case MEMORY_CALL_REALLOC:
		/* the old block is gone once realloc hands out a block, or frees with size 0 */
		if (cur.arg && (ret || cur.size == 0))
			release(tgid, cur.arg);
		break;
	case MEMORY_CALL_POSIX_MEMALIGN:
		if (ret != 0 || bpf_probe_read_user(&addr, sizeof(addr), (void *)cur.arg))
			return;
		break;
	case MEMORY_CALL_MMAP:
		if (ret == (__u64)-1)
			return;
		break;
	}
	if (addr && cur.sampled)
		record(ctx, tgid, pid, addr, cur.size);
}

SEC("uprobe")
int BPF_KPROBE(malloc_enter, __u64 size)
{
	enter(MEMORY_CALL_MALLOC, size, 0, true);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(calloc_enter, __u64 n, __u64 size)
{
	enter(MEMORY_CALL_CALLOC, n * size, 0, true);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(realloc_enter, __u64 ptr, __u64 size)
{
	enter(MEMORY_CALL_REALLOC, size, ptr, true);
	return 0;
}

/* aligned_alloc, memalign: (alignment, size) */
SEC("uprobe")
int BPF_KPROBE(memalign_enter, __u64 align, __u64 size)
{
	enter(MEMORY_CALL_MALLOC, size, 0, true);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(posix_memalign_enter, __u64 memptr, __u64 align, __u64 size)
{
	enter(MEMORY_CALL_POSIX_MEMALIGN, size, memptr, true);
	return 0;
}

/* File mappings are the page cache's, not the heap's: only anonymous ones
 * are counted, but every call is tracked for nesting. */
SEC("uprobe")
int BPF_KPROBE(mmap_enter, __u64 addr, __u64 len, __u64 prot, __u64 flags)
{
	enter(MEMORY_CALL_MMAP, len, 0, (flags & MAP_ANONYMOUS) != 0);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(alloc_return, __u64 ret)
{
	leave(ctx, ret);
	return 0;
}

/* posix_memalign returns 0 on success, the block is in *memptr */
SEC("uretprobe")
int BPF_KRETPROBE(posix_memalign_return, int ret)
{
	leave(ctx, (__u64)(__s64)ret);
	return 0;
}

/* free, munmap, operator delete, sdallocx: the block comes first */
SEC("uprobe")
int BPF_KPROBE(free_enter, __u64 ptr)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (targeted(tgid))
		release(tgid, ptr);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
