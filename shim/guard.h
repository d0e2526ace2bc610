/*
 * guard.h - one kill-family call through the decision core, shared by the
 * preload library and the seccomp supervisor.
 *
 *  1. The guard MUST NOT allocate, lock or use stdio: in the preload library
 *     it runs inside kill(), possibly in a signal handler.
 *  2. It never sends the caller's signal itself: it returns a verdict, and the
 *     front-end passes the call through (with the caller's own credentials,
 *     so the kernel keeps the last word on permission) or answers it.  The
 *     one signal it has sent is the direct route's SIGTERM/SIGINT (never
 *     SIGKILL), through ops->signal_target, with the caller's credentials.
 *  3. Calls from a process of the target's own cluster are PASS at once.
 *  4. A target the caller could not signal is PASS (the kernel says EPERM);
 *     nothing is sent to the database for it.
 */
#ifndef PGKG_GUARD_H
#define PGKG_GUARD_H

#include <stdbool.h>
#include <sys/types.h>

#include "policy.h"
#include "rwproto.h"

enum pgkg_verdict {
	PGKG_PASS = 0,		/* let the original call through */
	PGKG_DONE,		/* answered for the caller: return 0 */
	PGKG_DENY,		/* answered for the caller: -1 / EPERM */
	PGKG_GONE,		/* answered for the caller: -1 / ESRCH.  The target did not
				 * exist when judged: never passed on, so a process made
				 * later with that pid (a new backend) cannot receive it */
};

/* The errno a front-end answers for a verdict other than PASS (0 for DONE). */
int pgkg_verdict_errno(enum pgkg_verdict v);

/* One call as the caller made it (for messages and decisions). */
struct pgkg_call {
	const char *how;	/* "kill", "tgkill", "pidfd_send_signal", ... */
	long pid;		/* >0 one process, 0 own group, -1 all, < -1 a group */
	int sig;
	int pidfd;		/* caller-side fd pinning the target, or -1 */
};

struct pgkg_guard;

/* Front-end services. */
struct pgkg_guard_ops {
	/* Could the caller itself send sig to pid?  0, -EPERM or -ESRCH. */
	int (*can_signal)(struct pgkg_guard *g, pid_t pid);
	/* The database step; fills rep.  pidfd pins the target (or -1). */
	void (*rewrite)(struct pgkg_guard *g, const struct pgkg_rw_req *req, int pidfd,
			struct pgkg_rw_rep *rep);
	/* Point g->policy at the policy (called at most once per call, and only
	 * when a decision is needed). */
	void (*load_policy)(struct pgkg_guard *g);
	/*
	 * The direct route (SQL cannot be used, or route=signal): send sig
	 * (SIGTERM or SIGINT only) to the process pidfd pins (pid when pidfd is
	 * -1) WITH THE CALLER'S OWN CREDENTIALS, as pg_terminate_backend() does
	 * inside the server.  0 or a negative errno.  NULL: no direct route.
	 */
	int (*signal_target)(struct pgkg_guard *g, int pidfd, pid_t pid, int sig);
	/* ptrace: the signal of the caller's tracee pid's current signal-delivery
	 * stop (PTRACE_GETSIGINFO), or 0.  NULL: unknown (a fatal signal passed
	 * on by a resume request is then judged like a new one). */
	int (*stop_signal)(struct pgkg_guard *g, pid_t pid);
};

/* Working storage for one call (large: the library maps it, so that the
 * stack stays small even inside a signal handler on an alternate stack). */
struct pgkg_guard_ws {
	struct pgkg_target target;
	struct pgkg_rw_req req;
	struct pgkg_rw_rep rep;
	struct pgkg_caller_rel rel;	/* the caller's relation to the target's cluster */
	char line[2048];
	char audit[1200];
};

struct pgkg_guard {
	const char *procroot;	/* "/proc" */
	struct pgkg_caller caller;
	pid_t caller_ppid;
	pid_t caller_pgrp;
	const struct pgkg_guard_ops *ops;
	struct pgkg_guard_ws *ws;	/* storage provided by the front-end */
	struct pgkg_policy *policy;	/* set by ops->load_policy (or up front) */
	bool policy_loaded;
	int msg_fd;		/* where the one-line explanation goes (-1: nowhere) */
	bool detach_on_ptrace_kill;	/* front-end detaches a tracee whose PTRACE_KILL is refused */
	const char *syslog_path;	/* "/dev/log", or a test socket */
	void *priv;		/* front-end state */
};

enum pgkg_verdict pgkg_guard_call(struct pgkg_guard *g, const struct pgkg_call *call);

/* Is the caller a process of the cluster the target (a server-named
 * process whose stat we have) belongs to? */
bool pgkg_guard_same_cluster(const struct pgkg_guard *g, const struct pgkg_procstat *target);


/*
 * The fast path, before any other work: true when the call certainly passes
 * (signal 0, the caller itself, a single target whose comm is not a server
 * name, or one that does not exist).  At most one small /proc read.
 */
bool pgkg_guard_quick_pass(const char *procroot, long pid, int sig, pid_t self);
/* The same, three ways: PASS (certainly passes), GONE (no such process: answer
 * ESRCH, never pass it on), CHECK (take the full path, also when /proc could
 * not be read: an unreadable target is never taken for a missing one). */
enum pgkg_quick { PGKG_QUICK_CHECK = 0, PGKG_QUICK_PASS, PGKG_QUICK_GONE };
enum pgkg_quick pgkg_guard_quick(const char *procroot, long pid, int sig, pid_t self);


/*
 * Signals by proxy: `how` (F_SETOWN and friends) makes owner (a pid, or
 * -PGID) receive SIGIO, or F_SETSIG's signal, on I/O.  DENY, with a line and
 * an audit record, when that reaches a PostgreSQL process of another
 * cluster than the caller's: no rule can rewrite an I/O signal.
 */
enum pgkg_verdict pgkg_guard_owner(struct pgkg_guard *g, const char *how, long owner);

/* The one-line refusal for an fd that is a process fd we cannot verify. */
enum pgkg_verdict pgkg_guard_unverified_fd(struct pgkg_guard *g, const char *how, int fd, int sig);

/*
 * ptrace, for both front-ends.  Pure classification first (no I/O):
 * ATTACH/SEIZE are ATTACH; KILL, and CONT/SYSCALL/SINGLESTEP/DETACH/LISTEN/
 * SYSEMU(_SINGLESTEP) carrying a fatal signal, are SIGNAL; everything else
 * (PEEK, POKE, GETREGS, resumes without a fatal signal) is OTHER and passes.
 */
enum pgkg_ptrace_class { PGKG_PTRACE_OTHER = 0, PGKG_PTRACE_ATTACH, PGKG_PTRACE_SIGNAL };
enum pgkg_ptrace_class pgkg_ptrace_class(long request, long data);
/*
 * The decision for ptrace(request, pid, _, data) by g->caller:
 *  - attaching to a cluster process: the policy's `ptrace` rules (no rule:
 *    PASS with a warning about stopped backends and stuck spinlocks);
 *  - a fatal signal into a cluster process (PTRACE_KILL is KILL): decided
 *    like kill() of that signal; allow states the price of the crash-restart,
 *    anything else is DENY with what to do instead (detach, then kill).
 *  - everything else, and every non-cluster target: PASS.
 * One line on msg_fd and one audit line for each non-plain decision.
 */
enum pgkg_verdict pgkg_guard_ptrace(struct pgkg_guard *g, long request, pid_t pid, long data);

/* Would sig, reaching t, make the postmaster crash-restart the cluster? */
bool pgkg_guard_crashes_cluster(const struct pgkg_target *t, int sig);
/* "the postmaster will crash-restart the cluster: N other sessions are
 * dropped, ..."; returns N, or a negative number when it cannot count. */
struct pgkg_buf;
int pgkg_guard_put_price(struct pgkg_buf *b, const char *procroot, const struct pgkg_target *t);

#endif
