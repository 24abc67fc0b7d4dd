/* lowering.c: a freestanding memory64 module (clang --target=wasm64, no libc) for the tests of
 * runtime/internal/wasmbin.LowerMemory64 on compiler output: loads and stores with 64-bit
 * addresses in loops, memory.size/grow, and a raw pointer for the 4 GiB trap. */
typedef unsigned long size_t;
static unsigned char heap[1 << 16];
static size_t top;

static void *alloc(size_t n) {
	void *p = heap + top;
	top += (n + 15) & ~(size_t)15;
	return p;
}

__attribute__((export_name("sum"))) long long sum(long long n) {
	top = 0; /* each call starts afresh: the benchmark calls it many times */
	long long *a = alloc(n * sizeof(long long));
	for (long long i = 0; i < n; i++) a[i] = i * 3;
	long long s = 0;
	for (long long i = 0; i < n; i++) s += a[i];
	return s;
}

__attribute__((export_name("copy"))) int copy(char *dst, const char *src, size_t n) {
	__builtin_memcpy(dst, src, n);
	return dst[n - 1];
}

__attribute__((export_name("peek"))) int peek(unsigned char *p) { return *p; }
__attribute__((export_name("poke"))) void poke(unsigned char *p, int v) { *p = (unsigned char)v; }
__attribute__((export_name("grow"))) long grow(long n) { return __builtin_wasm_memory_grow(0, n); }
__attribute__((export_name("size"))) long size(void) { return __builtin_wasm_memory_size(0); }
