/* Structs shared by oncpu.bpf.c and the TypeScript decoder
 * (src/samplers/oncpu-layout.ts); fixed-width types only. */
#ifndef __ONCPU_H
#define __ONCPU_H

#define ONCPU_COMM_LEN 16
#define ONCPU_MAX_STACK_DEPTH 127

/* Index of the `drops` per-CPU array: why a sample or a stack was lost. */
enum oncpu_drop_reason {
	ONCPU_DROP_COUNTS_FULL = 0,	/* counts map full: the sample is gone */
	ONCPU_DROP_USER_STACK = 1,	/* sample kept, user stack id -1 */
	ONCPU_DROP_KERNEL_STACK = 2,	/* sample kept, kernel stack id -1 */
	ONCPU_DROP_MAX = 3,
};

/* Key of counts0/counts1. New fields go at the end so the decoder keeps its
 * offsets. With dwarf_unwind, user_stack_id is a key of ustacks<gen>
 * instead of stacks<gen>. */
struct oncpu_key {
	__u32 tgid;
	__u32 pid;
	__s32 user_stack_id;
	__s32 kern_stack_id;
	char comm[ONCPU_COMM_LEN];
};

/* The single entry of `control`, written by user space at run time. */
struct oncpu_control {
	__u32 generation;	/* 0 or 1: which counts/stacks pair to write */
	__u32 all_targets;	/* 1: ignore `targets` even when filter_tgid */
};

#endif /* __ONCPU_H */
