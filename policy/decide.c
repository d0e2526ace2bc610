/*
 * decide.c - what to do with one signal: the first matching rule, and the
 * user= and program= conditions.
 *
 * Rules for this file:
 *  1. MUST NOT allocate, lock, use stdio or locale: it runs inside kill(),
 *     from signal handlers, in any process, PID 1 included.
 *  2. MUST NOT use getpwnam/getgrnam (NSS may load modules, allocate, talk
 *     to the network): user= names are looked up in /etc/passwd and
 *     /etc/group by accounts.c, which streams them through a small fixed
 *     buffer.  A name that is not there never matches.
 *  3. MUST fail open for processes outside a cluster (kind NONE) and for
 *     signal 0; a broken policy blocks fatal and stop signals to cluster
 *     processes and allows everything else.
 */
#include "policy.h"

#include <string.h>

#include "accounts.h"
#include "util.h"

#define NSIG_MAX 64

/* ---- conditions ---- */

static bool in_groups(const struct pgkg_caller *c, uint32_t gid)
{
	int n = c->ngroups;

	if (c->gid == gid)
		return true;
	if (n > (int)(sizeof(c->groups) / sizeof(c->groups[0])))
		n = (int)(sizeof(c->groups) / sizeof(c->groups[0]));
	for (int i = 0; i < n; i++) {
		if (c->groups[i] == gid)
			return true;
	}
	return false;
}

/* NAME, UID, @GROUP or @GID. */
static bool user_item_matches(const struct pgkg_caller *c, const char *s, size_t n)
{
	bool group = n && s[0] == '@';
	uint32_t id;
	long long v;

	if (group) {
		s++;
		n--;
	}
	if (pgkg_all_digits(s, n)) {
		if (pgkg_parse_ll(s, n, 0, UINT32_MAX - 1, &v) < 0)
			return false;
		id = (uint32_t)v;
	} else if (!pgkg_account_id(group ? PGKG_ACCOUNT_GROUP : PGKG_ACCOUNT_USER, s, n, &id)) {
		return false;
	}
	return group ? in_groups(c, id) : c->uid == id;
}

/* The base name of the caller's executable (what comm starts as, but which
 * prctl(PR_SET_NAME) cannot change), or its full path for an item starting
 * with '/' (glob); pid1 for PID 1 whatever its name.  Without relation facts
 * (unit tests, `explain -p NAME`) the item is compared with comm. */
static bool program_item_matches(const struct pgkg_caller *c, const char *s, size_t n)
{
	const char *name = c->comm, *slash;
	size_t len = 0, cap = sizeof(c->comm);

	if (n == 4 && memcmp(s, "pid1", 4) == 0)
		return c->pid == 1;
	if (c->rel) {
		if (!c->rel->exe[0])
			return false;
		if (s[0] == '/')
			return pgkg_glob_match(s, n, c->rel->exe);
		slash = strrchr(c->rel->exe, '/');
		name = slash ? slash + 1 : c->rel->exe;
		cap = sizeof(c->rel->exe);
	}
	while (len < cap && name[len])
		len++;
	return len == n && memcmp(name, s, n) == 0;
}

/* manager (any of the three), parent, nsinit, cgroup, cgroup:GLOB. */
static bool from_item_matches(const struct pgkg_caller *c, const char *s, size_t n)
{
	static const struct {
		const char *word;
		unsigned rel;
	} rels[] = {
		{"manager", PGKG_REL_PARENT | PGKG_REL_NSINIT | PGKG_REL_CGROUP},
		{"parent", PGKG_REL_PARENT},
		{"nsinit", PGKG_REL_NSINIT},
		{"cgroup", PGKG_REL_CGROUP},
	};

	if (!c->rel)
		return false;
	if (n > 7 && memcmp(s, "cgroup:", 7) == 0)
		return c->rel->cgroup[0] && pgkg_glob_match(s + 7, n - 7, c->rel->cgroup);
	for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++) {
		if (strlen(rels[i].word) == n && memcmp(rels[i].word, s, n) == 0)
			return (c->rel->rel & rels[i].rel) != 0;
	}
	return false;
}

typedef bool (*item_fn)(const struct pgkg_caller *, const char *, size_t);

/* Does any item of the comma list match?  An unset list (0) matches everyone. */
static bool list_matches(const struct pgkg_policy *p, pgkg_str list, item_fn fn,
			 const struct pgkg_caller *c)
{
	const char *s = pgkg_policy_str(p, list);

	if (!list)
		return true;
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		if (fn(c, s, n))
			return true;
		if (!comma)
			return false;
		s = comma + 1;
	}
}

static bool rule_matches(const struct pgkg_policy *p, const struct pgkg_rule *r,
			 const struct pgkg_caller *c, enum pgkg_kind kind, int sig)
{
	return r->scope == PGKG_SCOPE_SIGNAL && (r->signals & PGKG_SIGBIT(sig)) && (r->kinds & PGKG_KIND_BIT(kind)) &&
	       list_matches(p, r->programs, program_item_matches, c) &&
	       list_matches(p, r->from, from_item_matches, c) &&
	       list_matches(p, r->users, user_item_matches, c);
}

/* ---- the decision ---- */

static void decide_broken(int sig, struct pgkg_decision *out)
{
	out->policy_broken = true;
	if (PGKG_SIGBIT(sig) & (pgkg_sigset_fatal() | pgkg_sigset_stop()))
		out->action = PGKG_BLOCK;
}

void pgkg_decide(const struct pgkg_policy *p, const struct pgkg_caller *caller,
		 const struct pgkg_target *target, int sig, struct pgkg_decision *out)
{
	enum pgkg_kind kind = target->kind;

	memset(out, 0, sizeof(*out));
	out->action = PGKG_ALLOW;
	out->timeout_ms = PGKG_DEFAULT_TIMEOUT_MS;
	if (sig < 1 || sig > NSIG_MAX || kind == PGKG_KIND_NONE)
		return;
	if ((unsigned)kind >= PGKG_KIND__COUNT)
		kind = PGKG_KIND_UNKNOWN_CHILD;	/* cannot happen; fail closed */
	if (p->broken) {
		decide_broken(sig, out);
		return;
	}
	for (unsigned i = 0; i < p->nrules && i < PGKG_MAX_RULES; i++) {
		const struct pgkg_rule *r = &p->rules[i];
		if (!rule_matches(p, r, caller, kind, sig))
			continue;
		out->rule = r;
		out->action = r->action;
		if (r->timeout_ms)
			out->timeout_ms = r->timeout_ms;
		out->route = r->route;
		out->report_only = p->mode == PGKG_MODE_REPORT && r->action != PGKG_ALLOW;
		return;
	}
}

void pgkg_decide_scope(const struct pgkg_policy *p, const struct pgkg_caller *caller,
		       const struct pgkg_target *target, enum pgkg_scope scope,
		       struct pgkg_decision *out)
{
	enum pgkg_kind kind = target->kind;

	memset(out, 0, sizeof(*out));
	out->action = scope == PGKG_SCOPE_FORCE_KILL ? PGKG_BLOCK : PGKG_ALLOW;
	if (kind == PGKG_KIND_NONE || (unsigned)kind >= PGKG_KIND__COUNT)
		return;
	if (p->broken) {
		out->policy_broken = true;
		return;
	}
	for (unsigned i = 0; i < p->nrules && i < PGKG_MAX_RULES; i++) {
		const struct pgkg_rule *r = &p->rules[i];
		if (r->scope != scope || !(r->kinds & PGKG_KIND_BIT(kind)) ||
		    !list_matches(p, r->programs, program_item_matches, caller) ||
		    !list_matches(p, r->from, from_item_matches, caller) ||
		    !list_matches(p, r->users, user_item_matches, caller))
			continue;
		out->rule = r;
		out->action = r->action;
		return;
	}
}
