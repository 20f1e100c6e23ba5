// SPDX-License-Identifier: GPL-2.0
/* Page-fault sampler: counts user page faults (the exceptions:page_fault_user
 * tracepoint, x86) per thread and user stack, for memory that grows without
 * malloc: mmap'd files, Go's and JIT heaps, first touches of fresh pages.
 * The faulting registers are the tracepoint's own, so the walk starts at the
 * instruction that faulted. Two generations of maps, as in oncpu.bpf.c; the
 * key is struct oncpu_key (kernel stack id always -1). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "oncpu.h"
#include "sampler_maps.h"
#include "unwinder.h"

const volatile bool filter_tgid = false;
const volatile __u32 self_tgid = 0;
/* walk user stacks with the .eh_frame tables (unwinder.h) */
const volatile bool dwarf_unwind = false;

/* counts0/counts1: struct oncpu_key -> faults, one map per generation */
struct counts_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct oncpu_key);
	__type(value, __u64);
};
struct counts_map counts0 SEC(".maps");
struct counts_map counts1 SEC(".maps");

static __always_inline void fault(void *ctx, struct pt_regs *regs)
{
	__u64 id = bpf_get_current_pid_tgid(), one = 1, *val;
	__u32 tgid = id >> 32, pid = (__u32)id, zero = 0;
	struct sampler_control *ctl;
	struct oncpu_key key = {};
	long err;
	void *counts;

	if (pid == 0 || (self_tgid && tgid == self_tgid))
		return;
	ctl = bpf_map_lookup_elem(&control, &zero);
	if (!ctl)
		return;
	if (filter_tgid && !ctl->all_targets && !bpf_map_lookup_elem(&targets, &tgid))
		return;
	counts = ctl->generation ? (void *)&counts1 : (void *)&counts0;
	key.tgid = tgid;
	key.pid = pid;
	key.kern_stack_id = -1;
	key.py_stack_id = -1; /* no Python walker here */
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	if (dwarf_unwind)
		key.user_stack_id = unwind_user(tgid, BPF_CORE_READ(regs, ip), BPF_CORE_READ(regs, sp),
						BPF_CORE_READ(regs, bp),
						ctl->generation ? (void *)&ustacks1 : (void *)&ustacks0);
	else
		key.user_stack_id = stack_id(ctx, ctl->generation ? (void *)&stacks1 : (void *)&stacks0,
					     BPF_F_USER_STACK, SAMPLER_DROP_USER_STACK);
	val = bpf_map_lookup_elem(counts, &key);
	if (val) {
		__sync_fetch_and_add(val, 1);
		return;
	}
	err = bpf_map_update_elem(counts, &key, &one, BPF_NOEXIST);
	if (err == -EEXIST) {
		val = bpf_map_lookup_elem(counts, &key);
		if (val)
			__sync_fetch_and_add(val, 1);
	} else if (err) {
		drop(SAMPLER_DROP_COUNTS_FULL);
	}
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(page_fault_btf, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	fault(ctx, regs);
	return 0;
}

/* Fallback where tp_btf cannot attach. */
SEC("raw_tp/page_fault_user")
int BPF_PROG(page_fault_raw, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	fault(ctx, regs);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
