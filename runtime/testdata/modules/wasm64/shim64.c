/* shim64.c: linked into the wasm64 test modules only. emcc 3.1.6 makes setTempRet0 a JS import,
 * which the reference loader's wasm64 glue (a newer emscripten) does not provide: defined here in
 * C, the module keeps tempRet0 to itself, as newer emscripten does. */
static int temp_ret0;
void setTempRet0(int v) { temp_ret0 = v; }
int getTempRet0(void) { return temp_ret0; }

/* The wasm64 glue answers invoke_vjj (setjmp/longjmp) by calling the module's exported
 * dynCall_vjj(index, a1, a2), which emcc 3.1.6 does not export: the table call, in C. */
#include <emscripten.h>
EMSCRIPTEN_KEEPALIVE void dynCall_vjj(int index, void *a1, void *a2) {
	((void (*)(void *, void *))(unsigned long)index)(a1, a2);
}

/* emcc 3.1.6's memcpy calls the import emscripten_memcpy_big(dst, src, n) -> dst for large copies;
 * the wasm64 glue's _emscripten_memcpy_js returns nothing (its JS returns the heap array, which a
 * (i64) result cannot take). Defined here, in plain C (optnone: no loop turned back into memcpy). */
#include <stddef.h>
__attribute__((noinline, optnone)) void *emscripten_memcpy_big(void *dst, const void *src, size_t n) {
	unsigned char *d = dst;
	const unsigned char *s = src;
	for (size_t i = 0; i < n; i++) d[i] = s[i];
	return dst;
}
