/*
 * ptraceguard.c - ptrace decisions (issue 12): attaching a debugger to a
 * cluster process, and fatal signals injected through ptrace.  The words
 * are in say.c.
 *
 * Rules (see also guard.h):
 *  1. MUST NOT allocate, lock or use stdio (runs inside ptrace()).
 *  2. MUST NOT send a signal: verdicts only.  Requests that neither attach
 *     nor carry a fatal signal, and non-cluster targets, PASS without I/O
 *     beyond classification.
 *  3. Passing on the signal a tracee is stopped with is not a new signal;
 *     any other fatal signal is decided like kill() of that signal.
 */
#include "guard.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/ptrace.h>

#include "pipeline.h"
#include "say.h"

enum pgkg_ptrace_class pgkg_ptrace_class(long request, long data)
{
	switch (request) {
	case PTRACE_SEIZE:
		/* EXITKILL: the tracee gets SIGKILL when the tracer exits (R2-3) */
		return (data & PTRACE_O_EXITKILL) ? PGKG_PTRACE_SIGNAL : PGKG_PTRACE_ATTACH;
	case PTRACE_SETOPTIONS:
		return (data & PTRACE_O_EXITKILL) ? PGKG_PTRACE_SIGNAL : PGKG_PTRACE_OTHER;
	case PTRACE_ATTACH:
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

static enum pgkg_verdict ptrace_attach(struct pgkg_guard *g, const struct pgkg_call *c,
				       long request, const struct pgkg_target *t)
{
	struct pgkg_decision d;

	pgkg_decide_scope(pgkg_guard_policy(g), &g->caller, t, PGKG_SCOPE_PTRACE, &d);
	pgkg_say_ptrace_attach(g, c, request, t, &d);
	return d.action == PGKG_BLOCK ? PGKG_DENY : PGKG_PASS;
}

static enum pgkg_verdict ptrace_signal(struct pgkg_guard *g, const struct pgkg_call *c,
				       long request, const struct pgkg_target *t)
{
	struct pgkg_decision d;

	/* Passing on the signal the tracee is stopped with is not a new signal. */
	if (request != PTRACE_KILL && g->ops->stop_signal &&
	    g->ops->stop_signal(g, t->pid) == c->sig)
		return PGKG_PASS;
	pgkg_decide(pgkg_guard_policy(g), &g->caller, t, c->sig, &d);
	pgkg_say_ptrace_signal(g, c, request, t, &d);
	return d.action == PGKG_ALLOW || d.report_only ? PGKG_PASS : PGKG_DENY;
}

enum pgkg_verdict pgkg_guard_ptrace(struct pgkg_guard *g, long request, pid_t pid, long data)
{
	enum pgkg_ptrace_class cls = pgkg_ptrace_class(request, data);
	/* PTRACE_KILL, and EXITKILL (a SIGKILL when the tracer exits), are KILL */
	bool kills = request == PTRACE_KILL || request == PTRACE_SEIZE || request == PTRACE_SETOPTIONS;
	struct pgkg_call c = {.how = "ptrace", .pid = pid, .pidfd = -1,
			      .sig = kills ? SIGKILL : (int)data};

	if (cls == PGKG_PTRACE_OTHER || pid <= 0 || pid == g->caller.pid)
		return PGKG_PASS;
	if (pgkg_guard_protected(g, pid) != 1)
		return PGKG_PASS;
	pgkg_guard_relation(g);
	c.how = pgkg_ptrace_name(request);
	if (cls == PGKG_PTRACE_ATTACH)
		return ptrace_attach(g, &c, request, &g->ws->target);
	return ptrace_signal(g, &c, request, &g->ws->target);
}
