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
#include "unwind.h"

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

/* Set before load: report execs and exits only of the processes the
 * .eh_frame walker has sampled: those it has tables for (unwind_procs) or
 * has asked for (unwind_asked; their tables may still be loading), both
 * shared by user space. Any other program is read when the walker first
 * samples it (unwind_notices in unwinder.h), not at its exec: most programs
 * exec'ed on a busy host (a shell's /bin/true) are never sampled. */
const volatile bool only_known = false;

/* The walker's unwind_procs when only_known; its shape comes from the map shared. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} unwind_procs SEC(".maps");

/* The walker's unwind_asked when only_known (UNWIND_ASKED_SLOTS entries). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unwind_asked_slot);
} unwind_asked SEC(".maps");

static __always_inline bool reported(struct task_struct *p)
{
	struct unwind_asked_slot *a;
	__u32 tgid, slot;

	if (!only_known)
		return true;
	tgid = BPF_CORE_READ(p, tgid);
	if (bpf_map_lookup_elem(&unwind_procs, &tgid))
		return true;
	/* a slot another tgid took since only costs this exec's report */
	slot = tgid % UNWIND_ASKED_SLOTS;
	a = bpf_map_lookup_elem(&unwind_asked, &slot);
	return a && a->tgid == tgid;
}

/* Reserves a record of `size` bytes (a constant once inlined) and fills in
 * what every event carries; NULL, counted as lost, when the ring is full. */
static __always_inline struct procevent *begin_event(struct task_struct *p, __u64 size, __u32 kind)
{
	struct procevent *e = bpf_ringbuf_reserve(&events, size, 0);
	__u32 zero = 0;
	__u64 *n;

	if (!e) {
		n = bpf_map_lookup_elem(&lost, &zero);
		if (n)
			*n += 1;
		return NULL;
	}
	e->pid = BPF_CORE_READ(p, tgid);
	e->kind = kind;
	/* at an exec, exec has set it to the program's name */
	BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
	return e;
}

/* An exec wakes the reader at once: the program may live for a millisecond.
 * Its record carries what user space would otherwise read from /proc at each
 * exec: the comm and the arguments, which sit on the new program's stack, so
 * reading them here costs a copy where /proc/PID/cmdline costs a walk of
 * another process's memory. */
static __always_inline int on_exec(struct task_struct *p)
{
	struct procevent *e;
	unsigned long start, end;
	__u64 len;

	if (!reported(p))
		return 0;
	e = begin_event(p, sizeof(*e), PROCEVENT_EXEC);
	if (!e)
		return 0;
	start = BPF_CORE_READ(p, mm, arg_start);
	end = BPF_CORE_READ(p, mm, arg_end);
	len = end > start ? end - start : 0;
	e->args_len = len > 0xffffffff ? 0xffffffff : len;
	if (len > PROCEVENT_ARGS_MAX)
		len = PROCEVENT_ARGS_MAX;
	/* p is current here: its new stack is readable as user memory */
	e->args_read = len > 0 && bpf_probe_read_user(e->args, len, (void *)start) == 0 ? len : 0;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* An exit does not wake the reader: it waits for the reader's next wakeup,
 * which saves one wakeup per short-lived program. An exec after an unread
 * exit forces its wakeup, since the ring buffer only wakes a reader that has
 * caught up. The record stops after the comm. */
static __always_inline int emit_exit(struct task_struct *p)
{
	struct procevent *e = begin_event(p, offsetof(struct procevent, args_len), PROCEVENT_EXIT);

	if (e)
		bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

/* Empties tgid's unwind_asked slot as it exits. Left there, the slot would
 * report the execs and exits of whatever process takes the pid next: with a
 * pid_max of 32768 and 50 short-lived programs a second the pids come round
 * every 11 minutes, and the stale slots of every program sampled before
 * made the exec watcher read ever more of them (its events per minute grew
 * 2.6x in 25 minutes). The walker asks again for a new process sampled under
 * the pid. A write racing the walker's own only costs an ask. */
static __always_inline void forget_asked(__u32 tgid)
{
	__u32 slot = tgid % UNWIND_ASKED_SLOTS;
	struct unwind_asked_slot *a = bpf_map_lookup_elem(&unwind_asked, &slot);

	if (a && a->tgid == tgid)
		a->tgid = 0;
}

/* sched_process_exit fires per thread; signal->live reaches 0 for the
 * last one (it is decremented before the tracepoint in do_exit). */
static __always_inline int on_exit(struct task_struct *p)
{
	if (BPF_CORE_READ(p, signal, live.counter) != 0 || !reported(p))
		return 0;
	if (only_known)
		forget_asked(BPF_CORE_READ(p, tgid));
	return emit_exit(p);
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
