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
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
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
#define NO_PRICE (-1)		/* outcome.dropped: no fatal signal goes out */
#define PRICE_UNCOUNTED (-2)	/* a fatal signal goes out; sessions not countable */

struct outcome {
	const char *action;	/* audit: allow/block/terminate/cancel */
	const char *result;	/* audit: ok, blocked, failed, timeout, report */
	int severity;
	uint32_t latency_ms;
	int dropped;		/* >= 0: a real fatal signal; sessions it drops (audit) */
};

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
	if (o->dropped >= 0 || o->dropped == PRICE_UNCOUNTED) {
		pgkg_buf_puts(&b, " price=crash-restart sessions_dropped=");
		if (o->dropped >= 0)
			pgkg_buf_putl(&b, o->dropped);
		else
			pgkg_buf_puts(&b, "all");
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
	struct outcome o = {"block", "blocked", LOG_WARNING, 0, NO_PRICE};
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
	struct outcome o = {pgkg_action_name(d->action), "report-only", LOG_NOTICE, 0, NO_PRICE};
	struct pgkg_buf b;

	begin_line(g, &b, c, t);
	pgkg_buf_puts(&b, "let through (report mode); in enforce mode it would be ");
	pgkg_buf_puts(&b, d->action == PGKG_BLOCK ? "blocked" : rewrite_words(t, d));
	pgkg_buf_puts(&b, " (");
	put_rule_where(&b, g->policy, d->rule);
	pgkg_buf_putc(&b, ')');
	if (pgkg_guard_crashes_cluster(t, c->sig)) {
		pgkg_buf_puts(&b, "; letting it through now: ");
		o.dropped = pgkg_guard_put_price(&b, g->procroot, t);
		o.severity = LOG_ALERT;
	}
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

/* ---- the price of a real kill, and why a target outlives SIGTERM (issue 12) ---- */

bool pgkg_guard_crashes_cluster(const struct pgkg_target *t, int sig)
{
	if (sig < 1 || sig > 64 || !(pgkg_sigset_fatal() & PGKG_SIGBIT(sig)))
		return false;
	if (pgkg_streq(t->cluster.pf.status, "stopping"))
		return false;	/* a postmaster shutting down does not restart */
	return t->kind != PGKG_KIND_NONE && t->kind != PGKG_KIND_POSTMASTER &&
	       t->kind != PGKG_KIND_LOGGER && t->kind != PGKG_KIND_STATS_COLLECTOR;
}

int pgkg_guard_put_price(struct pgkg_buf *b, const char *procroot, const struct pgkg_target *t)
{
	int n = t->cluster.postmaster > 0
			? pgkg_count_sessions(procroot, t->cluster.postmaster, t->pid)
			: -1;

	pgkg_buf_puts(b, "the postmaster will crash-restart the cluster: ");
	if (n >= 0) {
		pgkg_buf_putl(b, n);
		pgkg_buf_puts(b, n == 1 ? " other session is" : " other sessions are");
	} else {
		pgkg_buf_puts(b, "every other session is");
	}
	pgkg_buf_puts(b, " dropped, and crash recovery replays the WAL written since the last "
			 "checkpoint before anyone can connect again");
	return n >= 0 ? n : PRICE_UNCOUNTED;
}

/* "08:01:02.345 UTC" from milliseconds since the epoch. */
static void put_utc(struct pgkg_buf *b, uint64_t ms)
{
	uint64_t day_ms = ms % 86400000u;
	unsigned parts[3] = {(unsigned)(day_ms / 3600000u), (unsigned)(day_ms / 60000u % 60u),
			     (unsigned)(day_ms / 1000u % 60u)};

	for (int i = 0; i < 3; i++) {
		pgkg_buf_puts(b, i ? ":" : "");
		pgkg_buf_putc(b, (char)('0' + parts[i] / 10));
		pgkg_buf_putc(b, (char)('0' + parts[i] % 10));
	}
	pgkg_buf_putc(b, '.');
	pgkg_buf_putc(b, (char)('0' + day_ms % 1000u / 100u));
	pgkg_buf_putc(b, (char)('0' + day_ms % 100u / 10u));
	pgkg_buf_putc(b, (char)('0' + day_ms % 10u));
	pgkg_buf_puts(b, " UTC");
}

/* "debugger gdb (pid 77)" */
static void put_tracer(struct pgkg_buf *b, const char *procroot, pid_t tracer)
{
	char comm[16];

	pgkg_buf_puts(b, "debugger ");
	if (pgkg_read_comm(procroot, tracer, comm) == 0 && comm[0])
		pgkg_buf_put_printable(b, comm);
	else
		pgkg_buf_puts(b, "?");
	pgkg_buf_puts(b, " (pid ");
	pgkg_buf_putl(b, tracer);
	pgkg_buf_putc(b, ')');
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

/* Why the process is still there, from what /proc shows now. */
static void put_why(struct pgkg_buf *b, const char *procroot, pid_t pid)
{
	struct pgkg_procstat st;
	char wchan[64];
	pid_t tracer = 0;

	if (pgkg_read_stat(procroot, pid, &st) < 0 || st.state == 'Z' || st.state == 'X') {
		pgkg_buf_puts(b, "it exited just after the wait ended");
		return;
	}
	pgkg_read_tracer(procroot, pid, &tracer);
	pgkg_read_wchan(procroot, pid, wchan, sizeof(wchan));
	if (st.state == 't' || tracer > 0) {
		pgkg_buf_puts(b, "state t: it is stopped by ");
		put_tracer(b, procroot, tracer);
		pgkg_buf_puts(b, " and cannot act on SIGTERM until the debugger lets it run or "
				 "detaches");
	} else if (st.state == 'T') {
		pgkg_buf_puts(b, "state T: it is stopped by a signal and acts on SIGTERM once "
				 "continued (kill -CONT ");
		pgkg_buf_putl(b, pid);
		pgkg_buf_putc(b, ')');
	} else if (st.state == 'D') {
		pgkg_buf_puts(b, "state D: an uninterruptible wait in the kernel (wchan ");
		pgkg_buf_put_printable(b, wchan[0] ? wchan : "?");
		pgkg_buf_puts(b, "); it acts on SIGTERM only when the kernel call returns "
				 "(storage or NFS); no signal, not even KILL, ends it sooner");
	} else if (st.state == 'R') {
		pgkg_buf_puts(b, "state R: running code that does not check for interrupts; "
				 "PL/Perl, PL/Python and PL/v8 loops and C-extension loops ignore "
				 "SIGTERM until they return to PostgreSQL");
	} else {
		pgkg_buf_puts(b, "state ");
		pgkg_buf_putc(b, st.state);
		pgkg_buf_puts(b, ": waiting (wchan ");
		pgkg_buf_put_printable(b, wchan[0] ? wchan : "?");
		pgkg_buf_puts(b, ") where interrupts are held off, e.g. inside an extension or a "
				 "C library call");
	}
}

/* What it runs: pg_stat_activity when the rewriter read it, else the title. */
static void put_runs(struct pgkg_buf *b, const char *procroot, const struct pgkg_rw_rep *rep,
		     pid_t pid)
{
	char title[256];

	if (rep->activity[0]) {
		pgkg_buf_puts(b, "pg_stat_activity: ");
		pgkg_buf_put_printable(b, rep->activity);
	} else if (pgkg_read_title(procroot, pid, title, sizeof(title)) > 0) {
		pgkg_buf_puts(b, "title: ");
		pgkg_buf_put_printable(b, title);
	} else {
		pgkg_buf_puts(b, "what it runs is not visible");
	}
}

/* The rewrite said true but the target is still there (or cannot act yet). */
static void put_still_running(struct pgkg_guard *g, struct pgkg_buf *b, const struct pgkg_call *c,
			      const struct pgkg_target *t, char stopped, pid_t tracer)
{
	const struct pgkg_rw_rep *rep = &g->ws->rep;

	pgkg_buf_puts(b, "rewritten to pg_terminate_backend, which returned true: SIGTERM "
			 "delivered at ");
	put_utc(b, rep->signalled_at_ms);
	if (stopped == 't' || tracer > 0) {
		pgkg_buf_puts(b, ", but the process is stopped by ");
		put_tracer(b, g->procroot, tracer);
		pgkg_buf_puts(b, " and cannot exit until that debugger detaches (gdb: detach; "
				 "strace: Ctrl-C); only then can it act on it. Not waited for");
	} else if (stopped == 'T') {
		pgkg_buf_puts(b, ", but the process is stopped (SIGSTOP) and exits only once "
				 "continued: kill -CONT ");
		pgkg_buf_putl(b, t->pid);
	} else {
		pgkg_buf_puts(b, "; the process still runs ");
		pgkg_buf_putl(b, rep->elapsed_ms > rep->signalled_ms
					 ? rep->elapsed_ms - rep->signalled_ms : 0);
		pgkg_buf_puts(b, " ms later. Why: ");
		put_why(b, g->procroot, t->pid);
	}
	pgkg_buf_puts(b, ". Runs: ");
	put_runs(b, g->procroot, rep, t->pid);
	pgkg_buf_puts(b, ". The ");
	put_signal(b, c->sig);
	pgkg_buf_puts(b, " itself was withheld");
	if (pgkg_guard_crashes_cluster(t, c->sig))
		pgkg_buf_puts(b, " (it would crash-restart the cluster)");
	pgkg_buf_puts(b, ". Options: wait for the code to return; stop its cause (the client "
			 "or job that runs it); last resort: pgkillguard force-kill ");
	pgkg_buf_putl(b, t->pid);
	pgkg_buf_puts(b, ", if the policy allows you");
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
	struct outcome o = {pgkg_action_name(d->action), "ok", LOG_NOTICE, 0, NO_PRICE};
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
	struct outcome o = {pgkg_action_name(d->action), "ok", LOG_NOTICE, 0, NO_PRICE};
	long long t0 = pgkg_mono_ms();
	struct pgkg_buf b;
	int pidfd = c->pidfd >= 0 ? -1 : pin_target(g, t);

	if (pidfd == -ESRCH)
		return PGKG_PASS;	/* gone meanwhile: the kernel answers ESRCH */
	fill_request(&g->ws->req, t, d, g->policy);
	pid_t tracer;
	char stopped = d->action == PGKG_TERMINATE ? stopped_state(g->procroot, t->pid, &tracer) : 0;
	if (stopped)
		g->ws->req.timeout_ms = 1;	/* it cannot exit now: do not wait it out */
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
		if (rep->status == PGKG_RW_TIMEOUT && rep->returned == 1) {
			put_still_running(g, &b, c, t, stopped, stopped ? tracer : 0);
		} else {
			pgkg_buf_puts(&b, "not sent: ");
			pgkg_buf_puts(&b, fn);
			pgkg_buf_puts(&b, " failed: ");
			put_rewrite_failure(&b, rep, t->ns_pid > 0 ? t->ns_pid : t->pid);
		}
		if (d->rule && d->rule->fallback_signal) {
			pgkg_buf_puts(&b, "; fallback=signal: sending the original ");
			put_signal(&b, c->sig);
			pgkg_buf_puts(&b, " now");
			if (pgkg_guard_crashes_cluster(t, c->sig)) {
				pgkg_buf_puts(&b, ": ");
				o.dropped = pgkg_guard_put_price(&b, g->procroot, t);
				o.severity = LOG_ALERT;
			}
		}
	}
	put_rule_message(&b, g->policy, d->rule);
	pgkg_say(g->msg_fd, g->ws->line);
	audit_route(g, c, t, &o, "sql");
	if (rep->status == PGKG_RW_OK)
		return PGKG_DONE;
	return d->rule && d->rule->fallback_signal ? PGKG_PASS : PGKG_DENY;
}

/* An allow rule lets a fatal signal reach a postmaster child: say what it costs. */
static enum pgkg_verdict say_price(struct pgkg_guard *g, const struct pgkg_call *c,
				   const struct pgkg_target *t, const struct pgkg_decision *d)
{
	struct outcome o = {"allow", "crash-restart", LOG_ALERT, 0, NO_PRICE};
	struct pgkg_buf b;

	begin_line(g, &b, c, t);
	pgkg_buf_puts(&b, "allowed");
	if (d->rule) {
		pgkg_buf_puts(&b, " by ");
		put_rule_where(&b, g->policy, d->rule);
	}
	pgkg_buf_puts(&b, ": sending the real ");
	put_signal(&b, c->sig);
	pgkg_buf_puts(&b, "; ");
	o.dropped = pgkg_guard_put_price(&b, g->procroot, t);
	put_rule_message(&b, g->policy, d->rule);
	pgkg_say(g->msg_fd, g->ws->line);
	audit(g, c, t, &o);
	return PGKG_PASS;
}

static enum pgkg_verdict act(struct pgkg_guard *g, const struct pgkg_call *c,
			     const struct pgkg_target *t, const struct pgkg_decision *d)
{
	if (d->action == PGKG_ALLOW && pgkg_guard_crashes_cluster(t, c->sig))
		return say_price(g, c, t, d);
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
/* A target that could not be read (no fd left, /proc unreadable): refuse
 * fatal and stop signals, let the rest through. */
static enum pgkg_verdict unreadable(struct pgkg_guard *g, const struct pgkg_call *c, pid_t pid,
				    int err)
{
	struct outcome o = {"block", "blocked-unreadable", LOG_WARNING, 0, NO_PRICE};
	struct pgkg_call one = *c;
	struct pgkg_buf b;

	if (c->sig < 1 || c->sig > 64 ||
	    !((pgkg_sigset_fatal() | pgkg_sigset_stop()) & PGKG_SIGBIT(c->sig)))
		return PGKG_PASS;
	one.pid = pid;
	pgkg_buf_init(&b, g->ws->line, sizeof(g->ws->line));
	pgkg_describe_call(&b, pid, c->sig);
	pgkg_buf_puts(&b, " refused: pgkillguard could not read what process ");
	pgkg_buf_putl(&b, pid);
	pgkg_buf_puts(&b, " is (error ");
	pgkg_buf_putl(&b, -err);
	pgkg_buf_puts(&b, err == -EMFILE || err == -ENFILE ? ", too many open files" : "");
	pgkg_buf_puts(&b, "); fatal and stop signals are refused until it can");
	pgkg_say(g->msg_fd, g->ws->line);
	audit(g, &one, NULL, &o);
	return PGKG_DENY;
}

/*
 * Classify pid into g->ws->target: 1 when it is a cluster process the caller
 * could signal and does not belong to, 0 when the call is none of the
 * guard's business, -ESRCH when it does not exist, or another negative errno
 * when it could not be read.  The caller's right comes first: nothing is read
 * about a process the caller could not signal anyway.
 */
static int protected_target(struct pgkg_guard *g, pid_t pid)
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

static enum pgkg_verdict guard_one(struct pgkg_guard *g, const struct pgkg_call *c, pid_t pid)
{
	struct pgkg_decision d;
	int r = protected_target(g, pid);

	if (r == -ESRCH)
		return PGKG_GONE;
	if (r < 0)
		return unreadable(g, c, pid, r);
	if (r == 0)
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
	if (!pgkg_is_server_name(st.comm) || protected_target(g, pid) != 1)
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
	struct outcome o = {"block", "blocked", LOG_WARNING, 0, NO_PRICE};
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

/* ---- ptrace: debuggers and tracers (issue 12) ---- */

static const char *ptrace_name(long request)
{
	switch (request) {
	case PTRACE_ATTACH: return "PTRACE_ATTACH";
	case PTRACE_SEIZE: return "PTRACE_SEIZE";
	case PTRACE_KILL: return "PTRACE_KILL";
	case PTRACE_CONT: return "PTRACE_CONT";
	case PTRACE_SYSCALL: return "PTRACE_SYSCALL";
	case PTRACE_SINGLESTEP: return "PTRACE_SINGLESTEP";
	case PTRACE_DETACH: return "PTRACE_DETACH";
	case PTRACE_LISTEN: return "PTRACE_LISTEN";
	case PTRACE_SYSEMU: return "PTRACE_SYSEMU";
	case PTRACE_SYSEMU_SINGLESTEP: return "PTRACE_SYSEMU_SINGLESTEP";
	default: return "ptrace";
	}
}

enum pgkg_ptrace_class pgkg_ptrace_class(long request, long data)
{
	switch (request) {
	case PTRACE_ATTACH:
	case PTRACE_SEIZE:
		return PGKG_PTRACE_ATTACH;
	case PTRACE_KILL:
		return PGKG_PTRACE_SIGNAL;
	case PTRACE_CONT:
	case PTRACE_SYSCALL:
	case PTRACE_SINGLESTEP:
	case PTRACE_DETACH:
	case PTRACE_LISTEN:
	case PTRACE_SYSEMU:
	case PTRACE_SYSEMU_SINGLESTEP:
		if (data < 1 || data > 64 || !(pgkg_sigset_fatal() & PGKG_SIGBIT(data)))
			return PGKG_PTRACE_OTHER;
		return PGKG_PTRACE_SIGNAL;
	default:
		return PGKG_PTRACE_OTHER;
	}
}

/* "ptrace(PTRACE_CONT, SEGV) of 1234 (client backend ...; cluster /x) " */
static void begin_ptrace_line(struct pgkg_guard *g, struct pgkg_buf *b, long request, int sig,
			      const struct pgkg_target *t)
{
	pgkg_buf_init(b, g->ws->line, sizeof(g->ws->line));
	pgkg_buf_puts(b, "ptrace(");
	pgkg_buf_puts(b, ptrace_name(request));
	if (sig && request != PTRACE_KILL) {
		pgkg_buf_puts(b, ", SIG");
		put_signal(b, sig);
	}
	pgkg_buf_puts(b, ") of ");
	pgkg_buf_putl(b, t->pid);
	pgkg_buf_puts(b, " (");
	pgkg_describe_target(b, t);
	pgkg_buf_puts(b, ") ");
}

static enum pgkg_verdict ptrace_attach(struct pgkg_guard *g, const struct pgkg_call *c,
				       long request, const struct pgkg_target *t)
{
	struct outcome o = {"allow", "attach-warned", LOG_WARNING, 0, NO_PRICE};
	struct pgkg_decision d;
	struct pgkg_buf b;

	pgkg_decide_scope(policy(g), &g->caller, t, PGKG_SCOPE_PTRACE, &d);
	begin_ptrace_line(g, &b, request, 0, t);
	if (d.action == PGKG_BLOCK) {
		o.action = "block";
		o.result = "blocked";
		pgkg_buf_puts(&b, "blocked by ");
		put_rule_where(&b, g->policy, d.rule);
	} else {
		pgkg_buf_puts(&b, "allowed, but keep the stop short: a stopped backend keeps its "
				  "locks, and if it holds a spinlock the whole cluster PANICs "
				  "(\"stuck spinlock\") after about a minute. Detach when done; do "
				  "not kill it from the debugger (kill ");
		pgkg_buf_putl(&b, t->pid);
		pgkg_buf_puts(&b, " after detaching is rewritten to pg_terminate_backend)");
	}
	put_rule_message(&b, g->policy, d.rule);
	pgkg_say(g->msg_fd, g->ws->line);
	audit(g, c, t, &o);
	return d.action == PGKG_BLOCK ? PGKG_DENY : PGKG_PASS;
}

static enum pgkg_verdict ptrace_signal(struct pgkg_guard *g, struct pgkg_call *c, long request,
				       const struct pgkg_target *t)
{
	struct outcome o = {"block", "blocked", LOG_WARNING, 0, NO_PRICE};
	struct pgkg_decision d;
	struct pgkg_buf b;

	/* Passing on the signal the tracee is stopped with is not a new signal. */
	if (request != PTRACE_KILL && g->ops->stop_signal &&
	    g->ops->stop_signal(g, t->pid) == c->sig)
		return PGKG_PASS;
	pgkg_decide(policy(g), &g->caller, t, c->sig, &d);
	begin_ptrace_line(g, &b, request, c->sig, t);
	if (d.action == PGKG_ALLOW || d.report_only) {
		pgkg_buf_puts(&b, d.report_only ? "let through (report mode): " : "allowed: ");
		o.action = "allow";
		o.result = "crash-restart";
		o.severity = LOG_ALERT;
		o.dropped = pgkg_guard_put_price(&b, g->procroot, t);
		pgkg_say(g->msg_fd, g->ws->line);
		audit(g, c, t, &o);
		return PGKG_PASS;
	}
	pgkg_buf_puts(&b, "refused: it would end the process like kill -");
	pgkg_buf_putl(&b, c->sig);
	if (pgkg_guard_crashes_cluster(t, c->sig)) {
		pgkg_buf_puts(&b, ", and ");
		pgkg_guard_put_price(&b, g->procroot, t);
	}
	if (request == PTRACE_KILL && g->detach_on_ptrace_kill) {
		pgkg_buf_puts(&b, ". pgkillguard detached the debugger from it instead (a debugger "
				  "waiting for its death would keep it stopped); now kill ");
	} else {
		pgkg_buf_puts(&b, ". Instead detach the debugger (gdb: detach; strace: Ctrl-C), "
				  "then kill ");
	}
	pgkg_buf_putl(&b, t->pid);
	pgkg_buf_puts(&b, ", which pgkillguard rewrites to pg_terminate_backend");
	put_rule_message(&b, g->policy, d.rule);
	pgkg_say(g->msg_fd, g->ws->line);
	audit(g, c, t, &o);
	return PGKG_DENY;
}

enum pgkg_verdict pgkg_guard_ptrace(struct pgkg_guard *g, long request, pid_t pid, long data)
{
	enum pgkg_ptrace_class cls = pgkg_ptrace_class(request, data);
	struct pgkg_call c = {.how = "ptrace", .pid = pid, .pidfd = -1,
			      .sig = request == PTRACE_KILL ? SIGKILL : (int)data};

	if (cls == PGKG_PTRACE_OTHER || pid <= 0 || pid == g->caller.pid)
		return PGKG_PASS;
	if (protected_target(g, pid) != 1)
		return PGKG_PASS;
	c.how = ptrace_name(request);
	if (cls == PGKG_PTRACE_ATTACH)
		return ptrace_attach(g, &c, request, &g->ws->target);
	return ptrace_signal(g, &c, request, &g->ws->target);
}

/* The first member of process group pgid that is a cluster process the
 * caller could signal (into g->ws->target), or 0. */
static pid_t protected_member(struct pgkg_guard *g, pid_t pgid)
{
	char buf[4096] __attribute__((aligned(8)));
	int fd = open(g->procroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct pgkg_dirwalk w;
	const char *name;
	pid_t found = 0;

	if (fd < 0)
		return 0;
	pgkg_dirwalk_init(&w, fd, buf, sizeof(buf));
	while (!found && (name = pgkg_dirwalk_next(&w))) {
		long pid = parse_pid_name(name);
		struct pgkg_procstat st;
		if (pid > 0 && pgkg_read_stat(g->procroot, (pid_t)pid, &st) == 0 &&
		    st.pgrp == pgid && pgkg_is_server_name(st.comm) &&
		    protected_target(g, (pid_t)pid) == 1)
			found = (pid_t)pid;
	}
	close(fd);
	return found;
}

enum pgkg_verdict pgkg_guard_owner(struct pgkg_guard *g, const char *how, long owner)
{
	struct pgkg_target *t = &g->ws->target;
	struct outcome o = {"block", "blocked-owner", LOG_WARNING, 0, NO_PRICE};
	struct pgkg_call c = {.how = how, .pid = owner, .sig = SIGIO, .pidfd = -1};
	pid_t who = (pid_t)(owner < 0 ? -owner : owner);
	struct pgkg_buf b;

	if (owner == 0 || owner < -INT32_MAX || who == g->caller.pid)
		return PGKG_PASS;
	/* a group: every member, whether its leader is still there or not */
	if (owner < 0 ? !protected_member(g, who) : protected_target(g, who) != 1)
		return PGKG_PASS;	/* none the caller could signal: the kernel sends nothing */
	pgkg_buf_init(&b, g->ws->line, sizeof(g->ws->line));
	pgkg_buf_puts(&b, how);
	pgkg_buf_puts(&b, " naming ");
	pgkg_buf_putl(&b, owner);
	pgkg_buf_puts(&b, " (");
	if (owner < 0) {
		pgkg_buf_puts(&b, "a process group holding ");
		pgkg_buf_putl(&b, t->pid);
		pgkg_buf_puts(&b, ", ");
	}
	pgkg_describe_target(&b, t);
	pgkg_buf_puts(&b, ") refused: the kernel would send it SIGIO, which crashes PostgreSQL "
			  "like kill -9; use pg_terminate_backend()");
	pgkg_say(g->msg_fd, g->ws->line);
	audit(g, &c, t, &o);
	return PGKG_DENY;
}

enum pgkg_verdict pgkg_guard_unverified_fd(struct pgkg_guard *g, const char *how, int fd, int sig)
{
	struct outcome o = {"block", "blocked-unverified-fd", LOG_WARNING, 0, NO_PRICE};
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
