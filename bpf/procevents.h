/* Records procevents.bpf.c sends to user space. */
#ifndef __MESHPROF_PROCEVENTS_H
#define __MESHPROF_PROCEVENTS_H

enum procevent_kind {
	PROCEVENT_EXEC = 1, /* the process replaced its image (execve) */
	PROCEVENT_EXIT = 2, /* the last thread of the process exited */
};

/* Bytes of an exec's arguments the record carries; longer ones are read from /proc. */
#define PROCEVENT_ARGS_MAX 512

/* One ring buffer record, little endian: 24 bytes for an exit, all of it for an exec. */
struct procevent {
	__u32 pid; /* thread group id, as the root pid namespace sees it */
	__u32 kind; /* enum procevent_kind */
	char comm[16]; /* the task's comm, NUL-terminated: at an exec, the new program's */
	/* exec only: */
	__u32 args_len; /* bytes of the NUL-separated arguments (mm->arg_end - arg_start) */
	__u32 args_read; /* how many of them follow in args (0 when they could not be read) */
	char args[PROCEVENT_ARGS_MAX]; /* the arguments as /proc/PID/cmdline shows them at exec */
};

#endif /* __MESHPROF_PROCEVENTS_H */
