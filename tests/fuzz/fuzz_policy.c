/*
 * fuzz_policy.c - pgkg_policy_parse() and pgkg_decide() on any bytes.
 *
 * The text is parsed as if it were the file /nonexistent-pgkg-fuzz/fuzz.conf,
 * so a relative include names nothing; an absolute one may open a real
 * root-owned file, which the parser must survive too.
 * Promises checked:
 *  - the return value is the number of errors reported, and the policy is
 *    broken exactly when there was one; every error has a message without
 *    control characters (it goes to a terminal);
 *  - limits hold: at most PGKG_MAX_RULES rules, the pool within its size;
 *  - every kept rule is well formed: non-empty signal and kind sets, a known
 *    action, rewrites only for backend kinds and orphans, a known route,
 *    timeout in range, every string
 *    offset inside the used pool and terminated;
 *  - pgkg_decide() gives a known action for every kind and a few signals, and
 *    a broken policy blocks fatal signals to cluster processes.
 */
#include <signal.h>
#include <string.h>

#include "fuzz.h"
#include "policy.h"

#define NAME "/nonexistent-pgkg-fuzz/fuzz.conf"

static int reported;

static void report(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx;
	FUZZ_CHECK(file && msg && line >= 0 && msg[0]);
	for (const char *m = msg; *m; m++)
		FUZZ_CHECK((unsigned char)*m >= 0x20 && *m != 0x7f);
	reported++;
}

static void check_str(const struct pgkg_policy *p, pgkg_str s)
{
	FUZZ_CHECK(s < p->pool_used);
	FUZZ_CHECK(memchr(p->pool + s, '\0', p->pool_used - s) != NULL);
}

static void check_rule(const struct pgkg_policy *p, const struct pgkg_rule *r)
{
	FUZZ_CHECK(r->signals != 0);
	FUZZ_CHECK(r->kinds != 0 && (r->kinds & ~PGKG_KINDS_ANY) == 0);
	FUZZ_CHECK((unsigned)r->action <= PGKG_CANCEL);
	if (r->action == PGKG_TERMINATE || r->action == PGKG_CANCEL)
		FUZZ_CHECK((r->kinds & ~PGKG_KINDS_REWRITABLE) == 0);
	FUZZ_CHECK((unsigned)r->route <= PGKG_ROUTE_SIGNAL);
	FUZZ_CHECK(r->timeout_ms >= 1 && r->timeout_ms <= 600000);
	FUZZ_CHECK(r->file != 0 && r->line >= 1);
	check_str(p, r->file);
	check_str(p, r->users);
	check_str(p, r->programs);
	check_str(p, r->message);
	check_str(p, r->conninfo);
	check_str(p, r->from);
}

static void check_decisions(const struct pgkg_policy *p)
{
	static const int sigs[] = {SIGKILL, SIGTERM, SIGSTOP, SIGHUP, 34, 64};
	struct pgkg_caller c = {.pid = 4321, .uid = 1000, .gid = 1000, .ngroups = 1,
				.groups = {27}, .comm = "bash"};
	static struct pgkg_target t;
	struct pgkg_decision d;

	for (int k = PGKG_KIND_NONE; k < PGKG_KIND__COUNT; k++) {
		t.kind = (enum pgkg_kind)k;
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
			pgkg_decide(p, &c, &t, sigs[i], &d);
			FUZZ_CHECK((unsigned)d.action <= PGKG_CANCEL);
			if (k == PGKG_KIND_NONE)
				FUZZ_CHECK(d.action == PGKG_ALLOW);
			if (p->broken && k != PGKG_KIND_NONE && sigs[i] == SIGKILL)
				FUZZ_CHECK(d.action == PGKG_BLOCK);
			if (d.rule)
				FUZZ_CHECK(d.rule >= p->rules && d.rule < p->rules + p->nrules);
		}
	}
}

static void pgkg_fuzz_policy(const char *data, size_t size)
{
	static struct pgkg_policy p;
	int errors;

	pgkg_policy_init(&p);
	reported = 0;
	errors = pgkg_policy_parse(&p, NAME, data, size, report, NULL);
	FUZZ_CHECK(errors == reported && errors == p.nerrors);
	FUZZ_CHECK(p.broken == (errors > 0));
	FUZZ_TERMINATED(p.first_error);
	FUZZ_CHECK(errors == 0 || p.first_error[0] != '\0');
	FUZZ_CHECK(p.nrules <= PGKG_MAX_RULES);
	FUZZ_CHECK(p.pool_used >= 1 && p.pool_used <= PGKG_POOL_SIZE && p.pool[0] == '\0');
	FUZZ_CHECK(p.mode == PGKG_MODE_ENFORCE || p.mode == PGKG_MODE_REPORT);
	for (unsigned i = 0; i < p.nrules; i++)
		check_rule(&p, &p.rules[i]);
	check_decisions(&p);
}

PGKG_FUZZ_ENTRY(pgkg_fuzz_policy)
