/* Ring buffer consumption: ringbufNew(mapFd) -> handle, ringbufPoll(handle,
 * timeoutMs) -> Buffer, or undefined when nothing was read, ringbufEpollFd(handle) -> fd that is readable while
 * records wait (for pollReadable), ringbufFree(handle). timeoutMs 0 consumes
 * without waiting.
 *
 * A poll copies every available record into one Buffer, so that user space
 * pays one allocation per poll, not one per record: a header of u32 record
 * count and u32 records lost (no memory to hold them), then per record a u32
 * length, 4 bytes of zero and the record's bytes, padded to 8. No parsing
 * here: src/kernel/ring-records.ts reads that layout. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "meshprof.h"

#define RB_HEADER 8
#define RB_ALIGN(n) (((n) + 7) & ~(size_t)7)

struct mp_ringbuf {
	struct ring_buffer *rb;
	/* the current poll's records; kept between polls so a steady flow reuses it */
	unsigned char *buf;
	size_t len, cap;
	uint32_t n, lost;
};

static int ringbuf__record(void *ctx, void *data, size_t size)
{
	struct mp_ringbuf *r = ctx;
	size_t need = r->len + RB_HEADER + RB_ALIGN(size);
	uint32_t len32 = (uint32_t)size;

	/* never stop early: libbpf has already consumed a record it hands us */
	if (need > r->cap) {
		size_t cap = r->cap ? r->cap : 64 * 1024;
		unsigned char *grown;

		while (cap < need)
			cap *= 2;
		grown = realloc(r->buf, cap);
		if (!grown) {
			r->lost++;
			return 0;
		}
		r->buf = grown;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, &len32, 4);
	memset(r->buf + r->len + 4, 0, 4);
	memcpy(r->buf + r->len + RB_HEADER, data, size);
	memset(r->buf + r->len + RB_HEADER + size, 0, RB_ALIGN(size) - size);
	r->len = need;
	r->n++;
	return 0;
}

static void ringbuf__release(struct mp_ringbuf *r)
{
	ring_buffer__free(r->rb);
	r->rb = NULL;
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}

static void ringbuf__finalize(napi_env env, void *data, void *hint)
{
	struct mp_ringbuf *r = data;

	ringbuf__release(r);
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
	/* the header's room; records follow it */
	if (!r->buf) {
		r->buf = malloc(RB_HEADER);
		if (!r->buf) {
			mp_throw_errno(env, "polling ring buffer", ENOMEM);
			return NULL;
		}
		r->cap = RB_HEADER;
	}
	r->len = RB_HEADER;
	r->n = 0;
	r->lost = 0;
	err = timeout == 0 ? ring_buffer__consume(r->rb) : ring_buffer__poll(r->rb, timeout);
	if (err < 0 && err != -EINTR) {
		mp_throw_errno(env, "polling ring buffer", err);
		return NULL;
	}
	/* nothing read: no Buffer to allocate (most polls of a quiet ring) */
	if (r->n == 0 && r->lost == 0)
		return mp_undefined(env);
	memcpy(r->buf, &r->n, 4);
	memcpy(r->buf + 4, &r->lost, 4);
	out = mp_copy_buffer(env, r->buf, r->len);
	/* a burst's room goes back once the flow is small again: an agent has
	 * several rings, and each would keep its largest burst for its life */
	if (r->cap > 256 * 1024 && r->len < r->cap / 8) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
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
	ringbuf__release(r);
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
