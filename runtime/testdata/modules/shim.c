#include "shim.h"
#include <errno.h>
#include <stdarg.h>
#include <time.h>

/* The reference loader answers _emscripten_date_now with 0 (published 0.0.49 bundle). */
extern double _emscripten_date_now(void);

time_t time(time_t *t) {
	time_t now = (time_t)(_emscripten_date_now() / 1000.0);
	if (t) *t = now;
	return now;
}

clock_t clock(void) { return 0; }

double difftime(time_t a, time_t b) { return (double)a - (double)b; }

int __clock_gettime(clockid_t id, struct timespec *ts) {
	(void)id;
	double ms = _emscripten_date_now();
	ts->tv_sec = (time_t)(ms / 1000.0);
	ts->tv_nsec = 0;
	return 0;
}

int clock_gettime(clockid_t id, struct timespec *ts) { return __clock_gettime(id, ts); }

/* No file system: every path is absent, as the Go host answers for the *at forms. */
long __syscall_open(long path, long flags, ...) { (void)path; (void)flags; return -ENOENT; }
long __syscall_unlink(long path) { (void)path; return -ENOENT; }
long __syscall_rename(long a, long b) { (void)a; (void)b; return -ENOENT; }

size_t aw_json_escape(char *buf, size_t cap, const char *s) {
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	if (cap == 0) return 0;
	for (; *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') { buf[n++] = '\\'; buf[n++] = (char)c; }
		else if (c == '\n') { buf[n++] = '\\'; buf[n++] = 'n'; }
		else if (c < 0x20) {
			buf[n++] = '\\'; buf[n++] = 'u'; buf[n++] = '0'; buf[n++] = '0';
			buf[n++] = hex[c >> 4]; buf[n++] = hex[c & 15];
		} else buf[n++] = (char)c;
	}
	buf[n] = 0;
	return n;
}
