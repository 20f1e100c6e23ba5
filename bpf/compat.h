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

#endif /* __MESHPROF_COMPAT_H */
