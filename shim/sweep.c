/*
 * sweep.c - broadcasts: kill(0), kill(-1), kill(-PGID).  Every member is
 * looked up in /proc; a broadcast that would reach a protected PostgreSQL
 * process whose decision is not allow is blocked whole (one member: it is
 * decided like a kill of that pid).
 *
 * Rules (see also guard.h):
 *  1. MUST NOT allocate, lock or use stdio: /proc is listed with getdents64
 *     into a stack buffer (pgkg_dirwalk).
 *  2. MUST NOT send the caller's signal: verdicts only.  A group the
 *     caller's own cluster leads (the postmaster's kill(-child)) passes.
 *  3. Each blocked or report-mode broadcast says one line and one audit line
 *     (pgkg_say_broadcast).
 */
#include "guard.h"

#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "pipeline.h"
#include "say.h"

struct sweep {
	pid_t pgid;		/* -1: every process the caller may signal */
	unsigned members;
	pid_t only;		/* the sole member, when members == 1 */
	struct pgkg_reached reached;
};

static bool is_member(const struct pgkg_guard *g, const struct sweep *s,
		      const struct pgkg_procstat *st)
{
	if (s->pgid == -1)
		return st->pid > 1 && st->pid != g->caller.pid;
	return st->pgrp == s->pgid;
}

/* Note a protected member whose decision is not allow. */
static void note_hit(struct pgkg_reached *r, pid_t pid, const struct pgkg_target *t,
		     const struct pgkg_decision *d)
{
	if (r->hits < PGKG_MAX_LISTED) {
		r->pid[r->hits] = pid;
		r->kind[r->hits] = t->kind;
	}
	if (!r->hits)
		pgkg_strlcpy(r->cluster, t->cluster.datadir, sizeof(r->cluster));
	r->hits++;
	r->report_only = d->report_only;
}

static void consider(struct pgkg_guard *g, const struct pgkg_call *c, struct sweep *s, pid_t pid)
{
	struct pgkg_procstat st;
	struct pgkg_decision d;

	if (pgkg_read_stat(g->procroot, pid, &st) < 0 || !is_member(g, s, &st))
		return;
	s->members++;
	s->only = pid;
	if (!pgkg_is_server_name(st.comm) || pgkg_guard_protected(g, pid) != 1)
		return;
	pgkg_guard_relation(g);
	pgkg_decide(pgkg_guard_policy(g), &g->caller, &g->ws->target, c->sig, &d);
	if (d.action != PGKG_ALLOW)
		note_hit(&s->reached, pid, &g->ws->target, &d);
}

static long parse_pid_name(const char *name)
{
	long long v;

	if (pgkg_parse_ll(name, pgkg_strlen(name), 1, INT32_MAX, &v) < 0)
		return -1;
	return (long)v;
}

static void sweep_proc(struct pgkg_guard *g, const struct pgkg_call *c, struct sweep *s)
{
	char buf[4096] __attribute__((aligned(8)));
	int fd = open(g->procroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct pgkg_dirwalk w;
	const char *name;

	if (fd < 0)
		return;
	pgkg_dirwalk_init(&w, fd, buf, sizeof(buf));
	while ((name = pgkg_dirwalk_next(&w))) {
		long pid = parse_pid_name(name);
		if (pid > 0)
			consider(g, c, s, (pid_t)pid);
	}
	close(fd);
}

enum pgkg_verdict pgkg_guard_broadcast(struct pgkg_guard *g, const struct pgkg_call *c)
{
	struct sweep s = {.pgid = c->pid == 0 ? g->caller_pgrp : c->pid == -1 ? -1 : (pid_t)-c->pid};
	struct pgkg_procstat leader;

	if (c->pid < -INT32_MAX)
		return PGKG_PASS;	/* the kernel answers EINVAL/ESRCH */
	/* The postmaster signals each child as kill(-child): children lead their group. */
	if (s.pgid > 0 && pgkg_read_stat(g->procroot, s.pgid, &leader) == 0 &&
	    pgkg_guard_same_cluster(g, &leader))
		return PGKG_PASS;
	sweep_proc(g, c, &s);
	/* A group nobody is in yet: never passed on, or the postmaster could
	 * make a backend its leader before the kernel acts (R2-5). */
	if (s.pgid > 0 && s.members == 0)
		return PGKG_GONE;
	if (!s.reached.hits)
		return PGKG_PASS;
	if (s.members == 1)
		return pgkg_guard_one(g, c, s.only);
	pgkg_say_broadcast(g, c, &s.reached);
	return s.reached.report_only ? PGKG_PASS : PGKG_DENY;
}
