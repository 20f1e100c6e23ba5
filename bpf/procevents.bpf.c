// SPDX-License-Identifier: GPL-2.0
/* Process lifecycle events: one record per exec and per process exit, so
 * user space can read a new program's mappings within milliseconds of its
 * start instead of at the next poll of the sampler (short-lived processes
 * would be gone by then). tp_btf programs (5.5+) with raw_tp fallbacks
 * (4.17+); user space picks one pair before load. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "procevents.h"

/* events: struct procevent records, newest last */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* lost[0]: records dropped because the ring buffer was full */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* An exec wakes the reader at once: the program may live for a millisecond.
 * An exit does not: it waits for the reader's next wakeup, which saves one
 * wakeup per short-lived program. An exec after an unread exit must force
 * its wakeup, since the ring buffer only wakes a reader that has caught up. */
static __always_inline int emit(struct task_struct *p, __u32 pid, __u32 kind)
{
	struct procevent *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	__u32 zero = 0;
	__u64 *n;

	if (!e) {
		n = bpf_map_lookup_elem(&lost, &zero);
		if (n)
			*n += 1;
		return 0;
	}
	e->pid = pid;
	e->kind = kind;
	/* exec has set it to the program's name: user space need not read /proc/PID/comm */
	BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
	bpf_ringbuf_submit(e, kind == PROCEVENT_EXEC ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	return 0;
}

static __always_inline int on_exec(struct task_struct *p)
{
	return emit(p, BPF_CORE_READ(p, tgid), PROCEVENT_EXEC);
}

/* sched_process_exit fires per thread; signal->live reaches 0 for the
 * last one (it is decremented before the tracepoint in do_exit). */
static __always_inline int on_exit(struct task_struct *p)
{
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	return emit(p, BPF_CORE_READ(p, tgid), PROCEVENT_EXIT);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec_btf, struct task_struct *p)
{
	return on_exec(p);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit_btf, struct task_struct *p)
{
	return on_exit(p);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(sched_process_exec_raw, struct task_struct *p)
{
	return on_exec(p);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(sched_process_exit_raw, struct task_struct *p)
{
	return on_exit(p);
}

char LICENSE[] SEC("license") = "GPL";
