/* Attaching programs: perf events (one cpu-clock event per CPU), programs
 * whose section names their hook (tp_btf, raw_tp, ...), uprobes. Each
 * returns a link handle for destroyLink(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include "meshprof.h"

static void link__finalize(napi_env env, void *data, void *hint)
{
	struct mp_link *l = data;

	if (l->link)
		bpf_link__destroy(l->link);
	free(l);
}

napi_value mp_wrap_link(napi_env env, struct bpf_link *link)
{
	struct mp_link *l = calloc(1, sizeof(*l));
	napi_value r;

	if (!l) {
		bpf_link__destroy(link);
		mp_throw_errno(env, "attaching program", ENOMEM);
		return NULL;
	}
	l->link = link;
	if (napi_create_external(env, l, link__finalize, NULL, &r) != napi_ok) {
		bpf_link__destroy(link);
		free(l);
		return NULL;
	}
	return r;
}

/* Opens a software cpu-clock event sampling at hz on cpu for every task;
 * returns the fd or -errno. Shared with the feature probe. */
int mp_perf_open_cpu_clock(int cpu, uint32_t hz)
{
	struct perf_event_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.freq = 1;
	attr.sample_freq = hz;
	fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* attachPerfEvent(handle, prog, cpu, hz) -> link */
static napi_value link__attach_perf_event(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	struct mp_object *o;
	struct bpf_program *prog;
	struct bpf_link *link;
	uint32_t cpu, hz;
	int fd, err;

	if (!mp_args(env, info, 4, argv) || !(prog = mp_object_prog(env, argv, &o)) ||
	    !mp_get_u32(env, argv[2], &cpu) || !mp_get_u32(env, argv[3], &hz))
		return NULL;
	fd = mp_perf_open_cpu_clock(cpu, hz);
	if (fd < 0) {
		mp_throw_errno(env, "opening perf event", fd);
		return NULL;
	}
	link = bpf_program__attach_perf_event(prog, fd);
	err = libbpf_get_error(link);
	if (err) {
		close(fd);
		mp_throw_errno(env, "attaching perf event", err);
		return NULL;
	}
	/* the link owns fd from here: bpf_link__destroy closes it */
	return mp_wrap_link(env, link);
}

/* attach(handle, prog) -> link, for hooks named by the section. */
static napi_value link__attach(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct mp_object *o;
	struct bpf_program *prog;
	struct bpf_link *link;
	int err;

	if (!mp_args(env, info, 2, argv) || !(prog = mp_object_prog(env, argv, &o)))
		return NULL;
	link = bpf_program__attach(prog);
	err = libbpf_get_error(link);
	if (err) {
		mp_throw_errno(env, "attaching program", err);
		return NULL;
	}
	return mp_wrap_link(env, link);
}

/* attachUprobe(handle, prog, pid, binaryPath, funcName, offset, retprobe) -> link.
 * funcName may be "" to use the raw file offset. pid -1 = every process. */
static napi_value link__attach_uprobe(napi_env env, napi_callback_info info)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts);
	napi_value argv[7];
	struct mp_object *o;
	struct bpf_program *prog;
	struct bpf_link *link;
	char path[4096], func[512];
	int32_t pid;
	int64_t offset;
	bool ret;
	int err;

	if (!mp_args(env, info, 7, argv) || !(prog = mp_object_prog(env, argv, &o)) ||
	    !mp_get_i32(env, argv[2], &pid) || !mp_get_string(env, argv[3], path, sizeof(path)) ||
	    !mp_get_string(env, argv[4], func, sizeof(func)) || !mp_get_bool(env, argv[6], &ret))
		return NULL;
	if (napi_get_value_int64(env, argv[5], &offset) != napi_ok || offset < 0) {
		mp_throw_type(env, "expected a non-negative offset");
		return NULL;
	}
	opts.retprobe = ret;
	opts.func_name = func[0] ? func : NULL;
	link = bpf_program__attach_uprobe_opts(prog, pid, path, (size_t)offset, &opts);
	err = libbpf_get_error(link);
	if (err) {
		mp_throw_errno(env, "attaching uprobe", err);
		return NULL;
	}
	return mp_wrap_link(env, link);
}

/* destroyLink(link): idempotent. */
static napi_value link__destroy(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	void *p = NULL;
	struct mp_link *l;

	if (!mp_args(env, info, 1, argv))
		return NULL;
	if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
		mp_throw_type(env, "expected a link handle");
		return NULL;
	}
	l = p;
	if (l->link)
		bpf_link__destroy(l->link);
	l->link = NULL;
	return mp_undefined(env);
}

napi_status mp_link_register(napi_env env, napi_value exports)
{
	napi_status s;

	if ((s = mp_export(env, exports, "attachPerfEvent", link__attach_perf_event)) != napi_ok ||
	    (s = mp_export(env, exports, "attach", link__attach)) != napi_ok ||
	    (s = mp_export(env, exports, "attachUprobe", link__attach_uprobe)) != napi_ok ||
	    (s = mp_export(env, exports, "destroyLink", link__destroy)) != napi_ok)
		return s;
	return napi_ok;
}
