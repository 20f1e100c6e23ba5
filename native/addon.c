/* Module init and argument/error helpers shared by every native file. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "meshprof.h"

void mp_throw_errno(napi_env env, const char *op, int err)
{
	char msg[512];
	napi_value m, e, n;

	if (err < 0)
		err = -err;
	snprintf(msg, sizeof(msg), "%s: %s", op, strerror(err));
	napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
	napi_create_error(env, NULL, m, &e);
	napi_create_int32(env, err, &n);
	napi_set_named_property(env, e, "errno", n);
	napi_throw(env, e);
}

void mp_throw_type(napi_env env, const char *msg)
{
	napi_throw_type_error(env, NULL, msg);
}

bool mp_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
	size_t argc = want;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return false;
	if (argc < want) {
		mp_throw_type(env, "missing arguments");
		return false;
	}
	return true;
}

bool mp_get_object(napi_env env, napi_value v, struct mp_object **out)
{
	void *p = NULL;

	if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
		mp_throw_type(env, "expected a bpf object handle");
		return false;
	}
	*out = p;
	if (!(*out)->obj) {
		mp_throw_errno(env, "using bpf object", EBADF);
		return false;
	}
	return true;
}

bool mp_get_string(napi_env env, napi_value v, char *buf, size_t size)
{
	size_t len;

	if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) {
		mp_throw_type(env, "expected a string");
		return false;
	}
	if (len >= size - 1) {
		mp_throw_type(env, "string argument too long");
		return false;
	}
	return true;
}

bool mp_get_u32(napi_env env, napi_value v, uint32_t *out)
{
	if (napi_get_value_uint32(env, v, out) != napi_ok) {
		mp_throw_type(env, "expected an unsigned integer");
		return false;
	}
	return true;
}

bool mp_get_i32(napi_env env, napi_value v, int32_t *out)
{
	if (napi_get_value_int32(env, v, out) != napi_ok) {
		mp_throw_type(env, "expected an integer");
		return false;
	}
	return true;
}

bool mp_get_bool(napi_env env, napi_value v, bool *out)
{
	if (napi_get_value_bool(env, v, out) != napi_ok) {
		mp_throw_type(env, "expected a boolean");
		return false;
	}
	return true;
}

bool mp_get_buffer(napi_env env, napi_value v, void **data, size_t *len)
{
	if (napi_get_buffer_info(env, v, data, len) != napi_ok) {
		mp_throw_type(env, "expected a Buffer");
		return false;
	}
	return true;
}

bool mp_get_buffer_opt(napi_env env, napi_value v, void **data, size_t *len)
{
	napi_valuetype t;

	napi_typeof(env, v, &t);
	if (t == napi_null || t == napi_undefined) {
		*data = NULL;
		*len = 0;
		return true;
	}
	return mp_get_buffer(env, v, data, len);
}

napi_value mp_int(napi_env env, int64_t v)
{
	napi_value r;

	napi_create_int64(env, v, &r);
	return r;
}

napi_value mp_undefined(napi_env env)
{
	napi_value r;

	napi_get_undefined(env, &r);
	return r;
}

napi_value mp_copy_buffer(napi_env env, const void *data, size_t len)
{
	napi_value r;

	napi_create_buffer_copy(env, len, data, NULL, &r);
	return r;
}

napi_status mp_export(napi_env env, napi_value exports, const char *name, napi_callback fn)
{
	napi_value f;
	napi_status s = napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);

	if (s != napi_ok)
		return s;
	return napi_set_named_property(env, exports, name, f);
}

/* libbpf frees the vmlinux BTF it parsed at each load, and glibc keeps the
 * pages: trimming hands them back, so a long-running agent's RSS is what it
 * holds, not what it once loaded. Returns whether memory was released. */
static napi_value addon__trim_heap(napi_env env, napi_callback_info info)
{
	napi_value r;

	napi_get_boolean(env, malloc_trim(0) != 0, &r);
	return r;
}

static napi_value init(napi_env env, napi_value exports)
{
	mp_log_install();
	if (mp_export(env, exports, "trimHeap", addon__trim_heap) != napi_ok)
		return NULL;
	if (mp_log_register(env, exports) != napi_ok ||
	    mp_object_register(env, exports) != napi_ok ||
	    mp_link_register(env, exports) != napi_ok ||
	    mp_maps_register(env, exports) != napi_ok ||
	    mp_probe_register(env, exports) != napi_ok ||
	    mp_ringbuf_register(env, exports) != napi_ok ||
	    mp_wait_register(env, exports) != napi_ok)
		return NULL;
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
