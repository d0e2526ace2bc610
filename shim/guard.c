/*
 * guard.c - one kill-family call through classify -> decide -> act: the
 * quick pass, one target, the rewrite and the direct route, owner refusals.
 * Broadcasts are in sweep.c, ptrace in ptraceguard.c, the words in say.c,
 * sayrewrite.c and price.c.
 *
 * Rules (see also guard.h):
 *  1. MUST NOT allocate, lock or use stdio; large state lives in g->ws.
 *  2. MUST NOT send the caller's signal: verdicts only.  PASS is the default
 *     answer to anything that is not a PostgreSQL cluster process.  The
 *     direct route (direct_route) sends SIGTERM/SIGINT, never SIGKILL,
 *     through the front-end's signal_target, with the caller's credentials.
 *  3. Every BLOCK, rewrite or report-mode decision says one line on
 *     g->msg_fd and sends one audit line to syslog (through say.h).
 */
#include "guard.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "pipeline.h"
#include "rawsys.h"
#include "say.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

enum pgkg_quick pgkg_guard_quick(const char *procroot, long pid, int sig, pid_t self)
{
	char comm[16];
	int r;

	if (sig == 0 || pid == self)
		return PGKG_QUICK_PASS;
	if (pid <= 0)
		return PGKG_QUICK_CHECK;
	if (pid > INT32_MAX)
		return PGKG_QUICK_PASS;	/* the kernel answers */
	r = pgkg_read_comm(procroot, (pid_t)pid, comm);
	if (r == -ESRCH)
		return PGKG_QUICK_GONE;
	if (r < 0)
		return PGKG_QUICK_CHECK;	/* unreadable (no fd left, ...): never "gone" */
	return pgkg_is_server_name(comm) ? PGKG_QUICK_CHECK : PGKG_QUICK_PASS;
}

bool pgkg_guard_quick_pass(const char *procroot, long pid, int sig, pid_t self)
{
	return pgkg_guard_quick(procroot, pid, sig, self) != PGKG_QUICK_CHECK;
}

int pgkg_verdict_errno(enum pgkg_verdict v)
{
	return v == PGKG_DONE ? 0 : v == PGKG_GONE ? ESRCH : EPERM;
}

bool pgkg_guard_same_cluster(const struct pgkg_guard *g, const struct pgkg_procstat *t)
{
	const struct pgkg_caller *c = &g->caller;

	if (!pgkg_is_server_name(c->comm) || !pgkg_is_server_name(t->comm))
		return false;
	return t->ppid == c->pid		/* the postmaster signalling a child */
	       || t->pid == g->caller_ppid	/* a child signalling its postmaster */
	       || (t->ppid == g->caller_ppid && t->ppid > 1);	/* siblings */
}

struct pgkg_policy *pgkg_guard_policy(struct pgkg_guard *g)
{
	if (!g->policy_loaded) {
		g->ops->load_policy(g);
		g->policy_loaded = true;
	}
	return g->policy;
}

/* route=signal, or an orphan (no server to ask) unless route=sql. */
static bool signal_route_only(const struct pgkg_target *t, const struct pgkg_decision *d)
{
	return d->route == PGKG_ROUTE_SIGNAL ||
	       (t->kind == PGKG_KIND_ORPHAN && d->route != PGKG_ROUTE_SQL);
}

/* Open a pidfd on t and make sure it is still the process we classified. */
static int pin_target(const struct pgkg_guard *g, const struct pgkg_target *t)
{
	struct pgkg_procstat again;
	long fd = pgkg_raw(SYS_pidfd_open, t->pid, 0, 0, 0);

	if (fd < 0)
		return fd == -ENOSYS ? -1 : (int)fd;
	if (pgkg_read_stat(g->procroot, t->pid, &again) < 0 ||
	    again.starttime != t->st.starttime) {
		close((int)fd);
		return -ESRCH;
	}
	return (int)fd;
}

static void fill_request(struct pgkg_rw_req *req, const struct pgkg_target *t,
			 const struct pgkg_decision *d, const struct pgkg_policy *p)
{
	memset(req, 0, sizeof(*req));
	req->magic = PGKG_RW_MAGIC;
	req->op = d->action == PGKG_CANCEL ? PGKG_RW_CANCEL : PGKG_RW_TERMINATE;
	req->target = t->pid;
	req->target_ns = t->ns_pid > 0 ? t->ns_pid : t->pid;
	req->postmaster = t->cluster.postmaster;
	req->pm_starttime = t->cluster.pm_starttime;
	req->owner_uid = t->cluster.owner;
	req->timeout_ms = d->timeout_ms ? d->timeout_ms : PGKG_DEFAULT_TIMEOUT_MS;
	req->port = t->cluster.pf.port;
	pgkg_strlcpy(req->sockdir, t->cluster.pf.sockdir, sizeof(req->sockdir));
	if (d->rule && d->rule->conninfo)
		pgkg_strlcpy(req->conninfo, pgkg_policy_str(p, d->rule->conninfo),
			     sizeof(req->conninfo));
}

/* A stopped target (debugger or SIGSTOP) cannot act on SIGTERM: 't'/'T' or 0. */
static char stopped_state(const char *procroot, pid_t pid, pid_t *tracer)
{
	struct pgkg_procstat st;

	*tracer = 0;
	if (pgkg_read_stat(procroot, pid, &st) < 0)
		return 0;
	if (st.state != 't' && st.state != 'T')
		return 0;
	pgkg_read_tracer(procroot, pid, tracer);
	return st.state;
}

/* ---- the direct route: SIGTERM/SIGINT with the caller's credentials ---- */

/* Has the process pidfd pins (t when pidfd is -1) exited within ms? */
static bool wait_exit(const struct pgkg_guard *g, const struct pgkg_target *t, int pidfd,
		      uint32_t ms)
{
	long long deadline = pgkg_mono_ms() + ms;
	struct pgkg_procstat st;

	for (;;) {
		long long left = deadline - pgkg_mono_ms();
		if (pidfd >= 0) {
			struct pollfd p = {.fd = pidfd, .events = POLLIN};
			int r = poll(&p, 1, left > 0 ? (int)left : 0);
			if (r > 0)
				return true;
			if (r < 0 && errno != EINTR)
				pidfd = -1;	/* fall back to /proc */
		} else if (pgkg_read_stat(g->procroot, t->pid, &st) < 0 || st.state == 'Z' ||
			   st.state == 'X' || st.starttime != t->st.starttime) {
			return true;
		} else if (left > 0) {
			struct timespec ts = {0, 2000000};
			nanosleep(&ts, NULL);
		}
		if (left <= 0)
			return false;
	}
}

/* A failed rewrite: the original signal goes out only with fallback=signal. */
static enum pgkg_verdict after_failure(const struct pgkg_decision *d)
{
	return d->rule && d->rule->fallback_signal ? PGKG_PASS : PGKG_DENY;
}

/*
 * Send SIGTERM (cancel: SIGINT) to the pinned process directly, as
 * pg_terminate_backend() does inside the server, and wait for the exit.
 * why: the SQL route's failure, or NULL for route=signal.
 */
static enum pgkg_verdict direct_route(struct pgkg_guard *g, const struct pgkg_call *c,
				      const struct pgkg_target *t, const struct pgkg_decision *d,
				      int pidfd, const char *why, long long t0)
{
	bool cancel = d->action == PGKG_CANCEL;
	int sig = cancel ? SIGINT : SIGTERM;
	int r = g->ops->signal_target ? g->ops->signal_target(g, pidfd, t->pid, sig) : -ENOSYS;

	if (r == 0 && !cancel && !wait_exit(g, t, pidfd, d->timeout_ms))
		r = -ETIMEDOUT;
	pgkg_say_direct(g, c, t, d, r, why, (uint32_t)(pgkg_mono_ms() - t0));
	return r == 0 ? PGKG_DONE : after_failure(d);
}

/* The SQL route could not be used at all and the policy allows the direct one. */
static bool signal_route_next(const struct pgkg_decision *d, const struct pgkg_rw_rep *rep)
{
	return d->route == PGKG_ROUTE_AUTO && rep->status != PGKG_RW_OK && rep->sql_unavailable;
}

/* The SQL route, then (route=auto and SQL unusable, or route=signal) the
 * direct one, on the process fd pins (or t when fd is -1). */
static enum pgkg_verdict rewrite_pinned(struct pgkg_guard *g, const struct pgkg_call *c,
					const struct pgkg_target *t, const struct pgkg_decision *d,
					int fd, long long t0)
{
	struct pgkg_rw_rep *rep = &g->ws->rep;
	pid_t tracer;
	char stopped;

	fill_request(&g->ws->req, t, d, g->policy);
	stopped = d->action == PGKG_TERMINATE ? stopped_state(g->procroot, t->pid, &tracer) : 0;
	if (stopped)
		g->ws->req.timeout_ms = 1;	/* it cannot exit now: do not wait it out */
	memset(rep, 0, sizeof(*rep));
	if (signal_route_only(t, d))
		return direct_route(g, c, t, d, fd, NULL, t0);
	g->ops->rewrite(g, &g->ws->req, fd, rep);
	if (signal_route_next(d, rep))
		return direct_route(g, c, t, d, fd, rep->detail, t0);
	pgkg_say_rewrite(g, c, t, d, (uint32_t)(pgkg_mono_ms() - t0), stopped,
			 stopped ? tracer : 0);
	return rep->status == PGKG_RW_OK ? PGKG_DONE : after_failure(d);
}

static enum pgkg_verdict rewrite(struct pgkg_guard *g, const struct pgkg_call *c,
				 const struct pgkg_target *t, const struct pgkg_decision *d)
{
	long long t0 = pgkg_mono_ms();
	int pidfd = c->pidfd >= 0 ? -1 : pin_target(g, t);
	enum pgkg_verdict v;

	if (pidfd == -ESRCH)
		return PGKG_PASS;	/* gone meanwhile: the kernel answers ESRCH */
	v = rewrite_pinned(g, c, t, d, c->pidfd >= 0 ? c->pidfd : pidfd, t0);
	if (pidfd >= 0)
		close(pidfd);
	return v;
}

static enum pgkg_verdict act(struct pgkg_guard *g, const struct pgkg_call *c,
			     const struct pgkg_target *t, const struct pgkg_decision *d)
{
	if (d->action == PGKG_ALLOW && pgkg_guard_crashes_cluster(t, c->sig)) {
		pgkg_say_price(g, c, t, d);
		return PGKG_PASS;
	}
	if (d->action == PGKG_ALLOW)
		return PGKG_PASS;
	if (d->report_only) {
		pgkg_say_report(g, c, t, d, signal_route_only(t, d));
		return PGKG_PASS;
	}
	if (d->action == PGKG_BLOCK) {
		pgkg_say_blocked(g, c, t, d);
		return PGKG_DENY;
	}
	return rewrite(g, c, t, d);
}

int pgkg_guard_protected(struct pgkg_guard *g, pid_t pid)
{
	struct pgkg_target *t = &g->ws->target;
	int r = g->ops->can_signal(g, pid);

	if (r == -ESRCH)
		return -ESRCH;
	if (r < 0)
		return 0;	/* the kernel will say EPERM */
	r = pgkg_classify(g->procroot, pid, t);
	if (r < 0)
		return r;
	return t->kind != PGKG_KIND_NONE && !pgkg_guard_same_cluster(g, &t->st);
}

/* In the library the caller is this process: its /proc must be the one of
 * its own pid namespace (unshare -p without a new /proc shows another
 * process under our pid), or the facts would be someone else's. */
static bool proc_shows_caller(const struct pgkg_guard *g)
{
	char path[PGKG_PATH_MAX], link[32];
	struct pgkg_buf b;
	long long v;
	ssize_t n;

	if (g->caller.pid != getpid())
		return true;	/* the supervisor reads its own /proc about another process */
	pgkg_buf_init(&b, path, sizeof(path));
	pgkg_buf_puts(&b, g->procroot);
	pgkg_buf_puts(&b, "/self");
	n = b.truncated ? -1 : pgkg_readlink(path, link, sizeof(link));
	return n > 0 && pgkg_parse_ll(link, (size_t)n, 1, INT32_MAX, &v) == 0 && v == g->caller.pid;
}

void pgkg_guard_relation(struct pgkg_guard *g)
{
	if (proc_shows_caller(g)) {
		pgkg_read_caller_relation(g->procroot, g->caller.pid, &g->ws->target.cluster,
					  &g->ws->rel);
		if (g->ws->target.kind == PGKG_KIND_ORPHAN)
			pgkg_read_caller_relation_orphan(g->procroot, g->caller.pid,
							 g->ws->target.pid, &g->ws->rel);
	} else
		memset(&g->ws->rel, 0, sizeof(g->ws->rel));	/* no facts: no trust */
	g->caller.rel = &g->ws->rel;
}

enum pgkg_verdict pgkg_guard_one(struct pgkg_guard *g, const struct pgkg_call *c, pid_t pid)
{
	struct pgkg_decision d;
	int r = pgkg_guard_protected(g, pid);

	if (r == -ESRCH)
		return PGKG_GONE;
	if (r < 0) {
		/* unreadable (no fd left, /proc unreadable): fatal and stop refused */
		if (c->sig < 1 || c->sig > 64 ||
		    !((pgkg_sigset_fatal() | pgkg_sigset_stop()) & PGKG_SIGBIT(c->sig)))
			return PGKG_PASS;
		pgkg_say_unreadable(g, c, pid, r);
		return PGKG_DENY;
	}
	if (r == 0)
		return PGKG_PASS;
	pgkg_guard_relation(g);
	pgkg_decide(pgkg_guard_policy(g), &g->caller, &g->ws->target, c->sig, &d);
	return act(g, c, &g->ws->target, &d);
}

enum pgkg_verdict pgkg_guard_call(struct pgkg_guard *g, const struct pgkg_call *c)
{
	if (c->sig == 0)
		return PGKG_PASS;
	if (c->pid > 0)
		return c->pid > INT32_MAX ? PGKG_PASS : pgkg_guard_one(g, c, (pid_t)c->pid);
	return pgkg_guard_broadcast(g, c);
}

/* The first member of process group pgid that is a cluster process the
 * caller could signal (into g->ws->target), or 0; *members: how many there
 * are at all. */
static pid_t protected_member(struct pgkg_guard *g, pid_t pgid, unsigned *members)
{
	char buf[4096] __attribute__((aligned(8)));
	int fd = open(g->procroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct pgkg_dirwalk w;
	const char *name;
	pid_t found = 0;

	*members = 0;
	if (fd < 0) {
		*members = 1;	/* cannot tell: never "empty" */
		return 0;
	}
	pgkg_dirwalk_init(&w, fd, buf, sizeof(buf));
	while (!found && (name = pgkg_dirwalk_next(&w))) {
		long long pid;
		struct pgkg_procstat st;
		if (pgkg_parse_ll(name, pgkg_strlen(name), 1, INT32_MAX, &pid) < 0 ||
		    pgkg_read_stat(g->procroot, (pid_t)pid, &st) < 0 || st.pgrp != pgid)
			continue;
		(*members)++;
		if (pgkg_is_server_name(st.comm) && pgkg_guard_protected(g, (pid_t)pid) == 1)
			found = (pid_t)pid;
	}
	close(fd);
	return found;
}

enum pgkg_verdict pgkg_guard_owner(struct pgkg_guard *g, const char *how, long owner)
{
	pid_t who = (pid_t)(owner < 0 ? -owner : owner);
	unsigned members;
	int r;

	if (owner == 0 || owner < -INT32_MAX || who == g->caller.pid)
		return PGKG_PASS;
	/* a group: every member, whether its leader is still there or not; and
	 * only what the caller could signal (else the kernel sends nothing).  An
	 * owner nobody is yet is GONE (ESRCH), never passed on (R2-2). */
	if (owner < 0) {
		if (!protected_member(g, who, &members))
			return members ? PGKG_PASS : PGKG_GONE;
	} else if ((r = pgkg_guard_protected(g, who)) != 1) {
		return r == -ESRCH ? PGKG_GONE : PGKG_PASS;
	}
	pgkg_say_owner(g, how, owner, &g->ws->target);
	return PGKG_DENY;
}

enum pgkg_verdict pgkg_guard_unverified_fd(struct pgkg_guard *g, const char *how, int fd, int sig)
{
	pgkg_say_unverified_fd(g, how, fd, sig);
	return PGKG_DENY;
}
