/* Maps and helpers every stack sampler's kernel side has: the generation
 * switch, the target filter, the two generations of stack maps and the drop
 * counters. Each .bpf.c adds its own counts maps. */
#ifndef __SAMPLER_MAPS_H
#define __SAMPLER_MAPS_H

#include "sampler.h"
#include "compat.h"

/* control[0]: current generation and the run-time "all targets" switch */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sampler_control);
} control SEC(".maps");

/* targets: tgid -> 1 for every process to sample when filter_tgid */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

/* stacks0/stacks1: stack id -> up to 127 return addresses, leaf first */
struct stacks_map {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__uint(value_size, SAMPLER_MAX_STACK_DEPTH * sizeof(__u64));
};
struct stacks_map stacks0 SEC(".maps");
struct stacks_map stacks1 SEC(".maps");

/* drops[reason]: samples or stacks lost, see enum sampler_drop_reason */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SAMPLER_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void drop(__u32 reason)
{
	percpu_count(&drops, reason);
}

/* -EFAULT means "no stack of this kind here" (a sample taken in user mode
 * has no kernel stack); anything else (-EEXIST, -ENOMEM) is a lost stack. */
static __always_inline __s32 stack_id(void *ctx, void *stacks, __u64 flags, __u32 reason)
{
	long id = bpf_get_stackid(ctx, stacks, flags);

	if (id >= 0)
		return id;
	if (id != -EFAULT)
		drop(reason);
	return -1;
}

#endif /* __SAMPLER_MAPS_H */
