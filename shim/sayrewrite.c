/*
 * sayrewrite.c - what became of a terminate or cancel, in words: rewritten
 * and done, failed (and what to do instead), or signalled but still running
 * and why (stopped by a debugger or SIGSTOP, an uninterruptible wait, a loop
 * that does not check for interrupts), by the SQL route or the direct one.
 *
 * Rules (see also say.h):
 *  1. MUST NOT allocate, lock or use stdio: the line is built in g->ws->line.
 *  2. MUST NOT decide or act: the rewrite is over when these words are put;
 *     /proc is read only to say why a process is still there.
 *  3. Each pgkg_say_* function writes one line and sends one audit line with
 *     route=sql or route=signal; titles, wchan, details and activity are
 *     escaped (pgkg_buf_put_printable).
 */
#include "say.h"

#include <errno.h>
#include <syslog.h>

#include "audit.h"

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
	pgkg_put_signal(b, c->sig);
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

/* Rewritten and done: "rewritten to pg_cancel_backend: query cancelled after N ms; ..." */
static void put_rewrite_done(struct pgkg_buf *b, const char *fn, bool cancel, uint32_t ms)
{
	pgkg_buf_puts(b, "rewritten to ");
	pgkg_buf_puts(b, fn);
	pgkg_buf_puts(b, cancel ? ": query cancelled after " : ": exited after ");
	pgkg_buf_putl(b, ms);
	pgkg_buf_puts(b, cancel ? " ms; the session stays connected"
				: " ms; the cluster kept running");
}

/* The rewrite did not end with PGKG_RW_OK: why, and what goes out instead. */
static void put_rewrite_trouble(struct pgkg_guard *g, struct pgkg_buf *b, const char *fn,
				const struct pgkg_call *c, const struct pgkg_target *t,
				const struct pgkg_decision *d, struct pgkg_outcome *o,
				char stopped, pid_t tracer)
{
	const struct pgkg_rw_rep *rep = &g->ws->rep;

	o->result = status_word(rep->status);
	o->severity = LOG_WARNING;
	if (rep->status == PGKG_RW_TIMEOUT && rep->returned == 1) {
		put_still_running(g, b, c, t, stopped, tracer);
	} else {
		pgkg_buf_puts(b, "not sent: ");
		pgkg_buf_puts(b, fn);
		pgkg_buf_puts(b, " failed: ");
		put_rewrite_failure(b, rep, t->ns_pid > 0 ? t->ns_pid : t->pid);
	}
	if (d->rule && d->rule->fallback_signal) {
		pgkg_buf_puts(b, "; fallback=signal: sending the original ");
		pgkg_put_signal(b, c->sig);
		pgkg_buf_puts(b, " now");
		if (pgkg_guard_crashes_cluster(t, c->sig)) {
			pgkg_buf_puts(b, ": ");
			o->dropped = pgkg_guard_put_price(b, g->procroot, t);
			o->severity = LOG_ALERT;
		}
	}
}

void pgkg_say_rewrite(struct pgkg_guard *g, const struct pgkg_call *c,
		      const struct pgkg_target *t, const struct pgkg_decision *d,
		      uint32_t latency_ms, char stopped, pid_t tracer)
{
	const char *fn = d->action == PGKG_CANCEL ? "pg_cancel_backend" : "pg_terminate_backend";
	struct pgkg_outcome o = {pgkg_action_name(d->action), "ok", LOG_NOTICE, latency_ms,
				 PGKG_NO_PRICE};
	struct pgkg_buf b;

	pgkg_begin_line(g, &b, c, t);
	if (g->ws->rep.status == PGKG_RW_OK)
		put_rewrite_done(&b, fn, d->action == PGKG_CANCEL, latency_ms);
	else
		put_rewrite_trouble(g, &b, fn, c, t, d, &o, stopped, tracer);
	pgkg_put_rule_message(&b, g->policy, d->rule);
	pgkg_say(g->msg_fd, g->ws->line);
	pgkg_say_audit(g, c, t, &o, "sql");
}

/* Sent directly: "rewritten to SIGTERM, sent directly (why): exited after N ms; ..." */
static void put_direct_done(struct pgkg_buf *b, const struct pgkg_target *t, bool cancel,
			    const char *why, uint32_t ms)
{
	pgkg_buf_puts(b, cancel ? "rewritten to SIGINT, sent directly (" :
				  "rewritten to SIGTERM, sent directly (");
	put_route_reason(b, t, why);
	pgkg_buf_puts(b, cancel ? "): query cancel requested after " : "): exited after ");
	pgkg_buf_putl(b, ms);
	pgkg_buf_puts(b, t->kind == PGKG_KIND_ORPHAN
				 ? " ms; the cluster cannot restart until all its orphans are gone"
			 : cancel ? " ms; the session stays connected"
				  : " ms; the cluster kept running");
}

/* The direct route failed (r < 0) or timed out (-ETIMEDOUT). */
static void put_direct_trouble(struct pgkg_buf *b, const struct pgkg_target *t,
			       const struct pgkg_decision *d, int r, const char *why)
{
	pgkg_buf_puts(b, r == -ETIMEDOUT ? "SIGTERM sent directly (" : "not sent: the direct route (");
	put_route_reason(b, t, why);
	if (r == -ETIMEDOUT) {
		pgkg_buf_puts(b, "), but still running after the policy's timeout");
	} else {
		pgkg_buf_puts(b, ") failed: ");
		put_errno_word(b, -r);
	}
	if (t->kind == PGKG_KIND_ORPHAN)
		pgkg_buf_puts(b, "; the cluster cannot restart until all its orphans are gone");
	if (d->rule && d->rule->fallback_signal)
		pgkg_buf_puts(b, "; sending the original signal (fallback=signal)");
}

void pgkg_say_direct(struct pgkg_guard *g, const struct pgkg_call *c,
		     const struct pgkg_target *t, const struct pgkg_decision *d, int r,
		     const char *why, uint32_t latency_ms)
{
	struct pgkg_outcome o = {pgkg_action_name(d->action), "ok", LOG_NOTICE, latency_ms,
				 PGKG_NO_PRICE};
	struct pgkg_buf b;

	pgkg_begin_line(g, &b, c, t);
	if (r == 0) {
		put_direct_done(&b, t, d->action == PGKG_CANCEL, why, latency_ms);
	} else {
		o.result = r == -ETIMEDOUT ? "timeout" : "failed";
		o.severity = LOG_WARNING;
		put_direct_trouble(&b, t, d, r, why);
	}
	pgkg_put_rule_message(&b, g->policy, d->rule);
	pgkg_say(g->msg_fd, g->ws->line);
	pgkg_say_audit(g, c, t, &o, "signal");
}
