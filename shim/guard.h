/*
 * guard.h - one kill-family call through the decision core, shared by the
 * preload library and the seccomp supervisor.
 *
 *  1. The guard MUST NOT allocate, lock or use stdio: in the preload library
 *     it runs inside kill(), possibly in a signal handler.
 *  2. It never sends the signal itself: it returns a verdict, and the
 *     front-end passes the call through (with the caller's own credentials,
 *     so the kernel keeps the last word on permission) or answers it.
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
};

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
	/* Load the policy into g->ws->policy (called at most once per call). */
	void (*load_policy)(struct pgkg_guard *g);
};

/* Working storage for one call (large: the library maps it, so that the
 * stack stays small even inside a signal handler on an alternate stack). */
struct pgkg_guard_ws {
	struct pgkg_policy policy;
	struct pgkg_target target;
	struct pgkg_rw_req req;
	struct pgkg_rw_rep rep;
	struct pgkg_caller_rel rel;	/* the caller's relation to the target's cluster */
	char line[1024];
	char audit[1200];
};

struct pgkg_guard {
	const char *procroot;	/* "/proc" */
	struct pgkg_caller caller;
	pid_t caller_ppid;
	pid_t caller_pgrp;
	const struct pgkg_guard_ops *ops;
	struct pgkg_guard_ws *ws;	/* storage provided by the front-end */
	struct pgkg_policy *policy;	/* &ws->policy once loaded through ops */
	bool policy_loaded;
	int msg_fd;		/* where the one-line explanation goes (-1: nowhere) */
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


/*
 * The process that fd (in this process) names, for pidfd_send_signal.  A
 * pidfd: the "Pid:" of its fdinfo, *is_pidfd set.  An open("/proc/PID")
 * directory fd, as psmisc killall passes: the pid in its link, provided the
 * process the fd pins is still the one with that pid (same start time).
 * 0: not a process fd, or its process is gone.  Async-signal-safe.
 */
long pgkg_fd_target(const char *procroot, int fd, bool *is_pidfd);

/*
 * Load the policy the way every front-end does: `path` (an explicit choice:
 * missing means broken), else PGKG_SYSCONFDIR/pgkillguard/pgkillguard.conf,
 * else (no such file) the built-in default.  Trusted owner: root or uid.
 */
#define PGKG_POLICY_PATH PGKG_SYSCONFDIR "/pgkillguard/pgkillguard.conf"
void pgkg_guard_load_policy(struct pgkg_policy *p, const char *path, uid_t uid,
			    pgkg_report_fn report, void *ctx);

#endif
