/* bpf_object lifecycle: open, set .rodata globals, resize maps, choose
 * programs, load, look maps up, destroy. Mirrors what a skeleton does. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include "meshprof.h"

static void object__finalize(napi_env env, void *data, void *hint)
{
	struct mp_object *o = data;

	if (o->obj)
		bpf_object__close(o->obj);
	free(o);
}

/* open(path) -> handle */
static napi_value object__open(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r;
	char path[4096];
	struct bpf_object *obj;
	struct mp_object *o;
	int err;

	if (!mp_args(env, info, 1, argv) || !mp_get_string(env, argv[0], path, sizeof(path)))
		return NULL;
	obj = bpf_object__open_file(path, NULL);
	err = libbpf_get_error(obj);
	if (err) {
		mp_throw_errno(env, "opening bpf object", err);
		return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		bpf_object__close(obj);
		mp_throw_errno(env, "opening bpf object", ENOMEM);
		return NULL;
	}
	o->obj = obj;
	if (napi_create_external(env, o, object__finalize, NULL, &r) != napi_ok) {
		bpf_object__close(obj);
		free(o);
		return NULL;
	}
	return r;
}

/* Finds a `const volatile` variable in .rodata through the object's BTF
 * DATASEC, as a generated skeleton would. Returns its bytes or NULL. */
static void *object__rodata_var(struct bpf_object *obj, const char *name, size_t *size, int *err)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, ".rodata");
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	size_t map_size;
	char *data;
	int id, i;

	*err = ENOENT;
	if (!map || !btf)
		return NULL;
	/* writable until load: it is the mmap-ed .rodata image */
	data = (char *)bpf_map__initial_value(map, &map_size);
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (!data || id < 0)
		return NULL;
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), name) != 0)
			continue;
		if (vs->offset + vs->size > map_size) {
			*err = EINVAL;
			return NULL;
		}
		*size = vs->size;
		*err = 0;
		return data + vs->offset;
	}
	return NULL;
}

/* setGlobal(handle, name, Buffer): before load only. */
static napi_value object__set_global(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct mp_object *o;
	char name[256];
	void *buf, *var;
	size_t len, size;
	int err;

	if (!mp_args(env, info, 3, argv) || !mp_get_object(env, argv[0], &o) ||
	    !mp_get_string(env, argv[1], name, sizeof(name)) ||
	    !mp_get_buffer(env, argv[2], &buf, &len))
		return NULL;
	var = object__rodata_var(o->obj, name, &size, &err);
	if (!var) {
		mp_throw_errno(env, "finding global variable", err);
		return NULL;
	}
	if (len != size) {
		mp_throw_errno(env, "setting global variable: size mismatch", EINVAL);
		return NULL;
	}
	memcpy(var, buf, len);
	return mp_undefined(env);
}

static struct bpf_map *object__map(napi_env env, napi_value *argv, struct mp_object **o)
{
	char name[256];
	struct bpf_map *map;

	if (!mp_get_object(env, argv[0], o) || !mp_get_string(env, argv[1], name, sizeof(name)))
		return NULL;
	map = bpf_object__find_map_by_name((*o)->obj, name);
	if (!map)
		mp_throw_errno(env, "finding map", ENOENT);
	return map;
}

static struct bpf_program *object__prog(napi_env env, napi_value *argv, struct mp_object **o)
{
	char name[256];
	struct bpf_program *prog;

	if (!mp_get_object(env, argv[0], o) || !mp_get_string(env, argv[1], name, sizeof(name)))
		return NULL;
	prog = bpf_object__find_program_by_name((*o)->obj, name);
	if (!prog)
		mp_throw_errno(env, "finding program", ENOENT);
	return prog;
}

/* Exposed for link.c. */
struct bpf_program *mp_object_prog(napi_env env, napi_value *argv, struct mp_object **o)
{
	return object__prog(env, argv, o);
}

/* mapSetMaxEntries(handle, name, n) */
static napi_value object__map_set_max_entries(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct mp_object *o;
	struct bpf_map *map;
	uint32_t n;
	int err;

	if (!mp_args(env, info, 3, argv) || !(map = object__map(env, argv, &o)) ||
	    !mp_get_u32(env, argv[2], &n))
		return NULL;
	err = bpf_map__set_max_entries(map, n);
	if (err) {
		mp_throw_errno(env, "resizing map", err);
		return NULL;
	}
	return mp_undefined(env);
}

/* mapReuseFd(handle, name, fd): before load, makes the object use an
 * existing map (libbpf dups the fd) instead of creating its own. */
static napi_value object__map_reuse_fd(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct mp_object *o;
	struct bpf_map *map;
	uint32_t fd;
	int err;

	if (!mp_args(env, info, 3, argv) || !(map = object__map(env, argv, &o)) ||
	    !mp_get_u32(env, argv[2], &fd))
		return NULL;
	err = bpf_map__reuse_fd(map, fd);
	if (err) {
		mp_throw_errno(env, "reusing map", -err);
		return NULL;
	}
	return mp_undefined(env);
}

/* progSetAutoload(handle, name, bool) */
static napi_value object__prog_set_autoload(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct mp_object *o;
	struct bpf_program *prog;
	bool on;
	int err;

	if (!mp_args(env, info, 3, argv) || !(prog = object__prog(env, argv, &o)) ||
	    !mp_get_bool(env, argv[2], &on))
		return NULL;
	err = bpf_program__set_autoload(prog, on);
	if (err) {
		mp_throw_errno(env, "setting program autoload", err);
		return NULL;
	}
	return mp_undefined(env);
}

/* load(handle); the verifier log is in takeLog() on failure. Signals are
 * blocked meanwhile: the verifier gives up with EAGAIN when one is pending,
 * and the walker takes it longer than the 1 ms between a profiler's SIGPROFs
 * (node --cpu-prof), so libbpf's five attempts all failed. */
static napi_value object__load(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct mp_object *o;
	sigset_t all, old;
	int err;

	if (!mp_args(env, info, 1, argv) || !mp_get_object(env, argv[0], &o))
		return NULL;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = bpf_object__load(o->obj);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		mp_throw_errno(env, "loading bpf object", err);
		return NULL;
	}
	return mp_undefined(env);
}

static void set_num(napi_env env, napi_value obj, const char *name, int64_t v)
{
	napi_set_named_property(env, obj, name, mp_int(env, v));
}

/* mapInfo(handle, name) -> {fd, type, keySize, valueSize, maxEntries}; fd is -1 before load. */
static napi_value object__map_info(napi_env env, napi_callback_info info)
{
	napi_value argv[2], r;
	struct mp_object *o;
	struct bpf_map *map;

	if (!mp_args(env, info, 2, argv) || !(map = object__map(env, argv, &o)))
		return NULL;
	napi_create_object(env, &r);
	set_num(env, r, "fd", bpf_map__fd(map));
	set_num(env, r, "type", bpf_map__type(map));
	set_num(env, r, "keySize", bpf_map__key_size(map));
	set_num(env, r, "valueSize", bpf_map__value_size(map));
	set_num(env, r, "maxEntries", bpf_map__max_entries(map));
	return r;
}

/* destroy(handle): idempotent. */
static napi_value object__destroy(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	void *p = NULL;
	struct mp_object *o;

	if (!mp_args(env, info, 1, argv))
		return NULL;
	if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
		mp_throw_type(env, "expected a bpf object handle");
		return NULL;
	}
	o = p;
	if (o->obj)
		bpf_object__close(o->obj);
	o->obj = NULL;
	return mp_undefined(env);
}

napi_status mp_object_register(napi_env env, napi_value exports)
{
	napi_status s;

	if ((s = mp_export(env, exports, "open", object__open)) != napi_ok ||
	    (s = mp_export(env, exports, "setGlobal", object__set_global)) != napi_ok ||
	    (s = mp_export(env, exports, "mapSetMaxEntries", object__map_set_max_entries)) != napi_ok ||
	    (s = mp_export(env, exports, "progSetAutoload", object__prog_set_autoload)) != napi_ok ||
	    (s = mp_export(env, exports, "mapReuseFd", object__map_reuse_fd)) != napi_ok ||
	    (s = mp_export(env, exports, "load", object__load)) != napi_ok ||
	    (s = mp_export(env, exports, "mapInfo", object__map_info)) != napi_ok ||
	    (s = mp_export(env, exports, "destroy", object__destroy)) != napi_ok)
		return s;
	return napi_ok;
}
