// SPDX-License-Identifier: GPL-2.0
/* Off-CPU sampler: at each scheduler switch, remember when and with which
 * stack a targeted thread left the CPU; when it runs again, add the time
 * and one switch to that stack's entry in the kernel. Nothing goes to user
 * space per event. Two generations of maps, as in oncpu.bpf.c, let user
 * space drain exact interval deltas. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "offcpu.h"
#include "sampler_maps.h"
#include "unwinder.h"
#include "pywalker.h"

const volatile bool filter_tgid = false;
const volatile __u32 self_tgid = 0;
const volatile __u64 min_block_ns = 1000;
const volatile __u64 max_block_ns = (__u64)-1;
const volatile __u32 state_filter = OFFCPU_STATE_ALL;
/* walk user stacks with the .eh_frame tables (unwinder.h) */
const volatile bool dwarf_unwind = false;
/* walk the Python frames of processes in python_procs (pywalker.h) */
const volatile bool python_frames = false;

/* start: thread id -> when and how it left the CPU; LRU so that threads
 * that exit while off-CPU do not pin entries forever */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct offcpu_start);
} start SEC(".maps");

/* counts0/counts1: struct offcpu_key -> switches and blocked time */
struct counts_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct offcpu_key);
	__type(value, struct offcpu_value);
};
struct counts_map counts0 SEC(".maps");
struct counts_map counts1 SEC(".maps");

static __always_inline bool targeted(__u32 tgid, __u32 pid)
{
	__u32 zero = 0;
	struct sampler_control *ctl;

	if (pid == 0 || (self_tgid && tgid == self_tgid))
		return false;
	if (!filter_tgid)
		return true;
	ctl = bpf_map_lookup_elem(&control, &zero);
	if (ctl && ctl->all_targets)
		return true;
	return bpf_map_lookup_elem(&targets, &tgid) != NULL;
}

static __always_inline bool state_wanted(long state)
{
	if (state_filter == OFFCPU_STATE_SLEEP)
		return state != 0;
	if (state_filter == OFFCPU_STATE_PREEMPT)
		return state == 0;
	return true;
}

/* Fills the key's user stack with the .eh_frame walker from the registers
 * saved at kernel entry (it counts its truncations in unwind_drops). */
static __always_inline void walk_user(struct offcpu_key *key, void *ustacks)
{
	__u64 ip, sp, bp;

	current_user_regs(NULL, &ip, &sp, &bp);
	key->user_stack_id = unwind_user(key->tgid, ip, sp, bp, ustacks);
}

/* prev is still `current` here, so its stacks are the ones that blocked. */
static __always_inline void switch_out(void *ctx, struct task_struct *prev)
{
	__u32 tgid = BPF_CORE_READ(prev, tgid), pid = BPF_CORE_READ(prev, pid), zero = 0;
	struct offcpu_start s = {};
	struct sampler_control *ctl;
	void *stacks;

	if (!targeted(tgid, pid) || !state_wanted(task_state(prev)))
		return;
	ctl = bpf_map_lookup_elem(&control, &zero);
	if (!ctl)
		return;
	s.generation = ctl->generation;
	stacks = s.generation ? (void *)&stacks1 : (void *)&stacks0;
	s.ts_ns = bpf_ktime_get_ns();
	s.key.tgid = tgid;
	s.key.pid = pid;
	bpf_get_current_comm(&s.key.comm, sizeof(s.key.comm));
	if (BPF_CORE_READ(prev, flags) & PF_KTHREAD)
		s.key.user_stack_id = -1;
	else if (dwarf_unwind)
		walk_user(&s.key, s.generation ? (void *)&ustacks1 : (void *)&ustacks0);
	else
		s.key.user_stack_id = stack_id(ctx, stacks, BPF_F_USER_STACK, SAMPLER_DROP_USER_STACK);
	s.key.kern_stack_id = stack_id(ctx, stacks, 0, SAMPLER_DROP_KERNEL_STACK);
	s.key.py_stack_id = -1;
	if (python_frames && s.key.user_stack_id >= 0)
		s.key.py_stack_id = python_walk(tgid, BPF_CORE_READ(prev, thread.fsbase), s.generation);
	bpf_map_update_elem(&start, &pid, &s, BPF_ANY);
}

/* The block is accounted in the generation its stack ids belong to; user
 * space keeps those stacks until no sleeping thread refers to them. */
static __always_inline void switch_in(struct task_struct *next)
{
	__u32 pid = BPF_CORE_READ(next, pid);
	struct offcpu_value one = { .switches = 1 }, *val;
	struct offcpu_start *s;
	void *counts;
	__u64 delta;
	long err;

	s = bpf_map_lookup_elem(&start, &pid);
	if (!s)
		return;
	delta = bpf_ktime_get_ns() - s->ts_ns;
	if (delta < min_block_ns || delta > max_block_ns)
		goto cleanup;
	counts = s->generation ? (void *)&counts1 : (void *)&counts0;
	val = bpf_map_lookup_elem(counts, &s->key);
	if (!val) {
		one.total_ns = delta;
		err = bpf_map_update_elem(counts, &s->key, &one, BPF_NOEXIST);
		if (!err)
			goto cleanup;
		if (err != -EEXIST) {
			drop(SAMPLER_DROP_COUNTS_FULL);
			goto cleanup;
		}
		val = bpf_map_lookup_elem(counts, &s->key);
		if (!val)
			goto cleanup;
	}
	__sync_fetch_and_add(&val->switches, 1);
	__sync_fetch_and_add(&val->total_ns, delta);
cleanup:
	bpf_map_delete_elem(&start, &pid);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	switch_out(ctx, prev);
	switch_in(next);
	return 0;
}

/* Fallback where tp_btf cannot attach (kernels without BTF trampolines). */
SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	switch_out(ctx, prev);
	switch_in(next);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
