/* shim.h: shared by every test module. Replaces the few libc entry points that Debian's emscripten
 * 3.1.6 implements as JS imports the reference loader (@permaweb/ao-loader 0.0.49, format
 * wasm32-unknown-emscripten2) does not provide: time, clock, difftime, clock_gettime and the
 * non-*at file syscalls. With these defined in C, the module's import set is a subset of the
 * reference loader's emscripten2 import object, so both hosts can run the same binary. */
#ifndef AW_SHIM_H
#define AW_SHIM_H
#include <stddef.h>
/* Minimal JSON string escaping into buf (returns bytes written, always NUL-terminated). */
size_t aw_json_escape(char *buf, size_t cap, const char *s);
#endif
