/* Ring buffer consumption: ringbufNew(mapFd) -> handle, ringbufPoll(handle,
 * timeoutMs) -> Buffer[] (every available record copied out; bounded by the
 * ring's size), ringbufEpollFd(handle) -> fd that is readable while records
 * wait (for pollReadable), ringbufFree(handle). timeoutMs 0 consumes without
 * waiting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "meshprof.h"

struct mp_ringbuf {
	struct ring_buffer *rb;
	napi_env env;
	napi_value out;		/* array being filled by the current poll */
	uint32_t n;
};

static int ringbuf__record(void *ctx, void *data, size_t size)
{
	struct mp_ringbuf *r = ctx;
	napi_value buf;

	/* never stop early: libbpf has already consumed a record it hands us */
	buf = mp_copy_buffer(r->env, data, size);
	napi_set_element(r->env, r->out, r->n++, buf);
	return 0;
}

static void ringbuf__finalize(napi_env env, void *data, void *hint)
{
	struct mp_ringbuf *r = data;

	ring_buffer__free(r->rb);
	free(r);
}

static napi_value ringbuf__new(napi_env env, napi_callback_info info)
{
	napi_value argv[1], h;
	struct mp_ringbuf *r;
	uint32_t fd;
	int err;

	if (!mp_args(env, info, 1, argv) || !mp_get_u32(env, argv[0], &fd))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		mp_throw_errno(env, "creating ring buffer", ENOMEM);
		return NULL;
	}
	r->rb = ring_buffer__new(fd, ringbuf__record, r, NULL);
	err = libbpf_get_error(r->rb);
	if (err) {
		free(r);
		mp_throw_errno(env, "creating ring buffer", err);
		return NULL;
	}
	if (napi_create_external(env, r, ringbuf__finalize, NULL, &h) != napi_ok) {
		ring_buffer__free(r->rb);
		free(r);
		return NULL;
	}
	return h;
}

static napi_value ringbuf__poll(napi_env env, napi_callback_info info)
{
	napi_value argv[2], out;
	struct mp_ringbuf *r;
	int32_t timeout;
	void *p = NULL;
	int err;

	if (!mp_args(env, info, 2, argv) || !mp_get_i32(env, argv[1], &timeout))
		return NULL;
	if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p ||
	    !((struct mp_ringbuf *)p)->rb) {
		mp_throw_type(env, "expected a ring buffer handle");
		return NULL;
	}
	r = p;
	napi_create_array(env, &out);
	r->env = env;
	r->out = out;
	r->n = 0;
	err = timeout == 0 ? ring_buffer__consume(r->rb) : ring_buffer__poll(r->rb, timeout);
	if (err < 0 && err != -EINTR) {
		mp_throw_errno(env, "polling ring buffer", err);
		return NULL;
	}
	return out;
}

static napi_value ringbuf__epoll_fd(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	void *p = NULL;

	if (!mp_args(env, info, 1, argv))
		return NULL;
	if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p ||
	    !((struct mp_ringbuf *)p)->rb) {
		mp_throw_type(env, "expected a ring buffer handle");
		return NULL;
	}
	return mp_int(env, ring_buffer__epoll_fd(((struct mp_ringbuf *)p)->rb));
}

static napi_value ringbuf__free(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct mp_ringbuf *r;
	void *p = NULL;

	if (!mp_args(env, info, 1, argv))
		return NULL;
	if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
		mp_throw_type(env, "expected a ring buffer handle");
		return NULL;
	}
	r = p;
	ring_buffer__free(r->rb);
	r->rb = NULL;
	return mp_undefined(env);
}

napi_status mp_ringbuf_register(napi_env env, napi_value exports)
{
	napi_status s;

	if ((s = mp_export(env, exports, "ringbufNew", ringbuf__new)) != napi_ok ||
	    (s = mp_export(env, exports, "ringbufPoll", ringbuf__poll)) != napi_ok ||
	    (s = mp_export(env, exports, "ringbufEpollFd", ringbuf__epoll_fd)) != napi_ok ||
	    (s = mp_export(env, exports, "ringbufFree", ringbuf__free)) != napi_ok)
		return s;
	return napi_ok;
}
