/*
 * options.c - the key=value options of a rule (grammar.c reads the rule).
 *
 * Rules for this file:
 *  1. MUST NOT allocate, lock, use stdio or depend on the locale: the preload
 *     library parses the policy inside kill().
 *  2. MUST check a value when it is parsed, not when it is used, and MUST NOT
 *     keep a default for a bad value: a bad value is an error, and the rule
 *     it belongs to is dropped.
 *  3. Each option at most once; an empty value is an error; the options of
 *     the rewrite (timeout, conninfo, fallback, route) only for terminate
 *     and cancel.
 *
 * Options (each at most once; empty values are errors):
 *   user=LIST      the caller's real uid is one of: NAME, UID, or is in
 *                  group @NAME or @GID (its gid or supplementary groups).
 *                  Names are looked up in /etc/passwd and /etc/group only (no
 *                  NSS): write numeric ids for directory-service accounts.
 *                  A name that is all digits is an id.
 *   program=LIST   the caller's comm (at most 15 bytes) is one of LIST;
 *                  `pid1` matches PID 1 whatever its name.
 *   message=TEXT   added to the explanation the caller sees.
 *   timeout=MS     1..600000, terminate and cancel only (default 5000).
 *   conninfo=TEXT  libpq connection string for the rewrite (terminate, cancel).
 *   fallback=signal|deny  when the rewrite fails: send the original signal,
 *                  or refuse it (the default); terminate and cancel only.
 *   route=auto|sql|signal  how terminate/cancel reach the process: auto (the
 *                  default) asks the server (pg_terminate_backend) and, when
 *                  SQL cannot be used (no connection slot, role missing,
 *                  authentication, server not accepting connections, the
 *                  server does not know the pid), sends SIGTERM (cancel:
 *                  SIGINT) directly with the caller's own credentials and
 *                  waits for the exit; sql: the server only; signal: the
 *                  direct signal only.  Never SIGKILL.  terminate and cancel only.
 *   Lists are comma separated, no spaces.
 */
#include <stdint.h>
#include <string.h>

#include "policy_int.h"
#include "util.h"

#define COMM_MAX 15
#define NAME_MAX_LEN 64		/* user and group names */
#define TIMEOUT_MAX 600000

static bool all_digits(const struct word *w)
{
	return pgkg_all_digits(w->s, w->n);
}

enum opt {
	OPT_USER, OPT_PROGRAM, OPT_MESSAGE, OPT_TIMEOUT, OPT_CONNINFO, OPT_FALLBACK, OPT_ROUTE,
	OPT__COUNT
};

static const char *const opt_names[OPT__COUNT] = {
	"user", "program", "message", "timeout", "conninfo", "fallback", "route",
};

#define OPTS_REWRITE_ONLY                                                      \
	((1u << OPT_TIMEOUT) | (1u << OPT_CONNINFO) | (1u << OPT_FALLBACK) | (1u << OPT_ROUTE))

static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '-';
}

/* A user or group name as useradd allows it: [A-Za-z0-9_.-], may end in $. */
static bool valid_name(const struct word *w)
{
	size_t n = w->n;

	if (n && w->s[n - 1] == '$')
		n--;
	if (n == 0 || n > NAME_MAX_LEN || w->s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!name_char(w->s[i]))
			return false;
	}
	return true;
}

static void check_user_item(struct parse *c, const struct src *s, struct word it)
{
	bool group = it.n && it.s[0] == '@';
	long long id;

	if (group) {
		it.s++;
		it.n--;
	}
	if (group && it.n == 0) {
		pol_err(c, s, "empty group name after @ in the user list");
		return;
	}
	if (all_digits(&it)) {
		if (pgkg_parse_ll(it.s, it.n, 0, UINT32_MAX - 1, &id) < 0)
			pol_errw(c, s, group ? "gid " : "uid ", &it, " out of range");
	} else if (!valid_name(&it)) {
		pol_errw(c, s, group ? "bad group name " : "bad user name ", &it, "");
	}
}

static void opt_user(struct parse *c, const struct src *s, const struct word *v,
		     struct pgkg_rule *r)
{
	struct word it;
	size_t pos = 0;
	int errors = c->errors;

	while (next_item(v, &pos, &it)) {
		if (it.n == 0)
			pol_err(c, s, "empty item in the user list");
		else
			check_user_item(c, s, it);
	}
	if (c->errors == errors)
		r->users = pol_pool_add(c, s, v->s, v->n);
}

static void opt_program(struct parse *c, const struct src *s, const struct word *v,
			struct pgkg_rule *r)
{
	struct word it;
	size_t pos = 0;
	int errors = c->errors;

	while (next_item(v, &pos, &it)) {
		if (it.n == 0)
			pol_err(c, s, "empty item in the program list");
		else if (it.n > COMM_MAX && it.s[0] != '/')
			pol_errw(c, s, "program name ", &it,
				 " is longer than 15 bytes (the kernel cuts command names at 15)");
	}
	if (c->errors == errors)
		r->programs = pol_pool_add(c, s, v->s, v->n);
}

static void opt_message(struct parse *c, const struct src *s, const struct word *v,
			struct pgkg_rule *r)
{
	r->message = pol_pool_add(c, s, v->s, v->n);
}

static void opt_conninfo(struct parse *c, const struct src *s, const struct word *v,
			 struct pgkg_rule *r)
{
	r->conninfo = pol_pool_add(c, s, v->s, v->n);
}

static void opt_timeout(struct parse *c, const struct src *s, const struct word *v,
			struct pgkg_rule *r)
{
	long long ms;

	if (!all_digits(v) || pgkg_parse_ll(v->s, v->n, 1, TIMEOUT_MAX, &ms) < 0) {
		pol_errw(c, s, "timeout must be 1..600000 (milliseconds), not ", v, "");
		return;
	}
	r->timeout_ms = (uint32_t)ms;
}

static void opt_fallback(struct parse *c, const struct src *s, const struct word *v,
			 struct pgkg_rule *r)
{
	if (word_is(v, "signal"))
		r->fallback_signal = true;
	else if (word_is(v, "deny"))
		r->fallback_signal = false;
	else
		pol_errw(c, s, "fallback must be signal or deny, not ", v, "");
}

static void opt_route(struct parse *c, const struct src *s, const struct word *v,
		      struct pgkg_rule *r)
{
	if (word_is(v, "auto"))
		r->route = PGKG_ROUTE_AUTO;
	else if (word_is(v, "sql"))
		r->route = PGKG_ROUTE_SQL;
	else if (word_is(v, "signal"))
		r->route = PGKG_ROUTE_SIGNAL;
	else
		pol_errw(c, s, "route must be auto, sql or signal, not ", v, "");
}

const char *pgkg_route_name(enum pgkg_route r)
{
	return r == PGKG_ROUTE_SQL ? "sql" : r == PGKG_ROUTE_SIGNAL ? "signal" : "auto";
}

typedef void (*opt_fn)(struct parse *, const struct src *, const struct word *, struct pgkg_rule *);

static const opt_fn opt_fns[OPT__COUNT] = {
	opt_user, opt_program, opt_message, opt_timeout, opt_conninfo, opt_fallback, opt_route,
};

static int opt_index(const struct word *key)
{
	for (int k = 0; k < OPT__COUNT; k++) {
		if (word_is(key, opt_names[k]))
			return k;
	}
	return -1;
}

/* from=manager,parent,nsinit,cgroup,cgroup:GLOB: who the caller is to the
 * target's cluster (see pgkg_read_caller_relation). */
#define SEEN_FROM (1u << 31)
static void opt_from(struct parse *c, const struct src *s, const struct word *v,
		     struct pgkg_rule *r, unsigned *seen)
{
	static const char *const words[] = {"manager", "parent", "nsinit", "cgroup", NULL};
	struct word it;
	size_t pos = 0;
	int errors = c->errors;

	if (*seen & SEEN_FROM)
		pol_err(c, s, "duplicate option \"from\"");
	*seen |= SEEN_FROM;
	if (v->n == 0) {
		pol_err(c, s, "empty value for option \"from\"");
		return;
	}
	while (next_item(v, &pos, &it)) {
		bool ok = it.n > 7 && memcmp(it.s, "cgroup:", 7) == 0 &&
			  (it.s[7] == '/' || it.s[7] == '*');
		for (int i = 0; !ok && words[i]; i++)
			ok = word_is(&it, words[i]);
		if (!ok)
			pol_errw(c, s, "bad from item ", &it,
				 " (manager, parent, nsinit, cgroup or cgroup:/PATTERN)");
	}
	if (c->errors == errors)
		r->from = pol_pool_add(c, s, v->s, v->n);
}

void pol_parse_option(struct parse *c, const struct src *s, const struct word *w,
		      struct pgkg_rule *r, unsigned *seen)
{
	const char *eq = memchr(w->s, '=', w->n);
	struct word key, val;
	int k;

	if (!eq || eq == w->s) {
		pol_errw(c, s, "expected key=value, not ", w, "");
		return;
	}
	key = (struct word){w->s, (size_t)(eq - w->s)};
	val = (struct word){(char *)eq + 1, w->n - key.n - 1};
	if (word_is(&key, "from")) {
		opt_from(c, s, &val, r, seen);
		return;
	}
	k = opt_index(&key);
	if (k < 0)
		pol_errw(c, s, "unknown option ", &key,
			 " (user, program, message, timeout, conninfo, fallback, route)");
	else if (*seen & (1u << k))
		pol_errw(c, s, "duplicate option ", &key, "");
	else if (val.n == 0)
		pol_errw(c, s, "empty value for option ", &key, "");
	else
		opt_fns[k](c, s, &val, r);
	if (k >= 0)
		*seen |= 1u << k;
}

void pol_check_options_for(struct parse *c, const struct src *s, enum pgkg_action a,
			   unsigned seen)
{
	if (is_rewrite(a))
		return;
	for (int k = 0; k < OPT__COUNT; k++) {
		struct word key = {(char *)opt_names[k], strlen(opt_names[k])};
		if ((seen & OPTS_REWRITE_ONLY) & (1u << k))
			pol_errw(c, s, "option ", &key, " only applies to terminate and cancel");
	}
}
