/* sjlj.c: exercises setjmp/longjmp (emscripten's invoke_* + _emscripten_throw_longjmp), traps,
 * abort, exit, unbounded recursion and an endless loop. Actions:
 *   jump N   nested setjmp/longjmp N levels deep, longjmp from the innermost; counts landings
 *   trap     executes unreachable          abort  calls abort()        exit  calls exit(3)
 *   recurse  unbounded recursion           loop   never returns
 * Every successful message increments a counter kept in linear memory. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <emscripten.h>
#include "../shim.h"
#include "../msg.h"

static int counter;
static int landings;
static char reply[512];

static void dive(jmp_buf *outer, int depth) {
	jmp_buf here;
	if (depth == 0) longjmp(*outer, 7);
	if (setjmp(here) == 0) {
		dive(&here, depth - 1);
	} else {
		landings++;
		longjmp(*outer, depth + 1);
	}
}

/* The only function with a setjmp in the caller chain besides dive: every call that may longjmp
 * is then an invoke_vii, the one invoke_* the reference loader's emscripten2 glue provides. */
__attribute__((noinline)) static int run_jump(int n) {
	jmp_buf top;
	landings = 0;
	int v = setjmp(top);
	if (v == 0) dive(&top, n);
	return v;
}

__attribute__((noinline)) static int recurse(volatile int *p) {
	volatile int local[8];
	local[0] = *p + 1;
	return recurse(local) + local[0];
}

int main(void) { return 0; }

EMSCRIPTEN_KEEPALIVE
const char *handle(const char *msg, const char *env) {
	(void)env;
	char action[32], data[32];
	aw_action(msg, action, sizeof action);
	aw_field(msg, "\"Data\":\"", data, sizeof data);
	if (strcmp(action, "jump") == 0) {
		int v = run_jump(atoi(data));
		counter++;
		snprintf(reply, sizeof reply,
			"{\"ok\":true,\"response\":{\"Output\":{\"landings\":%d,\"value\":%d,\"counter\":%d},\"Messages\":[],\"Spawns\":[],\"Assignments\":[]}}",
			landings, v, counter);
		return reply;
	}
	if (strcmp(action, "trap") == 0) __builtin_trap();
	if (strcmp(action, "abort") == 0) abort();
	if (strcmp(action, "exit") == 0) exit(3);
	if (strcmp(action, "recurse") == 0) {
		volatile int start = 0;
		snprintf(reply, sizeof reply, "%d", recurse(&start));
	}
	if (strcmp(action, "loop") == 0) {
		volatile unsigned x = 0;
		for (;;) x++;
	}
	counter++;
	snprintf(reply, sizeof reply,
		"{\"ok\":true,\"response\":{\"Output\":{\"counter\":%d},\"Messages\":[],\"Spawns\":[],\"Assignments\":[]}}", counter);
	return reply;
}
