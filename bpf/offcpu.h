/* Structs shared by offcpu.bpf.c and the TypeScript decoder
 * (src/samplers/offcpu-layout.ts); fixed-width types only. */
#ifndef __OFFCPU_H
#define __OFFCPU_H

#include "sampler.h"

#define OFFCPU_COMM_LEN SAMPLER_COMM_LEN

/* Which switches to keep (const volatile `state_filter`). */
enum offcpu_state_filter {
	OFFCPU_STATE_ALL = 0,
	OFFCPU_STATE_SLEEP = 1,		/* voluntary: interruptible or uninterruptible */
	OFFCPU_STATE_PREEMPT = 2,	/* involuntary: still TASK_RUNNING when switched out */
};

/* Key of counts0/counts1: the thread and the stack it blocked with. */
struct offcpu_key {
	__u32 tgid;
	__u32 pid;
	__s32 user_stack_id;
	__s32 kern_stack_id;
	char comm[OFFCPU_COMM_LEN];
	__s32 py_stack_id;	/* key of pystacks<gen> (pywalker.h), -1: no Python frames */
	__u32 pad;
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

#endif /* __OFFCPU_H */
