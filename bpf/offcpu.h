/* Structs shared by offcpu.bpf.c and the TypeScript decoder
 * (src/samplers/offcpu-layout.ts); fixed-width types only. */
#ifndef __OFFCPU_H
#define __OFFCPU_H

#define OFFCPU_COMM_LEN 16
#define OFFCPU_MAX_STACK_DEPTH 127

/* Which switches to keep (const volatile `state_filter`). */
enum offcpu_state_filter {
	OFFCPU_STATE_ALL = 0,
	OFFCPU_STATE_SLEEP = 1,		/* voluntary: interruptible or uninterruptible */
	OFFCPU_STATE_PREEMPT = 2,	/* involuntary: still TASK_RUNNING when switched out */
};

/* Index of the `drops` per-CPU array. */
enum offcpu_drop_reason {
	OFFCPU_DROP_COUNTS_FULL = 0,	/* counts map full: the block is gone */
	OFFCPU_DROP_USER_STACK = 1,	/* block kept, user stack id -1 */
	OFFCPU_DROP_KERNEL_STACK = 2,	/* block kept, kernel stack id -1 */
	OFFCPU_DROP_MAX = 3,
};

/* Key of counts0/counts1: the thread and the stack it blocked with. */
struct offcpu_key {
	__u32 tgid;
	__u32 pid;
	__s32 user_stack_id;
	__s32 kern_stack_id;
	char comm[OFFCPU_COMM_LEN];
};

/* Value of counts0/counts1. */
struct offcpu_value {
	__u64 switches;		/* times the thread left the CPU with this stack */
	__u64 total_ns;		/* summed time until it ran again */
};

/* Value of `start`: what a thread looked like when it left the CPU. */
struct offcpu_start {
	__u64 ts_ns;
	struct offcpu_key key;
	__u32 generation;	/* the stacks map its stack ids live in */
	__u32 pad;
};

/* The single entry of `control`, written by user space at run time. */
struct offcpu_control {
	__u32 generation;	/* 0 or 1: which counts/stacks pair to write */
	__u32 all_targets;	/* 1: ignore `targets` even when filter_tgid */
};

#endif /* __OFFCPU_H */
