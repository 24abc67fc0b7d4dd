/* msg.h: tiny helpers for the C test modules: pull the Action tag and Data out of the message JSON
 * (the shapes the tests send; not a general JSON parser) and build the reply. */
#ifndef AW_MSG_H
#define AW_MSG_H
#include <string.h>

/* Copies the string value following `key` (e.g. "\"Data\":\"") into out; "" if absent. */
static void aw_field(const char *json, const char *key, char *out, size_t cap) {
	const char *p = strstr(json, key);
	size_t n = 0;
	if (p) {
		p += strlen(key);
		while (*p && *p != '"' && n + 1 < cap) out[n++] = *p++;
	}
	out[n] = 0;
}

static void aw_action(const char *json, char *out, size_t cap) {
	aw_field(json, "{\"name\":\"Action\",\"value\":\"", out, cap);
}
#endif
