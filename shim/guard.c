/*
 * guard.c - one kill-family call through classify -> decide -> act.
 *
 * Rules (see also guard.h):
 *  1. MUST NOT allocate, lock or use stdio; large state lives in g->ws.
 *  2. MUST NOT send the caller's signal: verdicts only.  PASS is the default
 *     answer to anything that is not a PostgreSQL cluster process.  The
 *     direct route (direct_route) sends SIGTERM/SIGINT, never SIGKILL,
 *     through the front-end's signal_target, with the caller's credentials.
 *  3. Every BLOCK, rewrite or report-mode decision says one line on
 *     g->msg_fd and sends one audit line to syslog.
 */
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "rawsys.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define MAX_LISTED 6

struct outcome {
	const char *action;	/* audit: allow/block/terminate/cancel */
	const char *result;	/* audit: ok, blocked, failed, timeout, report */
	int severity;
	uint32_t latency_ms;
};

bool pgkg_guard_quick_pass(const char *procroot, long pid, int sig, pid_t self)
{
	char comm[16];

	if (sig == 0 || pid == self)
		return true;
	if (pid <= 0)
		return false;
	if (pid > INT32_MAX || pgkg_read_comm(procroot, (pid_t)pid, comm) < 0)
		return true;	/* no such process: the kernel answers */
	return !pgkg_is_server_name(comm);
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

static struct pgkg_policy *policy(struct pgkg_guard *g)
{
	if (!g->policy_loaded) {
		g->ops->load_policy(g);
		g->policy_loaded = true;
	}
	return g->policy;
}

static void put_signal(struct pgkg_buf *b, int sig)
{
	char scratch[16];
	const char *name = pgkg_signal_name(sig, scratch, sizeof(scratch));

	if (name)
		pgkg_buf_puts(b, name);
	else
		pgkg_buf_putl(b, sig);
}

static void put_rule_where(struct pgkg_buf *b, const struct pgkg_policy *p,
			   const struct pgkg_rule *r)
{
	pgkg_buf_put_printable(b, pgkg_policy_str(p, r->file));
	pgkg_buf_putc(b, ':');
	pgkg_buf_putl(b, r->line);
}

/* The audit line: who, what, to whom, what happened, and the route taken
 * ("sql", "signal") for terminate and cancel. */
static void audit_route(struct pgkg_guard *g, const struct pgkg_call *c,
			const struct pgkg_target *t, const struct outcome *o, const char *route)
{
	struct pgkg_buf b;

	pgkg_buf_init(&b, g->ws->audit, sizeof(g->ws->audit));
	pgkg_buf_puts(&b, "caller=");
	pgkg_buf_putl(&b, g->caller.pid);
	pgkg_buf_puts(&b, " user=");
	pgkg_put_user(&b, g->caller.uid);
	pgkg_buf_puts(&b, " tty=");
	pgkg_put_tty(&b, g->procroot, g->caller.pid);
	pgkg_buf_puts(&b, " program=");
	pgkg_buf_put_value(&b, g->caller.comm);	/* quoted if it holds ' ' or '=' */
	pgkg_buf_puts(&b, " call=");
	pgkg_buf_puts(&b, c->how);
	pgkg_buf_puts(&b, " signal=");
	put_signal(&b, c->sig);
	pgkg_buf_puts(&b, " target=");
	pgkg_buf_putl(&b, t ? t->pid : c->pid);
	if (t) {
		pgkg_buf_puts(&b, " kind=");
		pgkg_buf_puts(&b, pgkg_kind_name(t->kind));
		pgkg_buf_puts(&b, " cluster=");
		pgkg_buf_put_value(&b, t->cluster.datadir[0] ? t->cluster.datadir : "?");
	}
	pgkg_buf_puts(&b, " action=");
	pgkg_buf_puts(&b, o->action);
	pgkg_buf_puts(&b, " result=");
	pgkg_buf_puts(&b, o->result);
	pgkg_buf_puts(&b, " latency_ms=");
	pgkg_buf_putl(&b, o->latency_ms);
	if (route) {
		pgkg_buf_puts(&b, " route=");
		pgkg_buf_puts(&b, route);
	}
	if (t && t->ns_pid > 0 && t->ns_pid != t->pid) {
		pgkg_buf_puts(&b, " server_pid=");
		pgkg_buf_putl(&b, t->ns_pid);
	}
	pgkg_syslog(g->syslog_path, o->severity, g->caller.pid, g->ws->audit);
}

static void audit(struct pgkg_guard *g, const struct pgkg_call *c, const struct pgkg_target *t,
		  const struct outcome *o)
{
	audit_route(g, c, t, o, NULL);
}

/* Start the stderr line: "kill -9 1234 (client backend app@db, idle; cluster /x) ". */
static void begin_line(struct pgkg_guard *g, struct pgkg_buf *b, const struct pgkg_call *c,
		       const struct pgkg_target *t)
{
	pgkg_buf_init(b, g->ws->line, sizeof(g->ws->line));
	pgkg_describe_call(b, c->pid, c->sig);
	pgkg_buf_puts(b, " (");
	if (c->pid != t->pid) {
		pgkg_buf_puts(b, "reaches ");
		pgkg_buf_putl(b, t->pid);
		pgkg_buf_puts(b, ", ");
	}
	pgkg_describe_target(b, t);
	pgkg_buf_puts(b, ") ");
}

static void put_rule_message(struct pgkg_buf *b, const struct pgkg_policy *p,
			     const struct pgkg_rule *r)
{
	if (r && r->message) {
		pgkg_buf_puts(b, "; ");
		pgkg_buf_put_printable(b, pgkg_policy_str(p, r->message));
	}
}

static enum pgkg_verdict say_blocked(struct pgkg_guard *g, const struct pgkg_call *c,
				     const struct pgkg_target *t, const struct pgkg_decision *d)
{
	const struct pgkg_policy *p = g->policy;
	struct outcome o = {"block", "blocked", LOG_WARNING, 0};
	struct pgkg_buf b;

	begin_line(g, &b, c, t);
	if (d->policy_broken) {
		pgkg_buf_puts(&b, "blocked: the policy is broken (");
		pgkg_buf_put_printable(&b, p->first_error[0] ? p->first_error : p->path);
		pgkg_buf_puts(&b, "); fatal and stop signals to PostgreSQL are refused until "
				  "'pgkillguard check' passes");
		o.result = "blocked-policy-broken";
	} else {
		pgkg_buf_puts(&b, "blocked by ");
		put_rule_where(&b, p, d->rule);
		put_rule_message(&b, p, d->rule);
	}
	pgkg_say(g->msg_fd, g->ws->line);
	audit(g, c, t, &o);
	return PGKG_DENY;
}

/* route=signal, or an orphan (no server to ask) unless route=sql. */
static bool signal_route_only(const struct pgkg_target *t, const struct pgkg_decision *d)
{
	return d->route == PGKG_ROUTE_SIGNAL ||
	       (t->kind == PGKG_KIND_ORPHAN && d->route != PGKG_ROUTE_SQL);
}

/* What enforce mode would do with a terminate or cancel. */
static const char *rewrite_words(const struct pgkg_target *t, const struct pgkg_decision *d)
{
	if (signal_route_only(t, d))
		return d->action == PGKG_CANCEL ? "rewritten to SIGINT, sent directly"
						: "rewritten to SIGTERM, sent directly";
	return d->action == PGKG_CANCEL ? "rewritten to pg_cancel_backend"
					: "rewritten to pg_terminate_backend";
}

static enum pgkg_verdict say_report(struct pgkg_guard *g, const struct pgkg_call *c,
				    const struct pgkg_target *t, const struct pgkg_decision *d)
{
	struct outcome o = {pgkg_action_name(d->action), "report-only", LOG_NOTICE, 0};
	struct pgkg_buf b;

	begin_line(g, &b, c, t);
	pgkg_buf_puts(&b, "let through (report mode); in enforce mode it would be ");
	pgkg_buf_puts(&b, d->action == PGKG_BLOCK ? "blocked" : rewrite_words(t, d));
	pgkg_buf_puts(&b, " (");
	put_rule_where(&b, g->policy, d->rule);
	pgkg_buf_putc(&b, ')');
	pgkg_say(g->msg_fd, g->ws->line);
	audit(g, c, t, &o);
	return PGKG_PASS;
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

static const char *status_word(int status)
{
	switch (status) {
	case PGKG_RW_OK: return "ok";
	case PGKG_RW_NOCONN: return "no-connection";
	case PGKG_RW_REFUSED: return "refused";
	case PGKG_RW_TIMEOUT: return "timeout";
	default: return "error";
	}
}

static void put_rewrite_failure(struct pgkg_buf *b, const struct pgkg_rw_rep *rep, pid_t pid)
{
	switch (rep->status) {
	case PGKG_RW_NOCONN:
		pgkg_buf_puts(b, "could not connect to the cluster");
		break;
	case PGKG_RW_TIMEOUT:
		pgkg_buf_puts(b, "signalled, but still running after the policy's timeout");
		break;
	case PGKG_RW_REFUSED:
		pgkg_buf_puts(b, "the server refused");
		break;
	default:
		pgkg_buf_puts(b, "pgkillguard could not do the rewrite");
		break;
	}
	if (rep->detail[0]) {
		pgkg_buf_puts(b, ": ");
		pgkg_buf_put_printable(b, rep->detail);
	}
	if (rep->status == PGKG_RW_TIMEOUT)
		return;
	pgkg_buf_puts(b, "; nothing was sent to the process. Ask a role that may, e.g. "
			 "psql -c 'select pg_terminate_backend(");
	pgkg_buf_putl(b, pid);
	pgkg_buf_puts(b, ")'");
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

/* Why the direct route: the SQL route's failure, or the policy. */
static void put_route_reason(struct pgkg_buf *b, const struct pgkg_target *t, const char *why)
{
	if (t->kind == PGKG_KIND_ORPHAN) {
		pgkg_buf_puts(b, "no postmaster is left to ask");
	} else if (why) {
		pgkg_buf_puts(b, "SQL route unavailable: ");
		pgkg_buf_put_printable(b, why[0] ? why : "no answer");
	} else {
		pgkg_buf_puts(b, "policy route=signal");
	}
}

static void put_errno_word(struct pgkg_buf *b, int err)
{
	pgkg_buf_puts(b, err == EPERM	 ? "EPERM"
			 : err == ESRCH	 ? "ESRCH"
			 : err == ENOSYS ? "not available in this front-end"
					 : "error ");
	if (err != EPERM && err != ESRCH && err != ENOSYS)
		pgkg_buf_putl(b, err);
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
	struct outcome o = {pgkg_action_name(d->action), "ok", LOG_NOTICE, 0};
	int r = g->ops->signal_target ? g->ops->signal_target(g, pidfd, t->pid, sig) : -ENOSYS;
	struct pgkg_buf b;

	if (r == 0 && !cancel && !wait_exit(g, t, pidfd, d->timeout_ms))
		r = -ETIMEDOUT;
	o.latency_ms = (uint32_t)(pgkg_mono_ms() - t0);
	begin_line(g, &b, c, t);
	if (r == 0) {
		pgkg_buf_puts(&b, cancel ? "rewritten to SIGINT, sent directly (" :
					   "rewritten to SIGTERM, sent directly (");
		put_route_reason(&b, t, why);
		pgkg_buf_puts(&b, cancel ? "): query cancel requested after " : "): exited after ");
		pgkg_buf_putl(&b, o.latency_ms);
		pgkg_buf_puts(&b, t->kind == PGKG_KIND_ORPHAN
					  ? " ms; the cluster cannot restart until all its orphans are gone"
				  : cancel ? " ms; the session stays connected"
					   : " ms; the cluster kept running");
	} else {
		o.result = r == -ETIMEDOUT ? "timeout" : "failed";
		o.severity = LOG_WARNING;
		pgkg_buf_puts(&b, r == -ETIMEDOUT ? "SIGTERM sent directly (" : "not sent: the direct route (");
		put_route_reason(&b, t, why);
		if (r == -ETIMEDOUT) {
			pgkg_buf_puts(&b, "), but still running after the policy's timeout");
		} else {
			pgkg_buf_puts(&b, ") failed: ");
			put_errno_word(&b, -r);
		}
		if (t->kind == PGKG_KIND_ORPHAN)
			pgkg_buf_puts(&b, "; the cluster cannot restart until all its orphans are gone");
		if (d->rule && d->rule->fallback_signal)
			pgkg_buf_puts(&b, "; sending the original signal (fallback=signal)");
	}
	put_rule_message(&b, g->policy, d->rule);
	pgkg_say(g->msg_fd, g->ws->line);
	audit_route(g, c, t, &o, "signal");
	if (r == 0)
		return PGKG_DONE;
	return d->rule && d->rule->fallback_signal ? PGKG_PASS : PGKG_DENY;
}

/* The SQL route could not be used at all and the policy allows the direct one. */
static bool signal_route_next(const struct pgkg_decision *d, const struct pgkg_rw_rep *rep)
{
	return d->route == PGKG_ROUTE_AUTO && rep->status != PGKG_RW_OK && rep->sql_unavailable;
}

static enum pgkg_verdict rewrite(struct pgkg_guard *g, const struct pgkg_call *c,
				 const struct pgkg_target *t, const struct pgkg_decision *d)
{
	const char *fn = d->action == PGKG_CANCEL ? "pg_cancel_backend" : "pg_terminate_backend";
	struct pgkg_rw_rep *rep = &g->ws->rep;
	struct outcome o = {pgkg_action_name(d->action), "ok", LOG_NOTICE, 0};
	long long t0 = pgkg_mono_ms();
	struct pgkg_buf b;
	int pidfd = c->pidfd >= 0 ? -1 : pin_target(g, t);

	if (pidfd == -ESRCH)
		return PGKG_PASS;	/* gone meanwhile: the kernel answers ESRCH */
	fill_request(&g->ws->req, t, d, g->policy);
	memset(rep, 0, sizeof(*rep));
	int fd = c->pidfd >= 0 ? c->pidfd : pidfd;
	bool direct = signal_route_only(t, d);

	if (!direct) {
		g->ops->rewrite(g, &g->ws->req, fd, rep);
		direct = signal_route_next(d, rep);
	}
	if (direct) {
		enum pgkg_verdict v = direct_route(g, c, t, d, fd,
						   signal_route_only(t, d) ? NULL : rep->detail, t0);
		if (pidfd >= 0)
			close(pidfd);
		return v;
	}
	if (pidfd >= 0)
		close(pidfd);
	o.latency_ms = (uint32_t)(pgkg_mono_ms() - t0);
	begin_line(g, &b, c, t);
	if (rep->status == PGKG_RW_OK) {
		pgkg_buf_puts(&b, "rewritten to ");
		pgkg_buf_puts(&b, fn);
		pgkg_buf_puts(&b, d->action == PGKG_CANCEL ? ": query cancelled after "
							   : ": exited after ");
		pgkg_buf_putl(&b, o.latency_ms);
		pgkg_buf_puts(&b, d->action == PGKG_CANCEL ? " ms; the session stays connected"
							   : " ms; the cluster kept running");
	} else {
		o.result = status_word(rep->status);
		o.severity = LOG_WARNING;
		pgkg_buf_puts(&b, "not sent: ");
		pgkg_buf_puts(&b, fn);
		pgkg_buf_puts(&b, " failed: ");
		put_rewrite_failure(&b, rep, t->ns_pid > 0 ? t->ns_pid : t->pid);
		if (d->rule && d->rule->fallback_signal)
			pgkg_buf_puts(&b, "; sending the original signal (fallback=signal)");
	}
	put_rule_message(&b, g->policy, d->rule);
	pgkg_say(g->msg_fd, g->ws->line);
	audit_route(g, c, t, &o, "sql");
	if (rep->status == PGKG_RW_OK)
		return PGKG_DONE;
	return d->rule && d->rule->fallback_signal ? PGKG_PASS : PGKG_DENY;
}

static enum pgkg_verdict act(struct pgkg_guard *g, const struct pgkg_call *c,
			     const struct pgkg_target *t, const struct pgkg_decision *d)
{
	if (d->action == PGKG_ALLOW)
		return PGKG_PASS;
	if (d->report_only)
		return say_report(g, c, t, d);
	if (d->action == PGKG_BLOCK)
		return say_blocked(g, c, t, d);
	return rewrite(g, c, t, d);
}

/* Classify pid into g->ws->target; true when it is a cluster process the
 * caller could signal and does not belong to. */
static bool protected_target(struct pgkg_guard *g, pid_t pid)
{
	struct pgkg_target *t = &g->ws->target;

	if (pgkg_classify(g->procroot, pid, t) < 0 || t->kind == PGKG_KIND_NONE)
		return false;
	if (pgkg_guard_same_cluster(g, &t->st))
		return false;
	return g->ops->can_signal(g, pid) == 0;
}

static enum pgkg_verdict guard_one(struct pgkg_guard *g, const struct pgkg_call *c, pid_t pid)
{
	struct pgkg_decision d;

	if (!protected_target(g, pid))
		return PGKG_PASS;
	pgkg_decide(policy(g), &g->caller, &g->ws->target, c->sig, &d);
	return act(g, c, &g->ws->target, &d);
}

/* ---- broadcasts: kill(0), kill(-1), kill(-PGID) ---- */

struct sweep {
	pid_t pgid;		/* -1: every process the caller may signal */
	unsigned members;
	pid_t only;		/* the sole member, when members == 1 */
	unsigned hits;		/* protected members whose decision is not allow */
	bool report_only;
	pid_t hit_pid[MAX_LISTED];
	enum pgkg_kind hit_kind[MAX_LISTED];
	char cluster[256];
};

static bool is_member(const struct pgkg_guard *g, const struct sweep *s,
		      const struct pgkg_procstat *st)
{
	if (s->pgid == -1)
		return st->pid > 1 && st->pid != g->caller.pid;
	return st->pgrp == s->pgid;
}

static void consider(struct pgkg_guard *g, const struct pgkg_call *c, struct sweep *s, pid_t pid)
{
	struct pgkg_procstat st;
	struct pgkg_decision d;

	if (pgkg_read_stat(g->procroot, pid, &st) < 0 || !is_member(g, s, &st))
		return;
	s->members++;
	s->only = pid;
	if (!pgkg_is_server_name(st.comm) || !protected_target(g, pid))
		return;
	pgkg_decide(policy(g), &g->caller, &g->ws->target, c->sig, &d);
	if (d.action == PGKG_ALLOW)
		return;
	if (s->hits < MAX_LISTED) {
		s->hit_pid[s->hits] = pid;
		s->hit_kind[s->hits] = g->ws->target.kind;
	}
	if (!s->hits)
		pgkg_strlcpy(s->cluster, g->ws->target.cluster.datadir, sizeof(s->cluster));
	s->hits++;
	s->report_only = d.report_only;
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

static enum pgkg_verdict say_broadcast(struct pgkg_guard *g, const struct pgkg_call *c,
				       const struct sweep *s)
{
	struct outcome o = {"block", "blocked", LOG_WARNING, 0};
	struct pgkg_buf b;

	pgkg_buf_init(&b, g->ws->line, sizeof(g->ws->line));
	pgkg_describe_call(&b, c->pid, c->sig);
	pgkg_buf_puts(&b, " would reach PostgreSQL processes (");
	for (unsigned i = 0; i < s->hits && i < MAX_LISTED; i++) {
		pgkg_buf_puts(&b, i ? ", " : "");
		pgkg_buf_puts(&b, pgkg_kind_label(s->hit_kind[i]));
		pgkg_buf_putc(&b, ' ');
		pgkg_buf_putl(&b, s->hit_pid[i]);
	}
	if (s->hits > MAX_LISTED)
		pgkg_buf_puts(&b, ", ...");
	pgkg_buf_puts(&b, "; cluster ");
	pgkg_buf_put_printable(&b, s->cluster);
	if (s->report_only) {
		pgkg_buf_puts(&b, "): let through (report mode); in enforce mode the whole call "
				  "would be blocked");
		o.result = "report-only";
	} else {
		pgkg_buf_puts(&b, "): blocked the whole call; signal the other processes by pid, "
				  "and PostgreSQL with pg_ctl or pg_terminate_backend");
	}
	pgkg_say(g->msg_fd, g->ws->line);
	audit(g, c, NULL, &o);
	return s->report_only ? PGKG_PASS : PGKG_DENY;
}

static enum pgkg_verdict guard_broadcast(struct pgkg_guard *g, const struct pgkg_call *c)
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
	if (!s.hits)
		return PGKG_PASS;
	if (s.members == 1)
		return guard_one(g, c, s.only);
	return say_broadcast(g, c, &s);
}

enum pgkg_verdict pgkg_guard_call(struct pgkg_guard *g, const struct pgkg_call *c)
{
	if (c->sig == 0)
		return PGKG_PASS;
	if (c->pid > 0)
		return c->pid > INT32_MAX ? PGKG_PASS : guard_one(g, c, (pid_t)c->pid);
	return guard_broadcast(g, c);
}

enum pgkg_verdict pgkg_guard_owner(struct pgkg_guard *g, const char *how, long owner)
{
	struct pgkg_target *t = &g->ws->target;
	struct outcome o = {"block", "blocked-owner", LOG_WARNING, 0};
	struct pgkg_call c = {.how = how, .pid = owner, .sig = SIGIO, .pidfd = -1};
	pid_t who = (pid_t)(owner < 0 ? -owner : owner);
	struct pgkg_buf b;

	if (owner == 0 || owner < -INT32_MAX || who == g->caller.pid)
		return PGKG_PASS;
	if (pgkg_classify(g->procroot, who, t) < 0 || t->kind == PGKG_KIND_NONE ||
	    pgkg_guard_same_cluster(g, &t->st))
		return PGKG_PASS;
	pgkg_buf_init(&b, g->ws->line, sizeof(g->ws->line));
	pgkg_buf_puts(&b, how);
	pgkg_buf_puts(&b, " naming ");
	pgkg_buf_putl(&b, owner);
	pgkg_buf_puts(&b, " (");
	pgkg_describe_target(&b, t);
	pgkg_buf_puts(&b, ") refused: the kernel would send it SIGIO, which crashes PostgreSQL "
			  "like kill -9; use pg_terminate_backend()");
	pgkg_say(g->msg_fd, g->ws->line);
	audit(g, &c, t, &o);
	return PGKG_DENY;
}

enum pgkg_verdict pgkg_guard_unverified_fd(struct pgkg_guard *g, const char *how, int fd, int sig)
{
	struct outcome o = {"block", "blocked-unverified-fd", LOG_WARNING, 0};
	struct pgkg_call c = {.how = how, .pid = 0, .sig = sig, .pidfd = fd};
	struct pgkg_buf b;

	pgkg_buf_init(&b, g->ws->line, sizeof(g->ws->line));
	pgkg_buf_puts(&b, how);
	pgkg_buf_puts(&b, " on fd ");
	pgkg_buf_putl(&b, fd);
	pgkg_buf_puts(&b, " refused: the fd names a process pgkillguard cannot verify (a pidfd "
			  "from another pid namespace, or a directory of another procfs); signal "
			  "it by pid, or with a pidfd or /proc/PID of this host's /proc");
	pgkg_say(g->msg_fd, g->ws->line);
	audit(g, &c, NULL, &o);
	return PGKG_DENY;
}

static void no_report(void *ctx, const char *file, int line, const char *msg)
{
}

void pgkg_guard_load_policy(struct pgkg_policy *p, const char *path, uid_t uid,
			    pgkg_report_fn report, void *ctx)
{
	int r;

	pgkg_policy_init(p);
	r = pgkg_policy_load(p, path ? path : PGKG_POLICY_PATH, uid, report ? report : no_report,
			     ctx);
	if (r != -ENOENT)
		return;
	if (!path) {
		pgkg_policy_load_default_report(p, report ? report : no_report, ctx);
		return;
	}
	/* An explicitly named policy that is missing is broken, not absent. */
	p->broken = true;
	p->nerrors++;
	struct pgkg_buf b;
	pgkg_buf_init(&b, p->first_error, sizeof(p->first_error));
	pgkg_buf_puts(&b, path);
	pgkg_buf_puts(&b, ":0: no such file");
	pgkg_strlcpy(p->path, path, sizeof(p->path));
	if (report)
		report(ctx, path, 0, "no such file");
}
