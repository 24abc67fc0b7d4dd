/* drive.c: reads through WeaveDrive as aos builds do: the three imports the aos libc wrapper
 * declares (env.__asyncjs__weavedrive_open/read/close), descriptors seeked with lseek (fd_seek).
 * The message's Data is a command:
 *   read PATH CHUNK      open, size (seek to the end), back to 0, read CHUNK bytes at a time to EOF
 *   drain PATH CHUNK     the same without hashing (for throughput)
 *   range PATH OFF LEN   open, seek to OFF, one read of LEN bytes
 *   endread PATH         aos's file:read(file:seek("end")): seek to the end, then read that size
 *   huge PATH            one read of 2^31-1 bytes into a 16-byte buffer
 *   open PATH            open and close: the descriptor (0: no file)
 * The reply's Output: fd, size, bytes read, reads, an FNV-1a 64 hash of the bytes, their first 16 in hex. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <emscripten.h>
#include "../shim.h"
#include "../msg.h"

/* As the aos libc wrapper declares them: EM_ASYNC_JS makes the imports env.__asyncjs__weavedrive_*;
 * the JS bodies are only for emcc's own glue (the Go host and the reference loader answer them). */
EM_ASYNC_JS(int, weavedrive_open, (const char *path, const char *mode), { return 0; });
EM_ASYNC_JS(int, weavedrive_read, (int fd, void *dst, size_t length), { return 0; });
EM_ASYNC_JS(int, weavedrive_close, (int fd), { return 0; });

static char reply[1024];
static char data[512];
static unsigned char small[16];

int main(void) { return 0; }

static unsigned long long fnv(unsigned long long h, const unsigned char *p, size_t n) {
	for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ULL; }
	return h;
}

EMSCRIPTEN_KEEPALIVE
const char *handle(const char *msg, const char *env) {
	(void)env;
	char cmd[16] = {0}, path[400] = {0};
	long long a = 0, b = 0;
	aw_field(msg, "\"Data\":\"", data, sizeof data);
	sscanf(data, "%15s %399s %lld %lld", cmd, path, &a, &b);
	unsigned long long h = 14695981039346656037ULL;
	long long size = -1, total = 0, reads = 0;
	unsigned char head[16] = {0};
	int fd = weavedrive_open(path, "r");
	int drain = strcmp(cmd, "drain") == 0;
	if (fd && (strcmp(cmd, "read") == 0 || drain)) {
		size = (long long)lseek(fd, 0, SEEK_END);
		lseek(fd, 0, SEEK_SET);
		size_t chunk = a > 0 ? (size_t)a : 32768;
		unsigned char *buf = malloc(chunk);
		for (;;) {
			int n = weavedrive_read(fd, buf, chunk);
			if (n <= 0) break;
			if (total < 16) memcpy(head + total, buf, (size_t)(16 - total < n ? 16 - total : n));
			if (!drain) h = fnv(h, buf, (size_t)n);
			total += n;
			reads++;
			if (total > size) break; /* /tx and /block answer every read from their start */
		}
		free(buf);
	} else if (fd && strcmp(cmd, "range") == 0) {
		size = (long long)lseek(fd, (off_t)a, SEEK_SET);
		unsigned char *buf = malloc((size_t)b + 1);
		int n = weavedrive_read(fd, buf, (size_t)b);
		if (n > 0) { memcpy(head, buf, n < 16 ? (size_t)n : 16); h = fnv(h, buf, (size_t)n); total = n; }
		reads = 1;
		free(buf);
	} else if (fd && strcmp(cmd, "endread") == 0) {
		size = (long long)lseek(fd, 0, SEEK_END);
		unsigned char *buf = malloc((size_t)size + 1);
		int n = weavedrive_read(fd, buf, (size_t)size);
		if (n > 0) { memcpy(head, buf, n < 16 ? (size_t)n : 16); h = fnv(h, buf, (size_t)n); total = n; }
		reads = 1;
		free(buf);
	} else if (fd && strcmp(cmd, "huge") == 0) {
		total = weavedrive_read(fd, small, 0x7fffffff);
	}
	if (fd) weavedrive_close(fd);
	char hex[40] = {0};
	for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", head[i]);
	snprintf(reply, sizeof reply,
		"{\"ok\":true,\"response\":{\"Output\":{\"fd\":%d,\"size\":%lld,\"read\":%lld,\"reads\":%lld,"
		"\"fnv\":\"%016llx\",\"head\":\"%s\"},\"Messages\":[],\"Spawns\":[],\"Assignments\":[]}}",
		fd, size, total, reads, h, hex);
	return reply;
}
