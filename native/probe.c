/* Kernel feature probes for `meshprof check` that need libbpf or a raw
 * syscall: program-type and helper support, cpu-clock perf events, CPU
 * counts. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "meshprof.h"

static const struct {
	const char *name;
	enum bpf_prog_type type;
} prog_types[] = {
	{ "perf_event", BPF_PROG_TYPE_PERF_EVENT },
	{ "tracing", BPF_PROG_TYPE_TRACING },
	{ "raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT },
	{ "kprobe", BPF_PROG_TYPE_KPROBE },
	{ "tracepoint", BPF_PROG_TYPE_TRACEPOINT },
	{ "socket_filter", BPF_PROG_TYPE_SOCKET_FILTER },
};

/* Helpers by their bpf.h name without BPF_FUNC_ (loop: 5.17). */
static const struct {
	const char *name;
	enum bpf_func_id id;
} helpers[] = {
	{ "loop", BPF_FUNC_loop },
};

/* prog_type__from_name(name, &type) -> 0, or -EINVAL for a name not in prog_types */
static int prog_type__from_name(const char *name, enum bpf_prog_type *type)
{
	size_t i;

	for (i = 0; i < sizeof(prog_types) / sizeof(prog_types[0]); i++)
		if (strcmp(prog_types[i].name, name) == 0) {
			*type = prog_types[i].type;
			return 0;
		}
	return -EINVAL;
}

/* probeProgType(name) -> 1 supported, 0 not, -errno when unknown/unprobeable */
static napi_value probe__prog_type(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	enum bpf_prog_type type;
	char name[64];
	int err;

	if (!mp_args(env, info, 1, argv) || !mp_get_string(env, argv[0], name, sizeof(name)))
		return NULL;
	err = prog_type__from_name(name, &type);
	return mp_int(env, err ? err : libbpf_probe_bpf_prog_type(type, NULL));
}

/* probeHelper(progType, helper) -> 1 when programs of that type may call
 * the helper, 0 when the verifier does not know it, -errno when a name is
 * unknown or the type cannot be probed (tracing: -EOPNOTSUPP). libbpf says
 * 1 when the probe program fails to load for another reason (no privileges). */
static napi_value probe__helper(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	enum bpf_prog_type type;
	char prog[64], helper[64];
	size_t i;
	int err;

	if (!mp_args(env, info, 2, argv) || !mp_get_string(env, argv[0], prog, sizeof(prog)) ||
	    !mp_get_string(env, argv[1], helper, sizeof(helper)))
		return NULL;
	err = prog_type__from_name(prog, &type);
	if (err)
		return mp_int(env, err);
	for (i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		if (strcmp(helpers[i].name, helper) == 0)
			return mp_int(env, libbpf_probe_bpf_helper(type, helpers[i].id, NULL));
	return mp_int(env, -EINVAL);
}

/* probeCpuClock(cpu) -> 0 when a cpu-clock sampling event opens, else -errno */
static napi_value probe__cpu_clock(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	uint32_t cpu;
	int fd;

	if (!mp_args(env, info, 1, argv) || !mp_get_u32(env, argv[0], &cpu))
		return NULL;
	fd = mp_perf_open_cpu_clock(cpu, 99);
	if (fd < 0)
		return mp_int(env, fd);
	close(fd);
	return mp_int(env, 0);
}

/* numPossibleCpus() -> libbpf's count, which sizes per-CPU values */
static napi_value probe__num_possible_cpus(napi_env env, napi_callback_info info)
{
	int n = libbpf_num_possible_cpus();

	if (n < 0) {
		mp_throw_errno(env, "counting possible cpus", n);
		return NULL;
	}
	return mp_int(env, n);
}

napi_status mp_probe_register(napi_env env, napi_value exports)
{
	napi_status s;

	if ((s = mp_export(env, exports, "probeProgType", probe__prog_type)) != napi_ok ||
	    (s = mp_export(env, exports, "probeHelper", probe__helper)) != napi_ok ||
	    (s = mp_export(env, exports, "probeCpuClock", probe__cpu_clock)) != napi_ok ||
	    (s = mp_export(env, exports, "numPossibleCpus", probe__num_possible_cpus)) != napi_ok)
		return s;
	return napi_ok;
}
