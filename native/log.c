/* libbpf's print callback writes here instead of stderr; TypeScript drains
 * it with takeLog() and forwards it to its logger. One buffer per process,
 * because libbpf has one print callback per process. Each message is
 * "<w|i|d>:<text>" ended by \x1e, since one message (a verifier log) may
 * span many lines. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "meshprof.h"

#define LOG_CAP (1 << 20)
#define LOG_NOTE 96

static char log_buf[LOG_CAP + LOG_NOTE];

static size_t log_len;
static size_t log_lost;

static void log_append(const char *data, size_t len)
{
	memcpy(log_buf + log_len, data, len);
	log_len += len;
}

/* Formats the whole message (a verifier log can be megabytes); when it does
 * not fit, keeps its tail, where the verifier states the error. */
static int log_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static const char levels[] = { 'w', 'i', 'd' };
	char head[2] = { levels[level <= LIBBPF_DEBUG ? level : 2], ':' };
	size_t room;
	va_list aq;
	char *msg;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0 || log_len + 3 > LOG_CAP) {
		log_lost += n > 0 ? n : 0;
		return 0;
	}
	msg = malloc(n + 1);
	if (!msg) {
		log_lost += n;
		return 0;
	}
	vsnprintf(msg, n + 1, fmt, ap);
	room = LOG_CAP - log_len - 3;
	log_append(head, 2);
	if ((size_t)n > room) {
		log_lost += n - room;	/* counted, reported on the next take */
		log_append(msg + n - room, room);
	} else {
		log_append(msg, n);
	}
	log_append("\x1e", 1);
	free(msg);
	return 0;
}

void mp_log_install(void)
{
	libbpf_set_print(log_print);
}

/* takeLog() -> string: everything libbpf printed since the last call. */
static napi_value take_log(napi_env env, napi_callback_info info)
{
	napi_value r;

	/* LOG_NOTE bytes past LOG_CAP are kept free for this notice */
	if (log_lost)
		log_len += snprintf(log_buf + log_len, LOG_NOTE,
				    "w:meshprof: %zu bytes of libbpf log dropped\n\x1e", log_lost);
	napi_create_string_utf8(env, log_buf, log_len, &r);
	log_len = 0;
	log_lost = 0;
	return r;
}

napi_status mp_log_register(napi_env env, napi_value exports)
{
	return mp_export(env, exports, "takeLog", take_log);
}
