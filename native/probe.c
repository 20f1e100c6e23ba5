/* Kernel feature probes for `meshprof check` that need libbpf or a raw
 * syscall: program-type support, cpu-clock perf events, CPU counts. */
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

/* probeProgType(name) -> 1 supported, 0 not, -errno when unknown/unprobeable */
static napi_value probe__prog_type(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	char name[64];
	size_t i;

	if (!mp_args(env, info, 1, argv) || !mp_get_string(env, argv[0], name, sizeof(name)))
		return NULL;
	for (i = 0; i < sizeof(prog_types) / sizeof(prog_types[0]); i++)
		if (strcmp(prog_types[i].name, name) == 0)
			return mp_int(env, libbpf_probe_bpf_prog_type(prog_types[i].type, NULL));
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
	    (s = mp_export(env, exports, "probeCpuClock", probe__cpu_clock)) != napi_ok ||
	    (s = mp_export(env, exports, "numPossibleCpus", probe__num_possible_cpus)) != napi_ok)
		return s;
	return napi_ok;
}
