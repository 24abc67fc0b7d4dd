/* benchmodule.c: the process module `actorweave bench` runs when no --module is given, embedded in
 * the binary (benchmodule.wasm next to it, built from this file by build.sh, which scripts/deps.d/20-wasm-modules.sh runs; see
 * bench/README.md). It speaks the emscripten ABI of the test modules in runtime/testdata/modules:
 * handle(msgJSON, envJSON) returns {"ok":true,"response":{Output, Messages, Spawns, Assignments[,
 * Error]}}, and answers what the benchmark scenarios ask of the aos-like Lua module, with a fixed
 * vocabulary instead of Lua source.
 *
 * An Eval from the process owner carries one command in its Data (words separated by spaces; the
 * Lua each one stands for is in bench/program.go):
 *   count                     X = X + 1; output X
 *   noop                      output 1
 *   ping-limit N              answer a Ping of Hop < N with a Ping of Hop + 1 to its sender
 *   ping TARGET               send a Ping with Hop 1 to TARGET
 *   targets ID...             remember the fanout targets; output how many
 *   fanout R                  send a Ping with Hop 1 and Round R to every target
 *   loop-start, loop-stop     a Loop message to itself that each Loop repeats, until stopped
 *   token BALANCE ID...       become the token: each ID holds BALANCE
 *   holder TOKEN              accept Debit- and Credit-Notices from TOKEN only, and count them
 *   transfer RECIPIENT X      send a Transfer of 1 to the token, with X-Transfer X
 *   counts                    output "DEBITS CREDITS"
 *   record-target             from now on remember the Target of an Eval not from the owner
 *   seen-target               output the last Target so remembered
 *   output N                  output N bytes of 'x'
 *   spin                      loop forever (until out of gas or time)
 * Anything else is the message's Error. Other messages go by their Action: Ping, Loop, Transfer
 * (on a token: debit the sender, credit Recipient, send a Debit-Notice and a Credit-Notice, or a
 * Transfer-Error), Debit-Notice, Credit-Notice, Eval not from the owner (its Target remembered after record-target);
 * any other is counted as an inbox message. Outbox messages carry their tags sorted by name and a
 * From-Process tag, with the anchor numbering of the Lua module's ao.send. No clock, no
 * randomness: the same messages give the same replies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <emscripten.h>

int main(void) { return 0; }

/* ---- growable strings ---- */

typedef struct { char *p; size_t n, cap; } buf;

static void b_grow(buf *b, size_t more) {
	if (b->n + more + 1 <= b->cap) return;
	size_t cap = b->cap ? b->cap : 256;
	while (b->n + more + 1 > cap) cap *= 2;
	char *p = realloc(b->p, cap);
	if (p == NULL) abort();
	b->p = p;
	b->cap = cap;
}
static void b_put(buf *b, const char *s, size_t n) {
	b_grow(b, n);
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}
static void b_str(buf *b, const char *s) { b_put(b, s, strlen(s)); }
static void b_fmt_long(buf *b, long long v) {
	char t[32];
	snprintf(t, sizeof t, "%lld", v);
	b_str(b, t);
}
/* b_json appends s as a JSON string literal. */
static void b_json(buf *b, const char *s) {
	static const char hex[] = "0123456789abcdef";
	b_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') { char e[2] = {'\\', (char)c}; b_put(b, e, 2); }
		else if (c == '\n') b_put(b, "\\n", 2);
		else if (c < 0x20) { char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]}; b_put(b, e, 6); }
		else b_put(b, (const char *)&c, 1);
	}
	b_put(b, "\"", 1);
}

/* ---- a small JSON reader: enough for the message and env objects the hosts pass ---- */

static const char *ws(const char *p) {
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
	return p;
}

/* skip returns the end of the JSON value starting at p (NULL if malformed). */
static const char *skip(const char *p) {
	p = ws(p);
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++)
			if (*p == '\\' && p[1]) p++;
		return *p == '"' ? p + 1 : NULL;
	}
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		p = ws(p + 1);
		if (*p == close) return p + 1;
		for (;;) {
			if (close == '}') {
				if ((p = skip(p)) == NULL) return NULL; /* key */
				p = ws(p);
				if (*p++ != ':') return NULL;
			}
			if ((p = skip(p)) == NULL) return NULL;
			p = ws(p);
			if (*p == ',') { p = ws(p + 1); continue; }
			return *p == close ? p + 1 : NULL;
		}
	}
	while (*p && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') p++;
	return p;
}

static void put_utf8(buf *b, unsigned cp) {
	char u[4];
	size_t n;
	if (cp < 0x80) { u[0] = (char)cp; n = 1; }
	else if (cp < 0x800) { u[0] = (char)(0xc0 | cp >> 6); u[1] = (char)(0x80 | (cp & 63)); n = 2; }
	else if (cp < 0x10000) { u[0] = (char)(0xe0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 63)); u[2] = (char)(0x80 | (cp & 63)); n = 3; }
	else { u[0] = (char)(0xf0 | cp >> 18); u[1] = (char)(0x80 | ((cp >> 12) & 63)); u[2] = (char)(0x80 | ((cp >> 6) & 63)); u[3] = (char)(0x80 | (cp & 63)); n = 4; }
	b_put(b, u, n);
}

static unsigned hex4(const char *p) {
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
		else return 0xfffd;
	}
	return v;
}

/* str decodes the JSON string at p into a new NUL-terminated string ("" if p is not a string). */
static char *str(const char *p) {
	buf b = {0};
	b_put(&b, "", 0);
	p = ws(p);
	if (*p != '"') return b.p;
	for (p++; *p && *p != '"'; p++) {
		if (*p != '\\') { b_put(&b, p, 1); continue; }
		p++;
		switch (*p) {
		case 'b': b_put(&b, "\b", 1); break;
		case 'f': b_put(&b, "\f", 1); break;
		case 'n': b_put(&b, "\n", 1); break;
		case 'r': b_put(&b, "\r", 1); break;
		case 't': b_put(&b, "\t", 1); break;
		case 'u': {
			if (strlen(p) < 5) return b.p;
			unsigned cp = hex4(p + 1);
			p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && p[1] == '\\' && p[2] == 'u' && strlen(p) >= 7) {
				unsigned lo = hex4(p + 3);
				if (lo >= 0xdc00 && lo < 0xe000) { cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00); p += 6; }
			}
			put_utf8(&b, cp);
			break;
		}
		case 0: return b.p;
		default: b_put(&b, p, 1);
		}
	}
	return b.p;
}

/* get returns the value of key in the JSON object at obj, or NULL. */
static const char *get(const char *obj, const char *key) {
	if (obj == NULL) return NULL;
	const char *p = ws(obj);
	if (*p != '{') return NULL;
	p = ws(p + 1);
	size_t kn = strlen(key);
	while (*p == '"') {
		const char *k = p + 1, *ke = skip(p);
		if (ke == NULL) return NULL;
		p = ws(ke);
		if (*p++ != ':') return NULL;
		p = ws(p);
		if ((size_t)(ke - 1 - k) == kn && memcmp(k, key, kn) == 0) return p;
		if ((p = skip(p)) == NULL) return NULL;
		p = ws(p);
		if (*p != ',') return NULL;
		p = ws(p + 1);
	}
	return NULL;
}

/* tag returns the value of the first tag called name in the message's Tags (a new string, NULL if
 * absent). */
static char *tag(const char *msg, const char *name) {
	const char *p = get(msg, "Tags");
	if (p == NULL || *(p = ws(p)) != '[') return NULL;
	p = ws(p + 1);
	while (*p == '{') {
		char *n = str(get(p, "name") ? get(p, "name") : "");
		int match = strcmp(n, name) == 0;
		free(n);
		if (match) return str(get(p, "value") ? get(p, "value") : "");
		if ((p = skip(p)) == NULL) return NULL;
		p = ws(p);
		if (*p != ',') return NULL;
		p = ws(p + 1);
	}
	return NULL;
}

static char *field(const char *obj, const char *key) {
	const char *v = get(obj, key);
	return str(v ? v : "");
}

/* ---- process state ---- */

static long long counter;            /* count */
static long long ping_limit;         /* ping-limit */
static long long pings;              /* Pings received */
static char **targets;               /* targets */
static int ntargets;
static int looping;                  /* loop-start .. loop-stop */
static char *token_id;               /* holder TOKEN */
static long long debits, credits;    /* notices counted by a holder */
static int record_target;            /* record-target */
static char *seen_target;            /* seen-target */
static long long inbox;              /* other messages */
static long long reference;          /* ao.send's anchor numbering */

/* balances: open addressing over process ids, grown at half full. is_token once `token` ran. */
typedef struct { char *id; long long bal; } slot;
static slot *bals;
static size_t nbals, capbals;
static int is_token;

static size_t hash(const char *s) {
	size_t h = 2166136261u;
	for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}
static slot *balance(const char *id, int create) {
	if (capbals == 0 || (create && 2 * (nbals + 1) > capbals)) {
		size_t cap = capbals ? 2 * capbals : 64;
		slot *n = calloc(cap, sizeof *n);
		if (n == NULL) abort();
		for (size_t i = 0; i < capbals; i++)
			if (bals[i].id) {
				size_t j = hash(bals[i].id) & (cap - 1);
				while (n[j].id) j = (j + 1) & (cap - 1);
				n[j] = bals[i];
			}
		free(bals);
		bals = n;
		capbals = cap;
	}
	size_t j = hash(id) & (capbals - 1);
	while (bals[j].id) {
		if (strcmp(bals[j].id, id) == 0) return &bals[j];
		j = (j + 1) & (capbals - 1);
	}
	if (!create) return NULL;
	bals[j].id = strdup(id);
	bals[j].bal = 0;
	nbals++;
	return &bals[j];
}

/* ---- the reply ---- */

static buf out;       /* the Messages array's contents */
static int nout;
static const char *self_id;

/* send queues an outbox message to target with the tags given as name, value pairs (sorted by
 * name, as the Lua module's ao.send sorts them), then From-Process. */
static void send(const char *target, int ntags, const char *const *tags) {
	char anchor[40];
	snprintf(anchor, sizeof anchor, "%032lld", ++reference);
	if (nout++) b_str(&out, ",");
	b_str(&out, "{\"Anchor\":");
	b_json(&out, anchor);
	b_str(&out, ",\"Data\":\"\",\"Tags\":[");
	for (int i = 0; i < ntags; i++) {
		b_str(&out, "{\"name\":");
		b_json(&out, tags[2 * i]);
		b_str(&out, ",\"value\":");
		b_json(&out, tags[2 * i + 1]);
		b_str(&out, "},");
	}
	b_str(&out, "{\"name\":\"From-Process\",\"value\":");
	b_json(&out, self_id);
	b_str(&out, "}],\"Target\":");
	b_json(&out, target);
	b_str(&out, "}");
}

static buf reply;

/* finish builds the reply: output is a JSON value for an Eval ({"data":{"output":...}}), a string
 * printed for a handled message ({"data":...,"print":true}), or error, the message's Error. */
static const char *finish(const char *eval_output, const char *printed, const char *error) {
	reply.n = 0;
	b_str(&reply, "{\"ok\":true,\"response\":{");
	if (error) {
		b_str(&reply, "\"Error\":");
		b_json(&reply, error);
	} else if (eval_output) {
		b_str(&reply, "\"Output\":{\"data\":{\"output\":");
		b_str(&reply, eval_output);
		b_str(&reply, ",\"prompt\":\"aos> \"}}");
	} else {
		b_str(&reply, "\"Output\":{\"data\":");
		b_json(&reply, printed);
		b_str(&reply, ",\"print\":true}");
	}
	b_str(&reply, ",\"Messages\":[");
	if (out.n) b_put(&reply, out.p, out.n);
	b_str(&reply, "],\"Spawns\":[],\"Assignments\":[]}}");
	return reply.p;
}

static const char *output_str(const char *s) {
	buf b = {0};
	b_json(&b, s);
	const char *r = finish(b.p, NULL, NULL);
	free(b.p);
	return r;
}

static const char *output_int(long long v) {
	char t[32];
	snprintf(t, sizeof t, "%lld", v);
	return finish(t, NULL, NULL);
}

/* words splits s in place at spaces; returns how many (at most max). */
static int words(char *s, char **w, int max) {
	int n = 0;
	while (*s && n < max) {
		while (*s == ' ') *s++ = 0;
		if (!*s) break;
		w[n++] = s;
		while (*s && *s != ' ') s++;
	}
	return n;
}

static int count_words(const char *s) {
	int n = 0, in = 0;
	for (; *s; s++) {
		if (*s == ' ') in = 0;
		else if (!in) { in = 1; n++; }
	}
	return n;
}

/* ---- an owner's Eval: one command ---- */

static volatile long long spun;

static const char *eval(char *data) {
	char *orig = strdup(data);
	int max = count_words(data) + 1;
	char **w = malloc(sizeof(char *) * (size_t)max);
	const char *r = NULL;
	int n = words(data, w, max);
	const char *cmd = n ? w[0] : "";
	if (strcmp(cmd, "count") == 0 && n == 1) r = output_int(++counter);
	else if (strcmp(cmd, "noop") == 0 && n == 1) r = output_int(1);
	else if (strcmp(cmd, "ping-limit") == 0 && n == 2) { ping_limit = atoll(w[1]); r = output_str("ok"); }
	else if (strcmp(cmd, "ping") == 0 && n == 2) {
		const char *t[] = {"Action", "Ping", "Hop", "1"};
		send(w[1], 2, t);
		r = output_str("go");
	} else if (strcmp(cmd, "targets") == 0) {
		for (int i = 0; i < ntargets; i++) free(targets[i]);
		free(targets);
		ntargets = n - 1;
		targets = malloc(sizeof(char *) * (size_t)(ntargets + 1));
		for (int i = 0; i < ntargets; i++) targets[i] = strdup(w[i + 1]);
		r = output_int(ntargets);
	} else if (strcmp(cmd, "fanout") == 0 && n == 2) {
		const char *t[] = {"Action", "Ping", "Hop", "1", "Round", w[1]};
		for (int i = 0; i < ntargets; i++) send(targets[i], 3, t);
		r = output_str("sent");
	} else if (strcmp(cmd, "loop-start") == 0 && n == 1) {
		const char *t[] = {"Action", "Loop"};
		looping = 1;
		send(self_id, 1, t);
		r = output_str("looping");
	} else if (strcmp(cmd, "loop-stop") == 0 && n == 1) { looping = 0; r = output_str("stopped"); }
	else if (strcmp(cmd, "token") == 0 && n >= 2) {
		long long b = atoll(w[1]);
		is_token = 1;
		for (int i = 2; i < n; i++) balance(w[i], 1)->bal = b;
		r = output_str("token");
	} else if (strcmp(cmd, "holder") == 0 && n == 2) {
		free(token_id);
		token_id = strdup(w[1]);
		r = output_str("holder");
	} else if (strcmp(cmd, "transfer") == 0 && n == 3) {
		if (token_id == NULL) r = finish(NULL, NULL, "transfer: not a holder (no holder command)");
		else {
			const char *t[] = {"Action", "Transfer", "Quantity", "1", "Recipient", w[1], "X-Transfer", w[2]};
			send(token_id, 4, t);
			r = output_str("sent");
		}
	} else if (strcmp(cmd, "counts") == 0 && n == 1) {
		char t[64];
		snprintf(t, sizeof t, "%lld %lld", debits, credits);
		r = output_str(t);
	} else if (strcmp(cmd, "record-target") == 0 && n == 1) { record_target = 1; r = output_str("ok"); }
	else if (strcmp(cmd, "seen-target") == 0 && n == 1) r = output_str(seen_target ? seen_target : "");
	else if (strcmp(cmd, "output") == 0 && n == 2) {
		long long len = atoll(w[1]);
		char *s = malloc((size_t)len + 1);
		if (s == NULL) r = finish(NULL, NULL, "output: not enough memory");
		else {
			memset(s, 'x', (size_t)len);
			s[len] = 0;
			r = output_str(s);
			free(s);
		}
	} else if (strcmp(cmd, "spin") == 0 && n == 1) {
		for (;;) spun++;
	} else {
		buf e = {0};
		b_str(&e, "unknown command (the bench module's vocabulary is in bench/benchmodule/src/benchmodule.c): ");
		b_put(&e, orig, strlen(orig) > 80 ? 80 : strlen(orig));
		r = finish(NULL, NULL, e.p);
		free(e.p);
	}
	free(w);
	free(orig);
	return r;
}

/* ---- other messages, by Action ---- */

static const char *handled(const char *action, const char *from) {
	buf b = {0};
	b_str(&b, "Handled ");
	b_str(&b, action);
	b_str(&b, " From ");
	b_str(&b, from);
	const char *r = finish(NULL, b.p, NULL);
	free(b.p);
	return r;
}

static const char *transfer(const char *msg, const char *from) {
	char *to = tag(msg, "Recipient"), *q = tag(msg, "Quantity"), *x = tag(msg, "X-Transfer");
	long long qty = q ? atoll(q) : 0;
	slot *s = balance(from, 0);
	char qs[32];
	snprintf(qs, sizeof qs, "%lld", qty);
	const char *xs = x ? x : "";
	if (to == NULL || qty <= 0 || s == NULL || s->bal < qty) {
		const char *t[] = {"Action", "Transfer-Error", "Error", "Insufficient Balance", "X-Transfer", xs};
		send(from, 3, t);
	} else {
		s->bal -= qty;
		balance(to, 1)->bal += qty;
		const char *d[] = {"Action", "Debit-Notice", "Quantity", qs, "Recipient", to, "X-Transfer", xs};
		send(from, 4, d);
		const char *c[] = {"Action", "Credit-Notice", "Quantity", qs, "Sender", from, "X-Transfer", xs};
		send(to, 4, c);
	}
	free(to);
	free(q);
	free(x);
	return handled("Transfer", from);
}

EMSCRIPTEN_KEEPALIVE
const char *handle(const char *msg, const char *env) {
	out.n = 0;
	nout = 0;
	if (out.p) out.p[0] = 0;
	const char *proc = get(env, "Process");
	char *id = field(proc, "Id"), *owner = field(proc, "Owner");
	char *from = field(msg, "From"), *mowner = field(msg, "Owner");
	char *action = tag(msg, "Action");
	self_id = id;
	const char *r;
	if (action && strcmp(action, "Eval") == 0 && (!*owner || strcmp(from, owner) == 0 || strcmp(mowner, owner) == 0)) {
		char *data = field(msg, "Data");
		r = eval(data);
		free(data);
	} else if (action && strcmp(action, "Eval") == 0 && record_target) {
		free(seen_target);
		seen_target = field(msg, "Target");
		r = handled(action, from);
	} else if (action && strcmp(action, "Ping") == 0) {
		char *h = tag(msg, "Hop");
		long long hop = h ? atoll(h) : 0;
		free(h);
		pings++;
		if (hop < ping_limit) {
			char next[32];
			snprintf(next, sizeof next, "%lld", hop + 1);
			const char *t[] = {"Action", "Ping", "Hop", next};
			send(from, 2, t);
		}
		r = handled(action, from);
	} else if (action && strcmp(action, "Loop") == 0 && looping) {
		const char *t[] = {"Action", "Loop"};
		send(id, 1, t);
		r = handled(action, from);
	} else if (action && strcmp(action, "Transfer") == 0 && is_token) {
		r = transfer(msg, from);
	} else if (action && token_id && (strcmp(action, "Debit-Notice") == 0 || strcmp(action, "Credit-Notice") == 0)) {
		if (strcmp(from, token_id) != 0) r = finish(NULL, NULL, "not from the token");
		else {
			if (action[0] == 'D') debits++;
			else credits++;
			r = handled(action, from);
		}
	} else {
		inbox++;
		buf b = {0};
		b_str(&b, "New Message From ");
		b_str(&b, from);
		b_str(&b, ": Action = ");
		b_str(&b, action ? action : "nil");
		r = finish(NULL, b.p, NULL);
		free(b.p);
	}
	free(id);
	free(owner);
	free(from);
	free(mowner);
	free(action);
	self_id = NULL;
	return r;
}
