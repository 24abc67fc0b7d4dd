/* aoslike.c: an aos-like AO process. Boots a Lua 5.3 state in main() (as the dev-cli's main.c does)
 * and exports handle(msgJSON, envJSON), which calls the Lua global handle(msg, env) defined by the
 * embedded program (aoslike.lua) and returns its JSON string: {"ok":bool,"response":...}. */
#include <stdio.h>
#include <string.h>
#include <emscripten.h>
#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
#include "../shim.h"
#include PROCESS_LUA_H

lua_State *wasm_lua_state = NULL;
static char errbuf[4096];

static const char *fail(const char *msg) {
	static char esc[3900];
	aw_json_escape(esc, sizeof esc, msg ? msg : "unknown error");
	snprintf(errbuf, sizeof errbuf, "{\"ok\":false,\"response\":\"%s\"}", esc);
	return errbuf;
}

/* boot creates the Lua state; main() calls it (aos 1.x), and handle() does when main() was not
 * run (the emscripten4 start-up runs only the constructors, and aos 2.x boots in handle). */
static int boot(void) {
	lua_State *L = luaL_newstate();
	if (L == NULL) return 1;
	luaL_openlibs(L);
	if (luaL_loadbuffer(L, PROCESS_LUA, sizeof(PROCESS_LUA) - 1, "=process") != LUA_OK ||
	    lua_pcall(L, 0, 0, 0) != LUA_OK) {
		fprintf(stderr, "boot: %s\n", lua_tostring(L, -1));
		return 1;
	}
	wasm_lua_state = L;
	return 0;
}

int main(void) { return boot(); }

EMSCRIPTEN_KEEPALIVE
const char *handle(const char *msg, const char *env) {
	if (wasm_lua_state == NULL && boot() != 0) return fail("lua state did not boot");
	lua_State *L = wasm_lua_state;
	lua_settop(L, 0); /* the previous reply was kept on the stack until now */
	lua_getglobal(L, "handle");
	lua_pushstring(L, msg);
	lua_pushstring(L, env);
	if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
		const char *r = fail(lua_tostring(L, -1));
		lua_settop(L, 0);
		return r;
	}
	if (!lua_isstring(L, -1)) return fail("handle returned no string");
	return lua_tostring(L, -1);
}
