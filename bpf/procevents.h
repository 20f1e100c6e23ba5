/* Records procevents.bpf.c sends to user space. */
#ifndef __MESHPROF_PROCEVENTS_H
#define __MESHPROF_PROCEVENTS_H

enum procevent_kind {
	PROCEVENT_EXEC = 1, /* the process replaced its image (execve) */
	PROCEVENT_EXIT = 2, /* the last thread of the process exited */
};

/* One ring buffer record: 24 bytes, little endian. */
struct procevent {
	__u32 pid; /* thread group id, as the root pid namespace sees it */
	__u32 kind; /* enum procevent_kind */
	char comm[16]; /* the task's comm, NUL-terminated: at an exec, the new program's */
};

#endif /* __MESHPROF_PROCEVENTS_H */
