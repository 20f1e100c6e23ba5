/* Map operations on fds: batch lookup (and delete), delete batch, single
 * lookup/update/delete and key iteration. Sizes come from TypeScript, which
 * knows the per-CPU rounding. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "meshprof.h"

typedef int (*batch_fn)(int fd, void *in, void *out, void *keys, void *values,
			__u32 *count, const struct bpf_map_batch_opts *opts);

/* Reads the whole map in batches, looping until ENOENT; returns
 * {keys, values, count}. */
static napi_value maps__batch(napi_env env, napi_callback_info info, batch_fn fn, const char *op)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	napi_value argv[4], r = NULL, keys_v, values_v;
	uint32_t fd, key_size, value_size, max_entries, cap;
	char *keys = NULL, *values = NULL;
	uint64_t token[2][16];	/* batch cursors: a u32 bucket for htab */
	void *in = NULL;
	uint32_t total = 0;
	int err = 0, cur = 0;

	if (!mp_args(env, info, 4, argv) || !mp_get_u32(env, argv[0], &fd) ||
	    !mp_get_u32(env, argv[1], &key_size) || !mp_get_u32(env, argv[2], &value_size) ||
	    !mp_get_u32(env, argv[3], &max_entries))
		return NULL;
	/* slack so a bucket that grew while we read does not give ENOSPC */
	cap = max_entries + 64;
	keys = malloc((size_t)cap * key_size);
	values = malloc((size_t)cap * value_size);
	if (!keys || !values) {
		mp_throw_errno(env, op, ENOMEM);
		goto out;
	}
	while (total < cap) {
		__u32 count = cap - total;

		err = fn(fd, in, token[cur], keys + (size_t)total * key_size,
			 values + (size_t)total * value_size, &count, &opts);
		if (err < 0)
			err = -errno;
		total += count;
		if (err == -ENOENT) {
			err = 0;
			break;
		}
		if (err) {
			mp_throw_errno(env, op, err);
			goto out;
		}
		in = token[cur];
		cur ^= 1;
	}
	napi_create_object(env, &r);
	keys_v = mp_copy_buffer(env, keys, (size_t)total * key_size);
	values_v = mp_copy_buffer(env, values, (size_t)total * value_size);
	napi_set_named_property(env, r, "keys", keys_v);
	napi_set_named_property(env, r, "values", values_v);
	napi_set_named_property(env, r, "count", mp_int(env, total));
out:
	free(keys);
	free(values);
	return r;
}

/* lookupBatch(fd, keySize, valueSize, maxEntries) */
static napi_value maps__lookup_batch(napi_env env, napi_callback_info info)
{
	return maps__batch(env, info, bpf_map_lookup_batch, "looking up map batch");
}

/* lookupAndDeleteBatch(fd, keySize, valueSize, maxEntries) */
static napi_value maps__lookup_and_delete_batch(napi_env env, napi_callback_info info)
{
	return maps__batch(env, info, bpf_map_lookup_and_delete_batch, "draining map batch");
}

/* deleteBatch(fd, keys, count) -> number deleted */
static napi_value maps__delete_batch(napi_env env, napi_callback_info info)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	napi_value argv[3];
	uint32_t fd, count;
	void *keys;
	size_t len;

	if (!mp_args(env, info, 3, argv) || !mp_get_u32(env, argv[0], &fd) ||
	    !mp_get_buffer(env, argv[1], &keys, &len) || !mp_get_u32(env, argv[2], &count))
		return NULL;
	if (count && len == 0) {
		mp_throw_type(env, "deleteBatch: empty keys buffer");
		return NULL;
	}
	if (count && bpf_map_delete_batch(fd, keys, &count, &opts) < 0) {
		mp_throw_errno(env, "deleting map batch", errno);
		return NULL;
	}
	return mp_int(env, count);
}

/* lookup(fd, key, valueSize) -> Buffer | null */
static napi_value maps__lookup(napi_env env, napi_callback_info info)
{
	napi_value argv[3], r;
	uint32_t fd, value_size;
	void *key, *value;
	size_t len;

	if (!mp_args(env, info, 3, argv) || !mp_get_u32(env, argv[0], &fd) ||
	    !mp_get_buffer(env, argv[1], &key, &len) || !mp_get_u32(env, argv[2], &value_size))
		return NULL;
	if (napi_create_buffer(env, value_size, &value, &r) != napi_ok)
		return NULL;
	if (bpf_map_lookup_elem(fd, key, value) < 0) {
		if (errno == ENOENT) {
			napi_get_null(env, &r);
			return r;
		}
		mp_throw_errno(env, "looking up map element", errno);
		return NULL;
	}
	return r;
}

/* update(fd, key, value, flags) */
static napi_value maps__update(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	uint32_t fd, flags;
	void *key, *value;
	size_t klen, vlen;

	if (!mp_args(env, info, 4, argv) || !mp_get_u32(env, argv[0], &fd) ||
	    !mp_get_buffer(env, argv[1], &key, &klen) || !mp_get_buffer(env, argv[2], &value, &vlen) ||
	    !mp_get_u32(env, argv[3], &flags))
		return NULL;
	if (bpf_map_update_elem(fd, key, value, flags) < 0) {
		mp_throw_errno(env, "updating map element", errno);
		return NULL;
	}
	return mp_undefined(env);
}

/* delete(fd, key) -> boolean (false when absent) */
static napi_value maps__delete(napi_env env, napi_callback_info info)
{
	napi_value argv[2], r;
	uint32_t fd;
	void *key;
	size_t len;
	bool ok = true;

	if (!mp_args(env, info, 2, argv) || !mp_get_u32(env, argv[0], &fd) ||
	    !mp_get_buffer(env, argv[1], &key, &len))
		return NULL;
	if (bpf_map_delete_elem(fd, key) < 0) {
		if (errno != ENOENT) {
			mp_throw_errno(env, "deleting map element", errno);
			return NULL;
		}
		ok = false;
	}
	napi_get_boolean(env, ok, &r);
	return r;
}

/* getNextKey(fd, key | null, keySize) -> Buffer | null at the end */
static napi_value maps__get_next_key(napi_env env, napi_callback_info info)
{
	napi_value argv[3], r;
	uint32_t fd, key_size;
	void *key, *next;
	size_t len;

	if (!mp_args(env, info, 3, argv) || !mp_get_u32(env, argv[0], &fd) ||
	    !mp_get_buffer_opt(env, argv[1], &key, &len) || !mp_get_u32(env, argv[2], &key_size))
		return NULL;
	if (napi_create_buffer(env, key_size, &next, &r) != napi_ok)
		return NULL;
	if (bpf_map_get_next_key(fd, key, next) < 0) {
		if (errno == ENOENT) {
			napi_get_null(env, &r);
			return r;
		}
		mp_throw_errno(env, "iterating map keys", errno);
		return NULL;
	}
	return r;
}

/* updateBatch(fd, keys, values, count): writes `count` packed entries in
 * one syscall (Linux 5.6+); a table's 6k row chunks would otherwise be
 * 6k updates. */
static napi_value maps__update_batch(napi_env env, napi_callback_info info)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	napi_value argv[4];
	uint32_t fd, count, done = 0;
	void *keys, *values;
	size_t klen, vlen;

	if (!mp_args(env, info, 4, argv) || !mp_get_u32(env, argv[0], &fd) ||
	    !mp_get_buffer(env, argv[1], &keys, &klen) || !mp_get_buffer(env, argv[2], &values, &vlen) ||
	    !mp_get_u32(env, argv[3], &count))
		return NULL;
	if (count == 0)
		return mp_undefined(env);
	if (klen % count || vlen % count) {
		mp_throw_type(env, "updateBatch: keys and values must be count entries each");
		return NULL;
	}
	while (done < count) {
		__u32 n = count - done;

		if (bpf_map_update_batch(fd, (char *)keys + (size_t)done * (klen / count),
					 (char *)values + (size_t)done * (vlen / count), &n, &opts) < 0) {
			mp_throw_errno(env, "updating map elements in a batch", errno);
			return NULL;
		}
		if (n == 0) {	/* no progress and no error: do not spin */
			mp_throw_errno(env, "updating map elements in a batch", EIO);
			return NULL;
		}
		done += n;
	}
	return mp_undefined(env);
}

/* createMap(type, name, keySize, valueSize, maxEntries) -> fd: a map owned
 * by user space, which several objects then share through reuseMap. */
static napi_value maps__create(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	uint32_t type, key_size, value_size, max_entries;
	char name[BPF_OBJ_NAME_LEN + 1];	/* mp_get_string wants room for one more */
	int fd;

	if (!mp_args(env, info, 5, argv) || !mp_get_u32(env, argv[0], &type) ||
	    !mp_get_string(env, argv[1], name, sizeof(name)) || !mp_get_u32(env, argv[2], &key_size) ||
	    !mp_get_u32(env, argv[3], &value_size) || !mp_get_u32(env, argv[4], &max_entries))
		return NULL;
	fd = bpf_map_create(type, name, key_size, value_size, max_entries, NULL);
	if (fd < 0) {
		mp_throw_errno(env, "creating map", errno);
		return NULL;
	}
	return mp_int(env, fd);
}

/* closeFd(fd): for maps made by createMap. */
static napi_value maps__close_fd(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	uint32_t fd;

	if (!mp_args(env, info, 1, argv) || !mp_get_u32(env, argv[0], &fd))
		return NULL;
	close(fd);
	return mp_undefined(env);
}

napi_status mp_maps_register(napi_env env, napi_value exports)
{
	napi_status s;

	if ((s = mp_export(env, exports, "lookupBatch", maps__lookup_batch)) != napi_ok ||
	    (s = mp_export(env, exports, "lookupAndDeleteBatch", maps__lookup_and_delete_batch)) != napi_ok ||
	    (s = mp_export(env, exports, "deleteBatch", maps__delete_batch)) != napi_ok ||
	    (s = mp_export(env, exports, "lookup", maps__lookup)) != napi_ok ||
	    (s = mp_export(env, exports, "update", maps__update)) != napi_ok ||
	    (s = mp_export(env, exports, "delete", maps__delete)) != napi_ok ||
	    (s = mp_export(env, exports, "getNextKey", maps__get_next_key)) != napi_ok ||
	    (s = mp_export(env, exports, "updateBatch", maps__update_batch)) != napi_ok ||
	    (s = mp_export(env, exports, "createMap", maps__create)) != napi_ok ||
	    (s = mp_export(env, exports, "closeFd", maps__close_fd)) != napi_ok)
		return s;
	return napi_ok;
}
