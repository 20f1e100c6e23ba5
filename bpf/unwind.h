/* Unwind table rows shared by the BPF stack walker and the TypeScript
 * table builder (src/unwind/unwind-row.ts, unwind-table-codec.ts);
 * fixed-width types only. The reference walker in src/unwind/unwind-stack.ts
 * is the spec of how a row is applied. */
#ifndef __UNWIND_H
#define __UNWIND_H

/* How the Canonical Frame Address of a frame is computed. */
enum unwind_cfa_type {
	UNWIND_CFA_NONE = 0,		/* no unwind info from this pc on (gap between FDEs) */
	UNWIND_CFA_RSP = 1,		/* cfa = rsp + cfa_offset */
	UNWIND_CFA_RBP = 2,		/* cfa = rbp + cfa_offset */
	UNWIND_CFA_PLT = 3,		/* cfa = rsp + cfa_offset + ((rip & 15) >= rbp_offset ? 8 : 0) */
	UNWIND_CFA_END = 4,		/* return address undefined: outermost frame (_start, clone) */
	UNWIND_CFA_UNSUPPORTED = 5,	/* a rule the table cannot express: stop */
};

/* Where the caller's rbp is. */
enum unwind_rbp_type {
	UNWIND_RBP_UNCHANGED = 0,	/* caller's rbp = current rbp */
	UNWIND_RBP_CFA_OFFSET = 1,	/* caller's rbp saved at cfa + rbp_offset */
	UNWIND_RBP_UNSUPPORTED = 2,	/* caller's rbp is lost: a later UNWIND_CFA_RBP row cannot be used */
};

/* x86-64: the return address is always at cfa - 8, so rows do not store it. */
#define UNWIND_RA_CFA_OFFSET (-8)

/* One row, valid from pc up to the next row's pc. A file's table is an
 * array of these sorted by pc (file virtual addresses: subtract the
 * mapping's load bias from the runtime pc before the binary search). For a
 * return address (every frame but the leaf) search for pc - 1. */
struct unwind_row {
	__u64 pc;
	__s32 cfa_offset;
	__s16 rbp_offset;	/* UNWIND_CFA_PLT: the (rip & 15) threshold instead */
	__u8 cfa_type;		/* enum unwind_cfa_type */
	__u8 rbp_type;		/* enum unwind_rbp_type */
};

_Static_assert(sizeof(struct unwind_row) == 16, "unwind_row must match UNWIND_ROW_SIZE");

/* unwind_asked[tgid % UNWIND_ASKED_SLOTS]: when a tgid was last asked for
 * (bpf/unwinder.h). procevents.bpf.c reads it too: a tgid asked for has its
 * execs reported even before its tables are installed. */
struct unwind_asked_slot {
	__u32 tgid;
	__u32 pad;
	__u64 ns;
};

#define UNWIND_ASKED_SLOTS 4096

#endif /* __UNWIND_H */
