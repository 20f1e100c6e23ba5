/* The .eh_frame user-stack walker shared by oncpu.bpf.c and offcpu.bpf.c,
 * and the structs of its maps that user space writes
 * (src/unwind/unwind-maps.ts). It follows src/unwind/unwind-stack.ts, the
 * reference walker: frames[0] is rip, later frames are looked up at pc - 1,
 * the return address is at CFA - 8. Where a pc has no usable row (JIT code,
 * files without .eh_frame, processes without tables) it steps by frame
 * pointers instead. Needs bpf_loop (5.17) and bpf_task_pt_regs (5.15). */
#ifndef __UNWINDER_H
#define __UNWINDER_H

#include "unwind.h"

#define UNWIND_MAX_DEPTH 127
/* Mappings per process; a power of two so the search takes log2 steps. */
#define UNWIND_MAX_MAPPINGS 64
#define UNWIND_MAPPING_STEPS 7
/* Rows per table are capped at 2^24 so 25 halvings always finish. */
#define UNWIND_MAX_TABLE_ROWS (1 << 24)
#define UNWIND_ROW_STEPS 25

/* Rows travel in chunks of 64: a libc's 28k rows are 450 map values,
 * written by user space with batch updates of 1,024 chunks. */
#define UNWIND_ROWS_PER_CHUNK 64

/* Why a walk ended; enum order is the user-space reason order. */
enum unwind_stop {
	UNWIND_STOP_END = 0,		/* outermost frame or zero return address */
	UNWIND_STOP_DEPTH = 1,		/* UNWIND_MAX_DEPTH frames and more to go */
	UNWIND_STOP_NO_INFO = 2,	/* no row and frame pointers did not continue */
	UNWIND_STOP_UNREADABLE = 3,	/* a stack read faulted or hit unmapped memory */
};

/* Index of the unwind_drops per-CPU array: how a walked user stack was cut
 * short or lost (the sample itself is kept). */
enum unwind_drop_reason {
	UNWIND_DROP_DEPTH = 0,		/* UNWIND_STOP_DEPTH */
	UNWIND_DROP_NO_INFO = 1,	/* UNWIND_STOP_NO_INFO */
	UNWIND_DROP_UNREADABLE = 2,	/* UNWIND_STOP_UNREADABLE */
	UNWIND_DROP_NO_TABLES = 3,	/* the process had no tables: frame pointers only */
	UNWIND_DROP_COLLISION = 4,	/* another stack holds the same 31-bit id: id -1 */
	UNWIND_DROP_FULL = 5,		/* the ustacks map was full: id -1 */
	UNWIND_DROP_PY_UNREADABLE = 6,	/* pywalker.h: a thread state or frame read faulted */
	UNWIND_DROP_PY_DEPTH = 7,	/* pywalker.h: PY_MAX_DEPTH Python frames and more */
	UNWIND_DROP_PY_COLLISION = 8,	/* pywalker.h: another Python stack holds the id */
	UNWIND_DROP_PY_FULL = 9,	/* pywalker.h: the pystacks map was full */
	UNWIND_DROP_MAX = 10,
};

/* One executable file mapping of a process: runtime [start, end) and the
 * table of the file; file vaddr = pc - bias. */
struct unwind_mapping {
	__u64 start;
	__u64 end;
	__u64 bias;
	__u32 table_id;
	__u32 pad;
};

/* Value of unwind_procs: a process's mappings sorted by start. */
struct unwind_proc {
	__u32 count;
	__u32 pad;
	struct unwind_mapping maps[UNWIND_MAX_MAPPINGS];
};

/* Value of unwind_rows: 64 consecutive rows. */
struct unwind_chunk {
	struct unwind_row rows[UNWIND_ROWS_PER_CHUNK];
};

/* Value of unwind_tables: where one file's rows are in unwind_rows (row
 * index i lives in chunk i / 64, slot i % 64). */
struct unwind_range {
	__u32 first_row;
	__u32 row_count;
};

/* Value of the ustacks maps: one walked user stack, leaf first. The key is
 * the low 31 bits of `hash`, so it fits the counts key's s32 user stack id;
 * the full hash tells a collision from the same stack. */
struct user_stack {
	__u32 len;
	__u32 stop;		/* enum unwind_stop */
	__u64 hash;
	__u64 pcs[UNWIND_MAX_DEPTH];
};

#ifdef __VMLINUX_H__

#include "compat.h"

/* Registers and results of the walk in progress; per-CPU scratch because
 * a user_stack is too big for the 512-byte BPF stack. */
struct walk_state {
	struct user_stack stack;
	__u64 rip;
	__u64 rsp;
	__u64 rbp;
	__u32 tgid;
	__u8 rbp_known;
	__u8 has_proc;
	__u8 pad[2];
};

/* unwind_rows: chunk index -> 64 rows; every file's table is a contiguous
 * pc-sorted run of rows starting on a chunk boundary */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 14);
	__type(key, __u32);
	__type(value, struct unwind_chunk);
} unwind_rows SEC(".maps");

/* Row `idx` of unwind_rows, or NULL. */
static __always_inline struct unwind_row *unwind_row_at(__u32 idx)
{
	__u32 chunk = idx / UNWIND_ROWS_PER_CHUNK;
	struct unwind_chunk *c = bpf_map_lookup_elem(&unwind_rows, &chunk);

	return c ? &c->rows[idx % UNWIND_ROWS_PER_CHUNK] : NULL;
}

/* unwind_tables: table id -> its run of rows in unwind_rows */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct unwind_range);
} unwind_tables SEC(".maps");

/* unwind_procs: tgid -> its executable mappings and their tables */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct unwind_proc);
} unwind_procs SEC(".maps");

/* unwind_asks: tgids of processes sampled without tables, for user space
 * to install theirs at once (a forked worker, a new program) instead of
 * after the next drain; each tgid about once a second (unwind_asked).
 * 16-byte records (header + tgid): 4096 asks between two reads. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} unwind_asks SEC(".maps");

/* unwind_asked[tgid % 4096]: an array, not an LRU hash, because the on-CPU
 * program may run in NMI inside the off-CPU one on the same CPU, and a hash
 * map's bucket or LRU lock taken there would never be released. Two tgids
 * sharing a slot only cost an extra ask; racing writers, a torn slot, the
 * same. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, UNWIND_ASKED_SLOTS);
	__type(key, __u32);
	__type(value, struct unwind_asked_slot);
} unwind_asked SEC(".maps");

#define UNWIND_ASK_EVERY_NS 1000000000ULL

/* unwind_notices: the same tgids as unwind_asks, for the exec watcher thread,
 * which reads their /proc entry at once (the program may live a millisecond
 * longer). It then need not read every program exec'ed on the host: most are
 * never sampled. It may have no reader; a full ring only loses notices. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} unwind_notices SEC(".maps");

/* Asks user space for tgid's tables; a full ring is retried a second later.
 * Default (adaptive) wakeup: user space sleeps on the ring's fd rather than
 * polling it on a timer, and asks are rare (each tgid about once a second);
 * the wakeup goes through irq_work, so it is safe under sched_switch or in NMI. */
static __always_inline void unwind_ask(__u32 tgid)
{
	__u32 slot = tgid % UNWIND_ASKED_SLOTS;
	struct unwind_asked_slot *a = bpf_map_lookup_elem(&unwind_asked, &slot);
	__u64 now = bpf_ktime_get_ns();

	if (!a)
		return;
	if (a->tgid == tgid && now - a->ns < UNWIND_ASK_EVERY_NS)
		return;
	a->tgid = tgid;
	a->ns = now;
	bpf_ringbuf_output(&unwind_asks, &tgid, sizeof(tgid), 0);
	bpf_ringbuf_output(&unwind_notices, &tgid, sizeof(tgid), 0);
}

/* unwind_drops[reason]: walks cut short or lost, see enum unwind_drop_reason */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, UNWIND_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} unwind_drops SEC(".maps");

static __always_inline void unwind_drop(__u32 reason)
{
	percpu_count(&unwind_drops, reason);
}

/* ustacks0/ustacks1: 31-bit hash of the pcs -> walked user stack, one map per
 * generation of the including sampler (its stacks0/stacks1 beside them) */
struct ustacks_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct user_stack);
};
struct ustacks_map ustacks0 SEC(".maps");
struct ustacks_map ustacks1 SEC(".maps");

/* unwind_scratch[0]: this CPU's walk in progress */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_state);
} unwind_scratch SEC(".maps");

/* The two binary searches run as bpf_loop callbacks rather than bounded
 * loops: the verifier checks a callback once instead of unrolling every
 * step inside every frame of the walk, which cut the on-CPU program's
 * load from ~350 to ~60 ms. The kernel inlines bpf_loop (5.19+). */
struct row_search {
	__u64 fpc;
	__u32 first, lo, hi, failed;
};

struct mapping_search {
	struct unwind_proc *proc;
	__u64 pc;
	__u32 lo, hi;
};

/* bpf_loop callback: one step of the binary search over a process's mappings. */
static long unwind_mapping_search_step(__u64 index, void *data)
{
	struct mapping_search *s = data;
	__u32 mid;

	if (s->lo >= s->hi)
		return 1;
	mid = (s->lo + s->hi) / 2;
	if (mid >= UNWIND_MAX_MAPPINGS)
		return 1;
	if (s->proc->maps[mid].start <= s->pc)
		s->lo = mid + 1;
	else
		s->hi = mid;
	return 0;
}

/* bpf_loop callback: one step of the binary search over a table's rows. */
static long unwind_row_search_step(__u64 index, void *data)
{
	struct row_search *s = data;
	struct unwind_row *r;
	__u32 mid;

	if (s->lo >= s->hi)
		return 1;
	mid = (s->lo + s->hi) / 2;
	r = unwind_row_at(s->first + mid);
	if (!r) {
		s->failed = 1;
		return 1;
	}
	if (r->pc <= s->fpc)
		s->lo = mid + 1;
	else
		s->hi = mid;
	return 0;
}

/* The row covering runtime `pc` in process `tgid`, or NULL. */
static __always_inline struct unwind_row *unwind_find_row(__u32 tgid, __u64 pc)
{
	struct unwind_proc *proc = bpf_map_lookup_elem(&unwind_procs, &tgid);
	struct unwind_mapping *m;
	struct unwind_range *range;
	struct mapping_search msctx;
	struct row_search sctx;
	__u32 lo;

	if (!proc)
		return NULL;
	msctx.proc = proc;
	msctx.pc = pc;
	msctx.lo = 0;
	msctx.hi = proc->count;
	if (msctx.hi > UNWIND_MAX_MAPPINGS)
		msctx.hi = UNWIND_MAX_MAPPINGS;
	/* lo ends as the number of mappings starting at or below pc */
	bpf_loop(UNWIND_MAPPING_STEPS, unwind_mapping_search_step, &msctx, 0);
	lo = msctx.lo;
	if (lo == 0 || lo > UNWIND_MAX_MAPPINGS)
		return NULL;
	m = &proc->maps[lo - 1];
	if (pc >= m->end)
		return NULL;
	range = bpf_map_lookup_elem(&unwind_tables, &m->table_id);
	if (!range || range->row_count == 0 || range->row_count > UNWIND_MAX_TABLE_ROWS)
		return NULL;
	sctx.fpc = pc - m->bias;
	sctx.first = range->first_row;
	sctx.lo = 0;
	sctx.hi = range->row_count;
	sctx.failed = 0;
	bpf_loop(UNWIND_ROW_STEPS, unwind_row_search_step, &sctx, 0);
	if (sctx.failed || sctx.lo == 0)
		return NULL;
	return unwind_row_at(sctx.first + sctx.lo - 1);
}

/* One frame-pointer step: the fallback where no row applies. */
static __always_inline long unwind_fp_step(struct walk_state *st)
{
	__u64 frame[2];	/* saved rbp, return address */

	if (!st->rbp_known || st->rbp == 0) {
		/* a process without tables ends its frame-pointer chain at rbp 0 */
		st->stack.stop = st->has_proc ? UNWIND_STOP_NO_INFO : UNWIND_STOP_END;
		return 1;
	}
	if (bpf_probe_read_user(frame, sizeof(frame), (void *)st->rbp)) {
		st->stack.stop = UNWIND_STOP_UNREADABLE;
		return 1;
	}
	if (frame[1] == 0) {
		st->stack.stop = UNWIND_STOP_END;
		return 1;
	}
	st->rip = frame[1];
	st->rsp = st->rbp + 16;
	st->rbp = frame[0];
	return 0;
}

/* bpf_loop's context must live on the BPF stack: it carries the scratch pointer. */
struct walk_ctx {
	struct walk_state *st;
};

/* bpf_loop callback: records the current frame, then unwinds one level. */
static long unwind_step(__u64 index, void *data)
{
	struct walk_state *st = ((struct walk_ctx *)data)->st;
	__u32 n = st->stack.len;
	__u64 pc = st->rip, cfa, ra, saved;
	struct unwind_row *row;
	__s32 cfa_offset;
	__s16 rbp_offset;
	__u8 cfa_type, rbp_type;

	if (n >= UNWIND_MAX_DEPTH) {
		st->stack.stop = UNWIND_STOP_DEPTH;
		return 1;
	}
	st->stack.pcs[n] = pc;
	st->stack.len = n + 1;
	st->stack.hash = (st->stack.hash ^ pc) * 0x100000001b3ULL;

	row = st->has_proc ? unwind_find_row(st->tgid, n == 0 ? pc : pc - 1) : NULL;
	if (!row)
		return unwind_fp_step(st);
	cfa_type = row->cfa_type;
	cfa_offset = row->cfa_offset;
	rbp_type = row->rbp_type;
	rbp_offset = row->rbp_offset;
	switch (cfa_type) {
	case UNWIND_CFA_END:
		st->stack.stop = UNWIND_STOP_END;
		return 1;
	case UNWIND_CFA_RSP:
		cfa = st->rsp + cfa_offset;
		break;
	case UNWIND_CFA_RBP:
		if (!st->rbp_known) {
			st->stack.stop = UNWIND_STOP_NO_INFO;
			return 1;
		}
		cfa = st->rbp + cfa_offset;
		break;
	case UNWIND_CFA_PLT:
		cfa = st->rsp + cfa_offset + ((pc & 15) >= (__u64)rbp_offset ? 8 : 0);
		break;
	default:	/* NONE (gap) or UNSUPPORTED: frame pointers may still work */
		return unwind_fp_step(st);
	}
	if (bpf_probe_read_user(&ra, sizeof(ra), (void *)(cfa + UNWIND_RA_CFA_OFFSET))) {
		st->stack.stop = UNWIND_STOP_UNREADABLE;
		return 1;
	}
	if (rbp_type == UNWIND_RBP_CFA_OFFSET) {
		if (bpf_probe_read_user(&saved, sizeof(saved), (void *)(cfa + rbp_offset))) {
			st->stack.stop = UNWIND_STOP_UNREADABLE;
			return 1;
		}
		st->rbp = saved;
		st->rbp_known = 1;
	} else if (rbp_type == UNWIND_RBP_UNSUPPORTED) {
		st->rbp_known = 0;
	}
	if (ra == 0) {
		st->stack.stop = UNWIND_STOP_END;
		return 1;
	}
	st->rip = ra;
	st->rsp = cfa;
	return 0;
}

/* Walks the user stack from these registers into this CPU's scratch and
 * stores it in `ustacks` under a 31-bit id taken from the hash of its pcs;
 * counts in unwind_drops how it was cut short or lost. Returns the id, or
 * -1 when there is no stack or it could not be stored. */
static __always_inline __s32 unwind_user(__u32 tgid, __u64 ip, __u64 sp, __u64 bp, void *ustacks)
{
	struct walk_state *st;
	struct user_stack *old;
	struct walk_ctx wctx;
	__u32 zero = 0, id;
	__u64 h;
	long err;

	if (ip == 0)
		return -1;
	st = bpf_map_lookup_elem(&unwind_scratch, &zero);
	if (!st)
		return -1;
	st->stack.len = 0;
	st->stack.stop = UNWIND_STOP_END;
	st->rip = ip;
	st->rsp = sp;
	st->rbp = bp;
	st->stack.hash = 0xcbf29ce484222325ULL;
	st->tgid = tgid;
	st->rbp_known = 1;
	st->has_proc = bpf_map_lookup_elem(&unwind_procs, &tgid) != NULL;
	if (!st->has_proc) {
		unwind_drop(UNWIND_DROP_NO_TABLES);
		unwind_ask(tgid);
	}
	/* one extra iteration notices a stack deeper than the limit */
	wctx.st = st;
	bpf_loop(UNWIND_MAX_DEPTH + 1, unwind_step, &wctx, 0);
	if (st->stack.stop == UNWIND_STOP_DEPTH)
		unwind_drop(UNWIND_DROP_DEPTH);
	else if (st->stack.stop == UNWIND_STOP_NO_INFO)
		unwind_drop(UNWIND_DROP_NO_INFO);
	else if (st->stack.stop == UNWIND_STOP_UNREADABLE)
		unwind_drop(UNWIND_DROP_UNREADABLE);
	if (st->stack.len == 0)
		return -1;
	/* murmur3 finalizer: spread the FNV state over all 64 bits */
	h = st->stack.hash ^ st->stack.len;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	st->stack.hash = h;
	id = h & 0x7fffffff;
	err = bpf_map_update_elem(ustacks, &id, &st->stack, BPF_NOEXIST);
	if (err == -EEXIST) {
		old = bpf_map_lookup_elem(ustacks, &id);
		if (old && old->hash != h) {
			unwind_drop(UNWIND_DROP_COLLISION);
			return -1;
		}
	} else if (err) {
		unwind_drop(UNWIND_DROP_FULL);
		return -1;
	}
	return id;
}

#endif /* __VMLINUX_H__ */

#endif /* __UNWINDER_H */
