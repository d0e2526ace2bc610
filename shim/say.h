/*
 * say.h - the guard's words (say.c, sayrewrite.c, price.c) for its pipeline
 * (guard.c, sweep.c, ptraceguard.c).  Internal to the guard.
 *
 *  1. MUST NOT allocate, lock or use stdio: lines are built in g->ws->line
 *     and g->ws->audit (the preload library says them inside kill()).
 *  2. MUST NOT decide: a pgkg_say_* function is given the decision and what
 *     the pipeline did, and puts it into words.
 *  3. Each pgkg_say_* function writes exactly one line on g->msg_fd and sends
 *     one audit line to syslog; a title, name or path in it is escaped.
 */
#ifndef PGKG_SAY_H
#define PGKG_SAY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "guard.h"
#include "util.h"

#define PGKG_MAX_LISTED 6	/* processes a broadcast line names */
#define PGKG_NO_PRICE (-1)	/* outcome.dropped: no fatal signal goes out */
#define PGKG_PRICE_UNCOUNTED (-2)	/* a fatal signal goes out; sessions not countable */

/* What the audit line says happened. */
struct pgkg_outcome {
	const char *action;	/* audit: allow/block/terminate/cancel */
	const char *result;	/* audit: ok, blocked, failed, timeout, report */
	int severity;
	uint32_t latency_ms;
	int dropped;		/* >= 0: a real fatal signal; sessions it drops (audit) */
};

/* What a broadcast would reach: the protected members whose decision is
 * not allow (the first PGKG_MAX_LISTED of them listed). */
struct pgkg_reached {
	unsigned hits;
	bool report_only;
	pid_t pid[PGKG_MAX_LISTED];
	enum pgkg_kind kind[PGKG_MAX_LISTED];
	char cluster[256];
};

/* ---- pieces of a line (say.c), for the files that say things ---- */
void pgkg_put_signal(struct pgkg_buf *b, int sig);
/* "; message" of the rule, if it has one. */
void pgkg_put_rule_message(struct pgkg_buf *b, const struct pgkg_policy *p,
			   const struct pgkg_rule *r);
/* Start g->ws->line: "kill -9 1234 (client backend app@db, idle; cluster /x) ". */
void pgkg_begin_line(struct pgkg_guard *g, struct pgkg_buf *b, const struct pgkg_call *c,
		     const struct pgkg_target *t);
/* The audit line (t may be NULL), with route= ("sql", "signal") when not NULL. */
void pgkg_say_audit(struct pgkg_guard *g, const struct pgkg_call *c, const struct pgkg_target *t,
		    const struct pgkg_outcome *o, const char *route);

/* ---- the lines (say.c) ---- */
/* A block by the policy, or by a broken policy failing closed. */
void pgkg_say_blocked(struct pgkg_guard *g, const struct pgkg_call *c,
		      const struct pgkg_target *t, const struct pgkg_decision *d);
/* Report mode: what enforce mode would do; direct: it would take the direct route. */
void pgkg_say_report(struct pgkg_guard *g, const struct pgkg_call *c,
		     const struct pgkg_target *t, const struct pgkg_decision *d, bool direct);
/* An allow rule lets a fatal signal reach a postmaster child: its price. */
void pgkg_say_price(struct pgkg_guard *g, const struct pgkg_call *c,
		    const struct pgkg_target *t, const struct pgkg_decision *d);
/* A broadcast blocked whole (or let through in report mode). */
void pgkg_say_broadcast(struct pgkg_guard *g, const struct pgkg_call *c,
			const struct pgkg_reached *r);
/* F_SETOWN and friends naming owner, a process of t's cluster. */
void pgkg_say_owner(struct pgkg_guard *g, const char *how, long owner,
		    const struct pgkg_target *t);
/* An fd that is a process fd pgkillguard cannot verify. */
void pgkg_say_unverified_fd(struct pgkg_guard *g, const char *how, int fd, int sig);
/* A fatal or stop signal to pid refused: what pid is could not be read (err). */
void pgkg_say_unreadable(struct pgkg_guard *g, const struct pgkg_call *c, pid_t pid, int err);
/* "PTRACE_ATTACH", ... ("ptrace" for others). */
const char *pgkg_ptrace_name(long request);
/* Attaching a debugger to t: blocked by a rule, or allowed with a warning. */
void pgkg_say_ptrace_attach(struct pgkg_guard *g, const struct pgkg_call *c, long request,
			    const struct pgkg_target *t, const struct pgkg_decision *d);
/* A fatal signal through ptrace: let through (d allows or reports) or refused. */
void pgkg_say_ptrace_signal(struct pgkg_guard *g, const struct pgkg_call *c, long request,
			    const struct pgkg_target *t, const struct pgkg_decision *d);

/* ---- what became of a terminate or cancel (sayrewrite.c) ---- */
/* The SQL route: g->ws->rep; stopped ('t', 'T' or 0) and tracer as read
 * before the rewrite. */
void pgkg_say_rewrite(struct pgkg_guard *g, const struct pgkg_call *c,
		      const struct pgkg_target *t, const struct pgkg_decision *d,
		      uint32_t latency_ms, char stopped, pid_t tracer);
/* The direct route: r is 0, -ETIMEDOUT or the sender's negative errno; why
 * is the SQL route's failure, or NULL for route=signal. */
void pgkg_say_direct(struct pgkg_guard *g, const struct pgkg_call *c,
		     const struct pgkg_target *t, const struct pgkg_decision *d, int r,
		     const char *why, uint32_t latency_ms);

#endif
