// SPDX-License-Identifier: GPL-2.0
/* On-CPU sampler: a perf_event (cpu-clock) program that counts stacks per
 * thread in the kernel. Two generations of maps let user space drain exact
 * interval deltas: it flips `control.generation`, waits for in-flight
 * programs, then reads and clears the old generation. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "oncpu.h"
#include "sampler_maps.h"
#include "unwinder.h"
#include "pywalker.h"

const volatile bool filter_tgid = false;
const volatile bool include_idle = false;
const volatile __u32 self_tgid = 0;
/* walk user stacks with the .eh_frame tables (unwinder.h) instead of
 * bpf_get_stackid's frame pointers */
const volatile bool dwarf_unwind = false;
/* walk the Python frames of processes in python_procs (pywalker.h) */
const volatile bool python_frames = false;

/* counts0/counts1: struct oncpu_key -> samples seen, one per generation */
struct counts_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct oncpu_key);
	__type(value, __u64);
};
struct counts_map counts0 SEC(".maps");
struct counts_map counts1 SEC(".maps");

/* Fills the key's user stack with the .eh_frame walker (which counts its
 * own truncations in unwind_drops). */
static __always_inline void walk_user(struct bpf_perf_event_data *ctx, struct oncpu_key *key, void *ustacks)
{
	__u64 ip, sp, bp;

	current_user_regs((struct uapi_pt_regs_x86 *)&ctx->regs, &ip, &sp, &bp);
	key->user_stack_id = unwind_user(key->tgid, ip, sp, bp, ustacks);
}

static __always_inline void count(struct oncpu_key *key, void *counts)
{
	__u64 one = 1, *val;
	long err;

	val = bpf_map_lookup_elem(counts, key);
	if (val) {
		__sync_fetch_and_add(val, 1);
		return;
	}
	err = bpf_map_update_elem(counts, key, &one, BPF_NOEXIST);
	if (err == -EEXIST) {
		/* another CPU inserted the same key in between */
		val = bpf_map_lookup_elem(counts, key);
		if (val)
			__sync_fetch_and_add(val, 1);
	} else if (err) {
		drop(SAMPLER_DROP_COUNTS_FULL);
	}
}

SEC("perf_event")
int do_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, pid = (__u32)id, zero = 0;
	struct sampler_control *ctl;
	struct oncpu_key key = {};
	struct task_struct *task;
	void *counts, *stacks, *ustacks;
	__u32 gen;

	if (pid == 0 && !include_idle)
		return 0;
	if (self_tgid && tgid == self_tgid)
		return 0;
	ctl = bpf_map_lookup_elem(&control, &zero);
	if (!ctl)
		return 0;
	if (filter_tgid && !ctl->all_targets && !bpf_map_lookup_elem(&targets, &tgid))
		return 0;

	gen = ctl->generation;
	if (gen) {
		counts = &counts1;
		stacks = &stacks1;
		ustacks = &ustacks1;
	} else {
		counts = &counts0;
		stacks = &stacks0;
		ustacks = &ustacks0;
	}

	key.tgid = tgid;
	key.pid = pid;
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	task = (struct task_struct *)bpf_get_current_task();
	/* kernel threads have no user stack: not a loss */
	if (BPF_CORE_READ(task, flags) & PF_KTHREAD)
		key.user_stack_id = -1;
	else if (dwarf_unwind)
		walk_user(ctx, &key, ustacks);
	else
		key.user_stack_id = stack_id(ctx, stacks, BPF_F_USER_STACK,
					     SAMPLER_DROP_USER_STACK);
	key.kern_stack_id = stack_id(ctx, stacks, 0, SAMPLER_DROP_KERNEL_STACK);
	key.py_stack_id = -1;
	if (python_frames && key.user_stack_id >= 0)
		key.py_stack_id = python_walk(tgid, BPF_CORE_READ(task, thread.fsbase), gen);

	count(&key, counts);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
