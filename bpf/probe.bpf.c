// SPDX-License-Identifier: GPL-2.0
/* Trivial programs for `meshprof check`: the loader enables one at a time
 * (autoload) and tries to load and attach it to learn whether the kernel
 * supports that hook. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/sched_switch")
int BPF_PROG(probe_tp_btf)
{
	return 0;
}

SEC("raw_tp/sched_switch")
int probe_raw_tp(void *ctx)
{
	return 0;
}

SEC("kprobe/do_nanosleep")
int probe_kprobe(void *ctx)
{
	return 0;
}

SEC("fentry/do_nanosleep")
int BPF_PROG(probe_fentry)
{
	return 0;
}

SEC("uprobe")
int probe_uprobe(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
