/* Definitions vmlinux.h cannot carry (macros) and kernel-version
 * workarounds; each cites where it comes from. */
#ifndef __MESHPROF_COMPAT_H
#define __MESHPROF_COMPAT_H

/* include/linux/sched.h: task_struct.flags bit of kernel threads */
#ifndef PF_KTHREAD
#define PF_KTHREAD 0x00200000
#endif

/* include/uapi/asm-generic/errno-base.h and errno.h */
#ifndef EFAULT
#define EFAULT 14
#endif
#ifndef EEXIST
#define EEXIST 17
#endif

/* VAR = min(VAR, UMAX) on the register itself, so the verifier sees the
 * bound on the value a helper then takes (a C compare may test a copy);
 * as libbpf-tools' bpf_clamp_umax. */
#ifndef bpf_clamp_umax
#define bpf_clamp_umax(VAR, UMAX)						\
	asm volatile("if %0 <= %[max] goto +1\n"				\
		     "%0 = %[max]\n"						\
		     : "+r"(VAR)						\
		     : [max] "i"(UMAX))
#endif

/* Linux 5.14 (commit 2f064a59a11f) renamed task_struct.state to __state;
 * the ___pre514 flavour lets CO-RE read whichever this kernel has. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *task)
{
	if (bpf_core_field_exists(task->__state))
		return BPF_CORE_READ(task, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)task, state);
}

/* arch/x86/include/uapi/asm/ptrace.h: the UAPI pt_regs layout that
 * bpf_perf_event_data.regs has. Kernels with FRED
 * support (6.9) made `cs` a union in the kernel's struct, so read it
 * through this stable view, as the 8-byte ctx loads require. */
struct uapi_pt_regs_x86 {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

/* The user registers of the current task: the interrupted ones when a
 * perf_event sample hit user mode (`regs` non-NULL and cs RPL 3), else the
 * ones saved at kernel entry through bpf_task_pt_regs (Linux 5.15). */
static __always_inline void current_user_regs(struct uapi_pt_regs_x86 *regs,
					      __u64 *ip, __u64 *sp, __u64 *bp)
{
	struct pt_regs *saved;

	if (regs && (regs->cs & 3) == 3) {
		*ip = regs->ip;
		*sp = regs->sp;
		*bp = regs->bp;
		return;
	}
	saved = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	*ip = BPF_CORE_READ(saved, ip);
	*sp = BPF_CORE_READ(saved, sp);
	*bp = BPF_CORE_READ(saved, bp);
}

/* Adds n to slot `idx` of a per-CPU u64 array of counters (drop reasons).
 * Atomic although the slot is this CPU's own: a uprobe program runs with
 * migration disabled but preemptible (PREEMPT kernels), and another task's
 * program on this CPU may add in between a plain load and store. Drops are
 * rare, so the locked add costs nothing that matters. */
static __always_inline void percpu_add(void *counters, __u32 idx, __u64 n)
{
	__u64 *p = bpf_map_lookup_elem(counters, &idx);

	if (p)
		__sync_fetch_and_add(p, n);
}

static __always_inline void percpu_count(void *counters, __u32 idx)
{
	percpu_add(counters, idx, 1);
}

/* include/uapi/linux/stat.h, include/linux/socket.h, include/linux/net.h:
 * what tells a TCP socket's file apart from any other */
#ifndef S_IFMT
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#endif
#ifndef AF_INET
#define AF_INET 2
#define AF_INET6 10
#endif
#ifndef SOCK_STREAM
#define SOCK_STREAM 1
#endif

#endif /* __MESHPROF_COMPAT_H */
