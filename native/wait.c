/* Blocking waits for a worker thread: eventfdNew() -> fd, eventfdSignal(fd),
 * pollReadable(fds, timeoutMs) -> bitmask of the fds that are readable (bit i
 * for fds[i]; 0 on timeout or a signal). An fd number is valid in every
 * thread of the process, so one thread can wake another that waits. The fds
 * are closed with closeFd(). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/eventfd.h>
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

napi_status mp_wait_register(napi_env env, napi_value exports)
{
	napi_status s;

	if ((s = mp_export(env, exports, "eventfdNew", wait__eventfd_new)) != napi_ok ||
	    (s = mp_export(env, exports, "eventfdSignal", wait__eventfd_signal)) != napi_ok ||
	    (s = mp_export(env, exports, "pollReadable", wait__poll_readable)) != napi_ok)
		return s;
	return napi_ok;
}
