/* Structs shared by oncpu.bpf.c and the TypeScript decoder
 * (src/samplers/oncpu-layout.ts); fixed-width types only. */
#ifndef __ONCPU_H
#define __ONCPU_H

#include "sampler.h"

#define ONCPU_COMM_LEN SAMPLER_COMM_LEN

/* Key of counts0/counts1. New fields go at the end so the decoder keeps its
 * offsets. With dwarf_unwind, user_stack_id is a key of ustacks<gen>
 * instead of stacks<gen>. */
struct oncpu_key {
	__u32 tgid;
	__u32 pid;
	__s32 user_stack_id;
	__s32 kern_stack_id;
	char comm[ONCPU_COMM_LEN];
	__s32 py_stack_id;	/* key of pystacks<gen> (pywalker.h), -1: no Python frames */
	__u32 pad;
};

#endif /* __ONCPU_H */
