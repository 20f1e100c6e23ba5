/* Blocking waits for a worker thread: eventfdNew() -> fd, eventfdSignal(fd),
 * pollReadable(fds, timeoutMs) -> bitmask of the fds that are readable (bit i
 * for fds[i]; 0 on timeout or a signal). An fd number is valid in every
 * thread of the process, so one thread can wake another that waits. The fds
 * are closed with closeFd().
 *
 * Waits on the calling thread's event loop: fdWatchStart(fd, callback) ->
 * handle calls callback() each time fd is readable (level-triggered: the
 * callback must consume what made it readable), fdWatchStop(handle). The
 * watch does not keep the loop alive. It replaces polling a ring buffer on a
 * timer, which costs wakeups when nothing happens. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <uv.h>
#include "meshprof.h"

#define WAIT_MAX_FDS 32

static napi_value wait__eventfd_new(napi_env env, napi_callback_info info)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0) {
		mp_throw_errno(env, "creating eventfd", errno);
		return NULL;
	}
	return mp_int(env, fd);
}

static napi_value wait__eventfd_signal(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	uint64_t one = 1;
	uint32_t fd;

	if (!mp_args(env, info, 1, argv) || !mp_get_u32(env, argv[0], &fd))
		return NULL;
	/* EAGAIN: the counter is saturated, so it is readable already */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
		mp_throw_errno(env, "signalling eventfd", errno);
		return NULL;
	}
	return mp_undefined(env);
}

static napi_value wait__poll_readable(napi_env env, napi_callback_info info)
{
	struct pollfd pfd[WAIT_MAX_FDS];
	napi_value argv[2], v;
	uint32_t n, i, fd, ready = 0;
	int32_t timeout;
	bool is_array;
	int cnt;

	if (!mp_args(env, info, 2, argv) || !mp_get_i32(env, argv[1], &timeout))
		return NULL;
	if (napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
	    napi_get_array_length(env, argv[0], &n) != napi_ok || n == 0 || n > WAIT_MAX_FDS) {
		mp_throw_type(env, "expected an array of 1 to 32 fds");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (napi_get_element(env, argv[0], i, &v) != napi_ok || !mp_get_u32(env, v, &fd))
			return NULL;
		pfd[i].fd = fd;
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	cnt = poll(pfd, n, timeout);
	if (cnt < 0 && errno != EINTR) {
		mp_throw_errno(env, "waiting for fds", errno);
		return NULL;
	}
	for (i = 0; cnt > 0 && i < n; i++)
		if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL))
			ready |= 1u << i;
	return mp_int(env, ready);
}

/* A watch: the uv handle first, so the handle's address is the struct's. */
struct mp_fd_watch {
	uv_poll_t poll;
	napi_env env;
	napi_ref callback;
	napi_async_context async;
	bool stopped;
};

static void fd_watch_closed(uv_handle_t *h)
{
	free(h);
}

/* Stops the watch and frees it once libuv lets go of the handle; idempotent. */
static void fd_watch_stop(struct mp_fd_watch *w)
{
	if (w->stopped)
		return;
	w->stopped = true;
	uv_poll_stop(&w->poll);
	napi_delete_reference(w->env, w->callback);
	napi_async_destroy(w->env, w->async);
	uv_close((uv_handle_t *)&w->poll, fd_watch_closed);
}

/* The environment is going away (worker exit, process exit) with the watch still on. */
static void fd_watch_cleanup(void *arg)
{
	fd_watch_stop(arg);
}

static void fd_watch_ready(uv_poll_t *h, int status, int events)
{
	struct mp_fd_watch *w = (struct mp_fd_watch *)h;
	napi_handle_scope scope;
	napi_value cb, recv, result, err;
	bool pending = false;

	if (w->stopped || napi_open_handle_scope(w->env, &scope) != napi_ok)
		return;
	if (napi_get_reference_value(w->env, w->callback, &cb) == napi_ok && cb != NULL &&
	    napi_get_global(w->env, &recv) == napi_ok &&
	    napi_make_callback(w->env, w->async, recv, cb, 0, NULL, &result) != napi_ok &&
	    napi_is_exception_pending(w->env, &pending) == napi_ok && pending &&
	    napi_get_and_clear_last_exception(w->env, &err) == napi_ok)
		napi_fatal_exception(w->env, err); /* to process 'uncaughtException', as a timer's throw would */
	napi_close_handle_scope(w->env, scope);
}

static napi_value wait__fd_watch_start(napi_env env, napi_callback_info info)
{
	napi_value argv[2], handle, name;
	napi_valuetype type;
	struct uv_loop_s *loop;
	struct mp_fd_watch *w;
	uint32_t fd;
	int err;

	if (!mp_args(env, info, 2, argv) || !mp_get_u32(env, argv[0], &fd))
		return NULL;
	if (napi_typeof(env, argv[1], &type) != napi_ok || type != napi_function) {
		mp_throw_type(env, "expected a callback function");
		return NULL;
	}
	if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
		mp_throw_type(env, "no event loop");
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		mp_throw_errno(env, "watching fd", ENOMEM);
		return NULL;
	}
	w->env = env;
	if ((err = uv_poll_init(loop, &w->poll, (int)fd)) != 0) {
		free(w);
		mp_throw_errno(env, "watching fd", -err);
		return NULL;
	}
	if (napi_create_reference(env, argv[1], 1, &w->callback) != napi_ok ||
	    napi_create_string_utf8(env, "meshprof:fdWatch", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_async_init(env, NULL, name, &w->async) != napi_ok) {
		uv_close((uv_handle_t *)&w->poll, fd_watch_closed);
		return NULL;
	}
	if ((err = uv_poll_start(&w->poll, UV_READABLE, fd_watch_ready)) != 0) {
		fd_watch_stop(w);
		mp_throw_errno(env, "watching fd", -err);
		return NULL;
	}
	uv_unref((uv_handle_t *)&w->poll);
	napi_add_env_cleanup_hook(env, fd_watch_cleanup, w);
	if (napi_create_external(env, w, NULL, NULL, &handle) /* the watch lives until stopped or env cleanup */ != napi_ok)
		return NULL;
	return handle;
}

static napi_value wait__fd_watch_stop(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct mp_fd_watch *w;

	if (!mp_args(env, info, 1, argv) || napi_get_value_external(env, argv[0], (void **)&w) != napi_ok) {
		mp_throw_type(env, "expected a watch handle");
		return NULL;
	}
	if (!w->stopped) {
		napi_remove_env_cleanup_hook(env, fd_watch_cleanup, w);
		fd_watch_stop(w);
	}
	return mp_undefined(env);
}

napi_status mp_wait_register(napi_env env, napi_value exports)
{
	napi_status s;

	if ((s = mp_export(env, exports, "eventfdNew", wait__eventfd_new)) != napi_ok ||
	    (s = mp_export(env, exports, "eventfdSignal", wait__eventfd_signal)) != napi_ok ||
	    (s = mp_export(env, exports, "fdWatchStart", wait__fd_watch_start)) != napi_ok ||
	    (s = mp_export(env, exports, "fdWatchStop", wait__fd_watch_stop)) != napi_ok ||
	    (s = mp_export(env, exports, "pollReadable", wait__poll_readable)) != napi_ok)
		return s;
	return napi_ok;
}
