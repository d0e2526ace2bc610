/*
 * decide.c - what to do with one signal: the first matching rule, and the
 * user= and program= conditions.
 *
 * Rules for this file:
 *  1. MUST NOT allocate, lock, use stdio or locale: it runs inside kill(),
 *     from signal handlers, in any process, PID 1 included.
 *  2. MUST NOT use getpwnam/getgrnam (NSS may load modules, allocate, talk
 *     to the network): user= names are looked up in /etc/passwd and
 *     /etc/group, read with open/read through a fixed stack buffer.  A name
 *     that is not there never matches.
 *  3. MUST fail open for processes outside a cluster (kind NONE) and for
 *     signal 0; a broken policy blocks fatal and stop signals to cluster
 *     processes and allows everything else.
 */
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define ACCOUNT_LINE_MAX 1024	/* longer lines of passwd/group are skipped */
#define NSIG_MAX 64

static const char *passwd_path = "/etc/passwd";
static const char *group_path = "/etc/group";

void pgkg_policy_set_account_files(const char *passwd, const char *group)
{
	passwd_path = passwd ? passwd : "/etc/passwd";
	group_path = group ? group : "/etc/group";
}

/* ---- /etc/passwd and /etc/group ---- */

struct lookup {
	const char *name;
	size_t n;
	uint32_t id;
};

/* "name:x:ID:..." with name == l->name: fills l->id. */
static bool entry_matches(const char *line, size_t len, struct lookup *l)
{
	const char *end = line + len, *f2, *f3, *c3;
	long long id;

	if (len <= l->n || line[l->n] != ':' || memcmp(line, l->name, l->n) != 0)
		return false;
	f2 = line + l->n + 1;
	f3 = memchr(f2, ':', (size_t)(end - f2));
	if (!f3)
		return false;
	f3++;
	c3 = memchr(f3, ':', (size_t)(end - f3));
	if (!c3)
		c3 = end;
	if (f3 == c3 || f3[0] == '-' ||
	    pgkg_parse_ll(f3, (size_t)(c3 - f3), 0, UINT32_MAX - 1, &id) < 0)
		return false;
	l->id = (uint32_t)id;
	return true;
}

static ssize_t read_some(int fd, char *buf, size_t n)
{
	ssize_t r;

	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Feed the complete lines of buf[0..*have) to entry_matches; keep the rest. */
static bool scan_buffer(char *buf, size_t *have, bool *skipping, struct lookup *l)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(buf + start, '\n', *have - start))) {
		size_t n = (size_t)(nl - (buf + start));
		if (!*skipping && entry_matches(buf + start, n, l))
			return true;
		*skipping = false;
		start += n + 1;
	}
	if (start == 0 && *have == ACCOUNT_LINE_MAX) {
		*skipping = true;	/* a line too long to be an account: skip it */
		*have = 0;
		return false;
	}
	memmove(buf, buf + start, *have - start);
	*have -= start;
	return false;
}

/* The id of name in a passwd- or group-format file. */
static bool lookup_id(const char *path, const char *name, size_t n, uint32_t *id)
{
	char buf[ACCOUNT_LINE_MAX];
	struct lookup l = {name, n, 0};
	size_t have = 0;
	bool skipping = false, found = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return false;
	for (;;) {
		ssize_t r = read_some(fd, buf + have, sizeof(buf) - have);
		if (r <= 0) {
			found = r == 0 && have && !skipping && entry_matches(buf, have, &l);
			break;
		}
		have += (size_t)r;
		found = scan_buffer(buf, &have, &skipping, &l);
		if (found)
			break;
	}
	close(fd);
	*id = l.id;
	return found;
}

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
	} else if (!lookup_id(group ? group_path : passwd_path, s, n, &id)) {
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
	return (r->signals & PGKG_SIGBIT(sig)) && (r->kinds & PGKG_KIND_BIT(kind)) &&
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
		out->report_only = p->mode == PGKG_MODE_REPORT && r->action != PGKG_ALLOW;
		return;
	}
}
