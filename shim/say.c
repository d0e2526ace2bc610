/*
 * say.c - the guard's lines: how a line starts, the audit line, and the
 * words for a block, report mode, an allowed crash, a broadcast, an owner
 * or fd refusal and a debugger.  What became of a rewrite is in sayrewrite.c.
 *
 * Rules (see also say.h):
 *  1. MUST NOT allocate, lock or use stdio: lines are built in g->ws->line
 *     and g->ws->audit.
 *  2. MUST NOT decide: every function here is given the decision.
 *  3. Each pgkg_say_* function writes one line (pgkg_say) and sends one
 *     audit line (pgkg_say_audit); text from a title, a name or a path goes
 *     through pgkg_buf_put_printable or pgkg_buf_put_value.
 */
#include "say.h"

#include <errno.h>

#include <signal.h>
#include <sys/ptrace.h>
#include <syslog.h>

#include "audit.h"

void pgkg_put_signal(struct pgkg_buf *b, int sig)
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

/* " kind=... cluster=..." and the rest of the audit line after target=. */
static void put_audit_outcome(struct pgkg_buf *b, const struct pgkg_target *t,
			      const struct pgkg_outcome *o, const char *route)
{
	pgkg_buf_puts(b, " action=");
	pgkg_buf_puts(b, o->action);
	pgkg_buf_puts(b, " result=");
	pgkg_buf_puts(b, o->result);
	pgkg_buf_puts(b, " latency_ms=");
	pgkg_buf_putl(b, o->latency_ms);
	if (route) {
		pgkg_buf_puts(b, " route=");
		pgkg_buf_puts(b, route);
	}
	if (t && t->ns_pid > 0 && t->ns_pid != t->pid) {
		pgkg_buf_puts(b, " server_pid=");
		pgkg_buf_putl(b, t->ns_pid);
	}
	if (o->dropped >= 0 || o->dropped == PGKG_PRICE_UNCOUNTED) {
		pgkg_buf_puts(b, " price=crash-restart sessions_dropped=");
		if (o->dropped >= 0)
			pgkg_buf_putl(b, o->dropped);
		else
			pgkg_buf_puts(b, "all");
	}
}

/* The audit line: who, what, to whom, what happened, and the route taken
 * ("sql", "signal") for terminate and cancel. */
void pgkg_say_audit(struct pgkg_guard *g, const struct pgkg_call *c, const struct pgkg_target *t,
		    const struct pgkg_outcome *o, const char *route)
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
	pgkg_put_signal(&b, c->sig);
	pgkg_buf_puts(&b, " target=");
	pgkg_buf_putl(&b, t ? t->pid : c->pid);
	if (t) {
		pgkg_buf_puts(&b, " kind=");
		pgkg_buf_puts(&b, pgkg_kind_name(t->kind));
		pgkg_buf_puts(&b, " cluster=");
		pgkg_buf_put_value(&b, t->cluster.datadir[0] ? t->cluster.datadir : "?");
	}
	put_audit_outcome(&b, t, o, route);
	pgkg_syslog(g->syslog_path, o->severity, g->caller.pid, g->ws->audit);
}

/* Say g->ws->line, then the audit line without a route. */
static void say_line(struct pgkg_guard *g, const struct pgkg_call *c, const struct pgkg_target *t,
		     const struct pgkg_outcome *o)
{
	pgkg_say(g->msg_fd, g->ws->line);
	pgkg_say_audit(g, c, t, o, NULL);
}

/* Start the stderr line: "kill -9 1234 (client backend app@db, idle; cluster /x) ". */
void pgkg_begin_line(struct pgkg_guard *g, struct pgkg_buf *b, const struct pgkg_call *c,
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

void pgkg_put_rule_message(struct pgkg_buf *b, const struct pgkg_policy *p,
			   const struct pgkg_rule *r)
{
	if (r && r->message) {
		pgkg_buf_puts(b, "; ");
		pgkg_buf_put_printable(b, pgkg_policy_str(p, r->message));
	}
}

void pgkg_say_blocked(struct pgkg_guard *g, const struct pgkg_call *c,
		      const struct pgkg_target *t, const struct pgkg_decision *d)
{
	const struct pgkg_policy *p = g->policy;
	struct pgkg_outcome o = {"block", "blocked", LOG_WARNING, 0, PGKG_NO_PRICE};
	struct pgkg_buf b;

	pgkg_begin_line(g, &b, c, t);
	if (d->policy_broken) {
		pgkg_buf_puts(&b, "blocked: the policy is broken (");
		pgkg_buf_put_printable(&b, p->first_error[0] ? p->first_error : p->path);
		pgkg_buf_puts(&b, "); fatal and stop signals to PostgreSQL are refused until "
				  "'pgkillguard check' passes");
		o.result = "blocked-policy-broken";
	} else {
		pgkg_buf_puts(&b, "blocked by ");
		put_rule_where(&b, p, d->rule);
		pgkg_put_rule_message(&b, p, d->rule);
	}
	say_line(g, c, t, &o);
}

/* What enforce mode would do with a terminate or cancel. */
static const char *rewrite_words(const struct pgkg_decision *d, bool direct)
{
	if (direct)
		return d->action == PGKG_CANCEL ? "rewritten to SIGINT, sent directly"
						: "rewritten to SIGTERM, sent directly";
	return d->action == PGKG_CANCEL ? "rewritten to pg_cancel_backend"
					: "rewritten to pg_terminate_backend";
}

void pgkg_say_report(struct pgkg_guard *g, const struct pgkg_call *c,
		     const struct pgkg_target *t, const struct pgkg_decision *d, bool direct)
{
	struct pgkg_outcome o = {pgkg_action_name(d->action), "report-only", LOG_NOTICE, 0,
				 PGKG_NO_PRICE};
	struct pgkg_buf b;

	pgkg_begin_line(g, &b, c, t);
	pgkg_buf_puts(&b, "let through (report mode); in enforce mode it would be ");
	pgkg_buf_puts(&b, d->action == PGKG_BLOCK ? "blocked" : rewrite_words(d, direct));
	pgkg_buf_puts(&b, " (");
	put_rule_where(&b, g->policy, d->rule);
	pgkg_buf_putc(&b, ')');
	if (pgkg_guard_crashes_cluster(t, c->sig)) {
		pgkg_buf_puts(&b, "; letting it through now: ");
		o.dropped = pgkg_guard_put_price(&b, g->procroot, t);
		o.severity = LOG_ALERT;
	}
	say_line(g, c, t, &o);
}

void pgkg_say_price(struct pgkg_guard *g, const struct pgkg_call *c,
		    const struct pgkg_target *t, const struct pgkg_decision *d)
{
	struct pgkg_outcome o = {"allow", "crash-restart", LOG_ALERT, 0, PGKG_NO_PRICE};
	struct pgkg_buf b;

	pgkg_begin_line(g, &b, c, t);
	pgkg_buf_puts(&b, "allowed");
	if (d->rule) {
		pgkg_buf_puts(&b, " by ");
		put_rule_where(&b, g->policy, d->rule);
	}
	pgkg_buf_puts(&b, ": sending the real ");
	pgkg_put_signal(&b, c->sig);
	pgkg_buf_puts(&b, "; ");
	o.dropped = pgkg_guard_put_price(&b, g->procroot, t);
	pgkg_put_rule_message(&b, g->policy, d->rule);
	say_line(g, c, t, &o);
}

void pgkg_say_broadcast(struct pgkg_guard *g, const struct pgkg_call *c,
			const struct pgkg_reached *r)
{
	struct pgkg_outcome o = {"block", "blocked", LOG_WARNING, 0, PGKG_NO_PRICE};
	struct pgkg_buf b;

	pgkg_buf_init(&b, g->ws->line, sizeof(g->ws->line));
	pgkg_describe_call(&b, c->pid, c->sig);
	pgkg_buf_puts(&b, " would reach PostgreSQL processes (");
	for (unsigned i = 0; i < r->hits && i < PGKG_MAX_LISTED; i++) {
		pgkg_buf_puts(&b, i ? ", " : "");
		pgkg_buf_puts(&b, pgkg_kind_label(r->kind[i]));
		pgkg_buf_putc(&b, ' ');
		pgkg_buf_putl(&b, r->pid[i]);
	}
	if (r->hits > PGKG_MAX_LISTED)
		pgkg_buf_puts(&b, ", ...");
	pgkg_buf_puts(&b, "; cluster ");
	pgkg_buf_put_printable(&b, r->cluster);
	if (r->report_only) {
		pgkg_buf_puts(&b, "): let through (report mode); in enforce mode the whole call "
				  "would be blocked");
		o.result = "report-only";
	} else {
		pgkg_buf_puts(&b, "): blocked the whole call; signal the other processes by pid, "
				  "and PostgreSQL with pg_ctl or pg_terminate_backend");
	}
	say_line(g, c, NULL, &o);
}

void pgkg_say_unreadable(struct pgkg_guard *g, const struct pgkg_call *c, pid_t pid, int err)
{
	struct pgkg_outcome o = {"block", "blocked-unreadable", LOG_WARNING, 0, PGKG_NO_PRICE};
	struct pgkg_call one = *c;
	struct pgkg_buf b;

	one.pid = pid;
	pgkg_buf_init(&b, g->ws->line, sizeof(g->ws->line));
	pgkg_describe_call(&b, pid, c->sig);
	pgkg_buf_puts(&b, " refused: pgkillguard could not read what process ");
	pgkg_buf_putl(&b, pid);
	pgkg_buf_puts(&b, " is (error ");
	pgkg_buf_putl(&b, -err);
	pgkg_buf_puts(&b, err == -EMFILE || err == -ENFILE ? ", too many open files" : "");
	pgkg_buf_puts(&b, "); fatal and stop signals are refused until it can");
	say_line(g, &one, NULL, &o);
}

void pgkg_say_owner(struct pgkg_guard *g, const char *how, long owner,
		    const struct pgkg_target *t)
{
	struct pgkg_outcome o = {"block", "blocked-owner", LOG_WARNING, 0, PGKG_NO_PRICE};
	struct pgkg_call c = {.how = how, .pid = owner, .sig = SIGIO, .pidfd = -1};
	struct pgkg_buf b;

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
	say_line(g, &c, t, &o);
}

void pgkg_say_unverified_fd(struct pgkg_guard *g, const char *how, int fd, int sig)
{
	struct pgkg_outcome o = {"block", "blocked-unverified-fd", LOG_WARNING, 0, PGKG_NO_PRICE};
	struct pgkg_call c = {.how = how, .pid = 0, .sig = sig, .pidfd = fd};
	struct pgkg_buf b;

	pgkg_buf_init(&b, g->ws->line, sizeof(g->ws->line));
	pgkg_buf_puts(&b, how);
	pgkg_buf_puts(&b, " on fd ");
	pgkg_buf_putl(&b, fd);
	pgkg_buf_puts(&b, " refused: the fd names a process pgkillguard cannot verify (a pidfd "
			  "from another pid namespace, or a directory of another procfs); signal "
			  "it by pid, or with a pidfd or /proc/PID of this host's /proc");
	say_line(g, &c, NULL, &o);
}

/* ---- ptrace: debuggers and tracers (issue 12) ---- */

const char *pgkg_ptrace_name(long request)
{
	switch (request) {
	case PTRACE_ATTACH: return "PTRACE_ATTACH";
	case PTRACE_SEIZE: return "PTRACE_SEIZE";
	case PTRACE_SETOPTIONS: return "PTRACE_SETOPTIONS";
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

/* "ptrace(PTRACE_CONT, SEGV) of 1234 (client backend ...; cluster /x) " */
static void begin_ptrace_line(struct pgkg_guard *g, struct pgkg_buf *b, long request, int sig,
			      const struct pgkg_target *t)
{
	pgkg_buf_init(b, g->ws->line, sizeof(g->ws->line));
	pgkg_buf_puts(b, "ptrace(");
	pgkg_buf_puts(b, pgkg_ptrace_name(request));
	if (sig && request != PTRACE_KILL) {
		pgkg_buf_puts(b, ", SIG");
		pgkg_put_signal(b, sig);
	}
	pgkg_buf_puts(b, ") of ");
	pgkg_buf_putl(b, t->pid);
	pgkg_buf_puts(b, " (");
	pgkg_describe_target(b, t);
	pgkg_buf_puts(b, ") ");
}

void pgkg_say_ptrace_attach(struct pgkg_guard *g, const struct pgkg_call *c, long request,
			    const struct pgkg_target *t, const struct pgkg_decision *d)
{
	struct pgkg_outcome o = {"allow", "attach-warned", LOG_WARNING, 0, PGKG_NO_PRICE};
	struct pgkg_buf b;

	begin_ptrace_line(g, &b, request, 0, t);
	if (d->action == PGKG_BLOCK) {
		o.action = "block";
		o.result = "blocked";
		pgkg_buf_puts(&b, "blocked by ");
		put_rule_where(&b, g->policy, d->rule);
	} else {
		pgkg_buf_puts(&b, "allowed, but keep the stop short: a stopped backend keeps its "
				  "locks, and if it holds a spinlock the whole cluster PANICs "
				  "(\"stuck spinlock\") after about a minute. Detach when done; do "
				  "not kill it from the debugger (kill ");
		pgkg_buf_putl(&b, t->pid);
		pgkg_buf_puts(&b, " after detaching is rewritten to pg_terminate_backend)");
	}
	pgkg_put_rule_message(&b, g->policy, d->rule);
	say_line(g, c, t, &o);
}

/* A fatal signal through ptrace that the policy refuses: what to do instead. */
static void put_ptrace_refusal(struct pgkg_guard *g, struct pgkg_buf *b,
			       const struct pgkg_call *c, long request,
			       const struct pgkg_target *t)
{
	pgkg_buf_puts(b, "refused: it would end the process like kill -");
	pgkg_buf_putl(b, c->sig);
	if (pgkg_guard_crashes_cluster(t, c->sig)) {
		pgkg_buf_puts(b, ", and ");
		pgkg_guard_put_price(b, g->procroot, t);
	}
	if (request == PTRACE_KILL && g->detach_on_ptrace_kill) {
		pgkg_buf_puts(b, ". pgkillguard detached the debugger from it instead (a debugger "
				 "waiting for its death would keep it stopped); now kill ");
	} else {
		pgkg_buf_puts(b, ". Instead detach the debugger (gdb: detach; strace: Ctrl-C), "
				 "then kill ");
	}
	pgkg_buf_putl(b, t->pid);
	pgkg_buf_puts(b, ", which pgkillguard rewrites to pg_terminate_backend");
}

void pgkg_say_ptrace_signal(struct pgkg_guard *g, const struct pgkg_call *c, long request,
			    const struct pgkg_target *t, const struct pgkg_decision *d)
{
	struct pgkg_outcome o = {"block", "blocked", LOG_WARNING, 0, PGKG_NO_PRICE};
	struct pgkg_buf b;

	begin_ptrace_line(g, &b, request, c->sig, t);
	if (d->action == PGKG_ALLOW || d->report_only) {
		pgkg_buf_puts(&b, d->report_only ? "let through (report mode): " : "allowed: ");
		o.action = "allow";
		o.result = "crash-restart";
		o.severity = LOG_ALERT;
		o.dropped = pgkg_guard_put_price(&b, g->procroot, t);
	} else {
		put_ptrace_refusal(g, &b, c, request, t);
		pgkg_put_rule_message(&b, g->policy, d->rule);
	}
	say_line(g, c, t, &o);
}
