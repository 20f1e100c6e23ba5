/* Structs shared by memory.bpf.c and the TypeScript decoder
 * (src/samplers/memory-layout.ts); fixed-width types only. */
#ifndef __MEMORY_H
#define __MEMORY_H

#include "sampler.h"

/* Quantiles of Exp(1) drawn for the next sampling interval, and steps of
 * the weight table h(x) = x / (1 - e^-x) over x = size / rate in [0, 16]. */
#define MEMORY_EXP_QUANTILES 1024
#define MEMORY_WEIGHT_STEPS 1024
/* x in 16.16 fixed point; a table step is 2^10 of it (x / 64). */
#define MEMORY_WEIGHT_SHIFT 10
/* Estimated object counts are kept in 16.16 fixed point. */
#define MEMORY_FX_SHIFT 16
/* An allocator call outstanding this long is taken as one whose return went unseen. */
#define MEMORY_CALL_STALE_NS 1000000000ULL

/* Memory drop reasons follow enum sampler_drop_reason in the same `drops`
 * array (resized to MEMORY_DROP_MAX by user space). */
enum memory_drop_reason {
	MEMORY_DROP_LIVE_FULL = 3,	/* a sampled block was not remembered: its free is missed */
	MEMORY_DROP_CALLS_FULL = 4,	/* a call's arguments were lost between entry and return */
	MEMORY_DROP_MAX = 5,
};

/* Which allocator call is in flight on a thread. */
enum memory_call {
	MEMORY_CALL_MALLOC = 0,		/* malloc, valloc, aligned_alloc, memalign, operator new, mallocx */
	MEMORY_CALL_CALLOC = 1,
	MEMORY_CALL_REALLOC = 2,	/* realloc, rallocx: frees `arg` when it returns a block */
	MEMORY_CALL_POSIX_MEMALIGN = 3,	/* the block is written to *(void **)arg */
	MEMORY_CALL_MMAP = 4,		/* anonymous mappings only */
};

/* Key of counts0/counts1: the allocating thread and its stack; the same
 * layout as struct oncpu_key (kern_stack_id is always -1). */
struct memory_key {
	__u32 tgid;
	__u32 pid;
	__s32 user_stack_id;
	__s32 kern_stack_id;
	char comm[SAMPLER_COMM_LEN];
	__s32 py_stack_id;	/* key of pystacks<gen> (pywalker.h), -1: no Python frames */
	__u32 pad;
};

/* Value of counts0/counts1: estimates scaled back from the sampled blocks;
 * frees are those of sampled blocks, charged to their allocating key. */
struct memory_value {
	__u64 alloc_objects_fx;	/* 16.16 fixed point */
	__u64 alloc_bytes;
	__u64 free_objects_fx;	/* 16.16 fixed point */
	__u64 free_bytes;
};

/* Key of `live`: a sampled block not yet freed. */
struct memory_addr {
	__u32 tgid;
	__u32 pad;
	__u64 addr;
};

/* Value of `live`: whom to charge the free to, and how much. */
struct memory_live {
	struct memory_key key;
	__u64 objects_fx;
	__u64 bytes;
};

/* Value of `calls`: the allocator call a thread is in, entry to return. */
struct memory_pending {
	__u64 size;
	__u64 arg;		/* realloc's old block, posix_memalign's out pointer */
	__u32 call;		/* enum memory_call */
	__u16 depth;		/* allocator calls nested inside this one (mmap in malloc) */
	__u8 sampled;
	__u8 pad;
	__u64 entered_ns;	/* when the outermost call began (a stale entry is dropped) */
};

#endif /* __MEMORY_H */
