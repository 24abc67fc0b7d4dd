/* heap.c: exercises heap growth through emscripten_resize_heap. Action "alloc" with Data = KiB to
 * malloc (and touch) and keep; replies with the linear memory size and the total kept. A failed
 * malloc is reported as the process's Error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <emscripten.h>
#include "../shim.h"
#include "../msg.h"

static size_t kept;
/* Kept blocks are stored here so the compiler cannot drop the malloc + memset pair. */
static char *blocks[4096];
static int nblocks;
static char reply[512];

int main(void) { return 0; }

EMSCRIPTEN_KEEPALIVE
const char *handle(const char *msg, const char *env) {
	(void)env;
	char action[32], data[32];
	aw_action(msg, action, sizeof action);
	aw_field(msg, "\"Data\":\"", data, sizeof data);
	if (strcmp(action, "alloc") == 0) {
		size_t kib = (size_t)strtoul(data, NULL, 10);
		char *p = malloc(kib * 1024);
		if (p == NULL) {
			snprintf(reply, sizeof reply, "{\"ok\":true,\"response\":{\"Error\":\"malloc of %zu KiB failed\"}}", kib);
			return reply;
		}
		memset(p, 0xab, kib * 1024);
		blocks[nblocks++ % 4096] = p;
		kept += kib;
	}
	snprintf(reply, sizeof reply,
		"{\"ok\":true,\"response\":{\"Output\":{\"memory\":%lu,\"keptKiB\":%zu},\"Messages\":[],\"Spawns\":[],\"Assignments\":[]}}",
		(unsigned long)__builtin_wasm_memory_size(0) * 65536ul, kept);
	return reply;
}
