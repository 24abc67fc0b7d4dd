/* timeio.c: exercises the time, environment and stdio imports: time, gmtime, localtime, mktime,
 * strftime, getenv, printf/fprintf (fd_write), fflush, and opening a
 * file (no file system: ENOENT). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <emscripten.h>
#include "../shim.h"

static char reply[2048];

int main(void) {
	printf("booted\n");
	return 0;
}

EMSCRIPTEN_KEEPALIVE
const char *handle(const char *msg, const char *env) {
	(void)msg; (void)env;
	char buf[128], local[128], esc[256];
	time_t now = time(NULL);
	struct tm g = *gmtime(&now);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %a %b %j %A %B %p %y %e|%D|%T", &g);
	struct tm l = *localtime(&now);
	strftime(local, sizeof local, "%c %Z", &l);
	struct tm t = {0};
	t.tm_year = 124; t.tm_mon = 1; t.tm_mday = 29; t.tm_hour = 12; t.tm_isdst = -1;
	long made = (long)mktime(&t);
	const char *path = getenv("PATH");
	const char *home = getenv("HOME");
	printf("handled at %ld\n", (long)now);
	fprintf(stderr, "to stderr\n");
	fflush(stdout);
	errno = 0;
	FILE *f = fopen("/etc/passwd", "r");
	int openErr = f ? 0 : errno;
	aw_json_escape(esc, sizeof esc, local);
	snprintf(reply, sizeof reply,
		"{\"ok\":true,\"response\":{\"Output\":{\"now\":%ld,\"gm\":\"%s\",\"local\":\"%s\",\"mktime\":%ld,\"wday\":%d,\"yday\":%d,"
		"\"PATH\":\"%s\",\"HOME\":\"%s\",\"openErrno\":%d},\"Messages\":[],\"Spawns\":[],\"Assignments\":[]}}",
		(long)now, buf, esc, made, t.tm_wday, t.tm_yday, path ? path : "(null)", home ? home : "(null)", openErr);
	return reply;
}
