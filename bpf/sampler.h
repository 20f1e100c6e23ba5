/* What every stack sampler shares with user space (src/samplers/
 * oncpu-layout.ts, sampler-maps.ts); fixed-width types only. */
#ifndef __SAMPLER_H
#define __SAMPLER_H

#define SAMPLER_COMM_LEN 16
#define SAMPLER_MAX_STACK_DEPTH 127

/* Index of the `drops` per-CPU array: why a sample or a stack was lost. */
enum sampler_drop_reason {
	SAMPLER_DROP_COUNTS_FULL = 0,	/* counts map full: the sample is gone */
	SAMPLER_DROP_USER_STACK = 1,	/* sample kept, user stack id -1 */
	SAMPLER_DROP_KERNEL_STACK = 2,	/* sample kept, kernel stack id -1 */
	SAMPLER_DROP_MAX = 3,
};

/* The single entry of `control`, written by user space at run time. */
struct sampler_control {
	__u32 generation;	/* 0 or 1: which counts/stacks pair to write */
	__u32 all_targets;	/* 1: ignore `targets` even when filter_tgid */
};

#endif /* __SAMPLER_H */
