/* Shared helpers of the meshprof native addon: a thin libbpf wrapper with
 * no policy. Failures become JS Errors carrying `errno`; libbpf's log goes
 * to a buffer that TypeScript drains with takeLog(). */
#ifndef MESHPROF_H
#define MESHPROF_H

#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <bpf/libbpf.h>

/* An opened bpf_object; `obj` is NULL once destroyed. */
struct mp_object {
	struct bpf_object *obj;
};

/* An attached link; `link` is NULL once destroyed. */
struct mp_link {
	struct bpf_link *link;
};

#define MP_MAX_ARGS 8

/* Throws Error("<op>: <strerror(err)>") with .errno = err (positive). */
void mp_throw_errno(napi_env env, const char *op, int err);
/* Throws a TypeError for a bad argument. */
void mp_throw_type(napi_env env, const char *msg);

/* Argument readers: return false (with an exception pending) on misuse. */
bool mp_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
bool mp_get_object(napi_env env, napi_value v, struct mp_object **out);
bool mp_get_string(napi_env env, napi_value v, char *buf, size_t size);
bool mp_get_u32(napi_env env, napi_value v, uint32_t *out);
bool mp_get_i32(napi_env env, napi_value v, int32_t *out);
bool mp_get_bool(napi_env env, napi_value v, bool *out);
bool mp_get_buffer(napi_env env, napi_value v, void **data, size_t *len);
/* Optional: buffer or null/undefined (data NULL). */
bool mp_get_buffer_opt(napi_env env, napi_value v, void **data, size_t *len);

napi_value mp_int(napi_env env, int64_t v);
napi_value mp_undefined(napi_env env);
napi_value mp_copy_buffer(napi_env env, const void *data, size_t len);
napi_value mp_wrap_link(napi_env env, struct bpf_link *link);
/* Finds program argv[1] of object argv[0]; NULL with an exception pending. */
struct bpf_program *mp_object_prog(napi_env env, napi_value *argv, struct mp_object **o);

/* Opens a cpu-clock perf event on cpu for every task; fd or -errno. */
int mp_perf_open_cpu_clock(int cpu, uint32_t hz);

/* Per-file export tables, called from module init. */
void mp_log_install(void);
napi_status mp_log_register(napi_env env, napi_value exports);
napi_status mp_object_register(napi_env env, napi_value exports);
napi_status mp_link_register(napi_env env, napi_value exports);
napi_status mp_maps_register(napi_env env, napi_value exports);
napi_status mp_probe_register(napi_env env, napi_value exports);
napi_status mp_ringbuf_register(napi_env env, napi_value exports);
napi_status mp_wait_register(napi_env env, napi_value exports);

/* Adds fn under name to exports. */
napi_status mp_export(napi_env env, napi_value exports, const char *name, napi_callback fn);

#endif /* MESHPROF_H */
