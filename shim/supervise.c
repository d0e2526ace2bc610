/*
 * supervise.c - `pgkillguard exec`: the enforced front-end.
 *
 * The command runs under a seccomp filter (filter.c) that hands every
 * kill-family system call with a non-zero signal, and every F_SETOWN-like
 * call, to this supervisor (user notification).  Static binaries, Go
 * programs and raw system calls are caught too.
 *
 * Rules:
 *  1. The child loads the filter, passes the listener fd over a socketpair
 *     and execs, calling nothing that could be notified in between.
 *  2. The supervisor never acts with more privilege than the caller.  A call
 *     by pid whose decision rests on its registers alone may be answered
 *     CONTINUE: the kernel then acts with the caller's own credentials.
 *     Anything that names its target through an fd or through memory is
 *     never CONTINUE: the supervisor copies the fd (and the memory), decides
 *     on its copy, and makes the call itself on a thread that has taken the
 *     caller's exact credentials (actas.c), or refuses.
 *  3. What cannot be read or verified (the caller's fd, its memory, its
 *     credentials) is refused: EPERM, or EBADF/ESRCH where the kernel would
 *     say so anyway.  Never CONTINUE.
 *  4. The notification is checked to be still valid after reading the
 *     caller and before any answer.
 *  5. Started as root (the setuid login shell, or root's own `exec`), the
 *     supervisor gives up uid 0 once the command is started and keeps only
 *     CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH effective (actas.c).
 *  6. Slow decisions run on a thread per notification, so one backend that
 *     takes seconds to exit never delays the rest of the session.
 *  7. If the supervisor dies, the kernel fails every guarded call (ENOSYS)
 *     and the command itself gets SIGKILL (parent-death signal).
 *  8. Signals from the session to the supervisor (any of its threads) are
 *     refused; it is not dumpable, so the guarded user cannot ptrace it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "actas.h"
#include "audit.h"
#include "cli.h"
#include "fdpass.h"
#include "filter.h"
#include "guard.h"
#include "rawsys.h"
#include "rewrite.h"
#include "sigcall.h"
#include "supervise.h"
#include "util.h"

/* Linux 6.6: wake the supervisor on the caller's CPU, and the caller on ours. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS _IOW('!', 4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

#define MAX_IN_FLIGHT 64

static const char procroot[] = "/proc";

struct sup {
	int listener;
	pid_t child;
	pid_t self;
	struct pgkg_rewriter *rewriter;
	pthread_mutex_t rw_lock;	/* the rewriter's connection cache */
	struct pgkg_policy *policy;	/* loaded once, read-only afterwards */
	ino_t userns;			/* our user namespace */
	pthread_mutex_t lock;		/* in_flight */
	pthread_cond_t idle;
	unsigned in_flight;
};

/* One notification being decided: the guard's private state (g.priv). */
struct job {
	struct sup *s;
	struct seccomp_notif req;
	struct pgkg_creds caller;
	bool caller_cap_kill;
	struct pgkg_guard_ws ws;
};

/* ---- the child ---- */

/* Terminal-generated signals reach the command's process group anyway. */
static const int supervisor_ignores[] = {SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE};
/* A hangup or a stop request for the session goes on to the command. */
static const int supervisor_forwards[] = {SIGHUP, SIGTERM};
static volatile pid_t forward_to;

static void forward(int sig)
{
	int saved = errno;

	if (forward_to > 0)
		pgkg_kill_with_cap(forward_to, sig);	/* the supervisor is no longer its uid */
	errno = saved;
}

static noreturn void child_main(int sock, char **cmd, const struct pgkg_exec_opts *o)
{
	const char *what = "";
	scmp_filter_ctx ctx;
	int fd;

	for (size_t i = 0; i < sizeof(supervisor_ignores) / sizeof(int); i++)
		signal(supervisor_ignores[i], SIG_DFL);
	for (size_t i = 0; i < sizeof(supervisor_forwards) / sizeof(int); i++)
		signal(supervisor_forwards[i], SIG_DFL);
	if (!(ctx = pgkg_filter_build(o->no_new_privs, &what)))
		die_errno("%s", what);
	if (seccomp_load(ctx) < 0)
		die("cannot load the seccomp filter (%s)",
		    errno == EPERM || errno == EACCES
			? "refused: already inside a pgkillguard session, or no_new_privs is needed"
			: "kernel 5.5 or later is needed");
	if ((fd = seccomp_notify_fd(ctx)) < 0 || pgkg_fdpass_send_fd(sock, fd) < 0)
		die("cannot hand the seccomp listener to the supervisor");
	close(fd);
	seccomp_release(ctx);
	/* Only now: loading a filter without no_new_privs needs root. */
	if (o->drop_to_user && o->drop_to_user(o->drop_ctx) < 0)
		die_errno("cannot drop to the invoking user");
	/* After any change of credentials, which clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
		_exit(127);	/* the supervisor is already gone */
	/* Nothing of the command runs before the supervisor has given up root. */
	if (read(sock, &(char){0}, 1) != 1)
		_exit(127);
	close(sock);
	if (o->path)
		execv(o->path, cmd);
	else
		execvp(cmd[0], cmd);
	die_errno("%s", o->path ? o->path : cmd[0]);
}

/* ---- reading the caller ---- */

static ino_t userns_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* Credentials and identity of the thread that made the call. */
static int read_caller(struct job *j, struct pgkg_guard *g)
{
	struct pgkg_creds *c = &j->caller;
	struct pgkg_procstat st;
	char ns[64];

	if (pgkg_read_creds(procroot, (pid_t)j->req.pid, c) < 0 ||
	    pgkg_read_stat(procroot, c->tgid, &st) < 0)
		return -ESRCH;
	snprintf(ns, sizeof(ns), "%s/%d/ns/user", procroot, (int)j->req.pid);
	j->caller_cap_kill = pgkg_creds_cap_kill(c, userns_of(ns) == j->s->userns);
	g->caller.pid = c->tgid;
	g->caller.uid = c->uid[0];
	g->caller.gid = c->gid[0];
	g->caller.ngroups = c->ngroups < 64 ? c->ngroups : 64;
	memcpy(g->caller.groups, c->groups, (size_t)g->caller.ngroups * sizeof(gid_t));
	memcpy(g->caller.comm, st.comm, sizeof(g->caller.comm));
	g->caller_ppid = st.ppid;
	g->caller_pgrp = st.pgrp;
	return 0;
}

/* The caller's memory at addr, len bytes; 0, -EFAULT, or -ESRCH when the
 * notification ended meanwhile (the pid may name another process by now). */
static int read_caller_mem(const struct job *j, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};

	if (process_vm_readv(j->caller.tgid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		return -EFAULT;
	return seccomp_notify_id_valid(j->s->listener, j->req.id) == 0 ? 0 : -ESRCH;
}

/* Our own copy of the caller's fd: the same open file; -errno on failure.
 * The pidfd is the caller's only if the notification is still pending once
 * it is open (the caller waits in the call: its pid cannot have been reused). */
static int copy_caller_fd(const struct job *j, int fd)
{
	int pfd = pidfd_open(j->caller.tgid, 0), copy;

	if (pfd < 0)
		return -ESRCH;
	if (seccomp_notify_id_valid(j->s->listener, j->req.id) != 0) {
		close(pfd);
		return -ESRCH;
	}
	copy = pidfd_getfd(pfd, fd, 0);
	copy = copy < 0 ? -errno : copy;
	close(pfd);
	return copy;
}

/* ---- guard services ---- */

static struct job *job_of(struct pgkg_guard *g)
{
	return g->priv;
}

/* The kernel's rule (kill_ok_by_cred): uid or euid of the caller equals the
 * uid or saved uid of the target, or CAP_KILL.  (CONT within a session is
 * not mirrored: such a call is judged as if it could reach the target.) */
static int sup_can_signal(struct pgkg_guard *g, pid_t pid)
{
	const struct job *j = job_of(g);
	struct pgkg_creds t;

	if (pgkg_read_creds(procroot, pid, &t) < 0)
		return -ESRCH;
	if (j->caller_cap_kill || j->caller.uid[1] == t.uid[0] || j->caller.uid[1] == t.uid[2] ||
	    j->caller.uid[0] == t.uid[0] || j->caller.uid[0] == t.uid[2])
		return 0;
	return -EPERM;
}

struct rewrite_args {
	struct sup *s;
	const struct pgkg_rw_req *req;
	int pidfd;
	struct pgkg_rw_rep *rep;
};

static int run_rewrite(void *p)
{
	struct rewrite_args *a = p;

	pthread_mutex_lock(&a->s->rw_lock);
	pgkg_rewriter_run(a->s->rewriter, a->req, a->pidfd, a->rep);
	pthread_mutex_unlock(&a->s->rw_lock);
	return 0;
}

/* The database step runs as the caller; a root caller as the cluster's
 * owner instead (less than root), and never as root. */
static void sup_rewrite(struct pgkg_guard *g, const struct pgkg_rw_req *req, int pidfd,
			struct pgkg_rw_rep *rep)
{
	struct job *j = job_of(g);
	struct rewrite_args a = {j->s, req, pidfd, rep};
	struct pgkg_creds owner;
	const struct pgkg_creds *who = &j->caller;
	struct pgkg_procstat pm;

	if (j->caller.uid[1] == 0) {
		if (req->owner_uid == 0 || pgkg_read_stat(procroot, req->postmaster, &pm) < 0) {
			rep->status = PGKG_RW_ERROR;
			pgkg_strlcpy(rep->detail, "the cluster's owner is root or gone: "
				     "pgkillguard never connects as root", sizeof(rep->detail));
			return;
		}
		struct pgkg_creds pmc;
		if (pgkg_read_creds(procroot, req->postmaster, &pmc) < 0) {
			rep->status = PGKG_RW_ERROR;
			return;
		}
		pgkg_creds_of_account(pmc.uid[1], pmc.gid[1], &owner);
		who = &owner;
	}
	if (pgkg_act_as(who, false, run_rewrite, &a) < 0) {
		rep->status = PGKG_RW_ERROR;
		pgkg_strlcpy(rep->detail, "could not take the caller's credentials",
			     sizeof(rep->detail));
	}
}

static void sup_load_policy(struct pgkg_guard *g)
{
	/* loaded once at start (pgkg_supervise); nothing to do per call */
}

struct direct {
	int pidfd;
	pid_t pid;
	int sig;
};

static int send_direct(void *p)
{
	const struct direct *d = p;
	/* raw: a preloaded libpgkillguard.so must not judge the call again */
	long r = d->pidfd >= 0 ? pgkg_raw(SYS_pidfd_send_signal, d->pidfd, d->sig, 0, 0)
			       : pgkg_raw(SYS_kill, d->pid, d->sig, 0, 0);

	return r < 0 ? (int)r : 0;
}

/* The direct route (SIGTERM/SIGINT when SQL cannot be used), sent by a
 * thread holding the caller's exact credentials, never the supervisor's. */
static int sup_signal_target(struct pgkg_guard *g, int pidfd, pid_t pid, int sig)
{
	struct job *j = job_of(g);
	struct direct d = {pidfd, pid, sig};

	if (sig != SIGTERM && sig != SIGINT)
		return -EINVAL;
	return pgkg_act_as(&j->caller, j->caller_cap_kill, send_direct, &d);
}

static const struct pgkg_guard_ops sup_ops = {
	.can_signal = sup_can_signal,
	.rewrite = sup_rewrite,
	.load_policy = sup_load_policy,
	.signal_target = sup_signal_target,
};

static void fill_guard(struct job *j, struct pgkg_guard *g)
{
	memset(g, 0, sizeof(*g));
	g->procroot = procroot;
	g->ops = &sup_ops;
	g->ws = &j->ws;
	g->policy = j->s->policy;
	g->policy_loaded = true;
	g->msg_fd = 2;
	g->syslog_path = "/dev/log";
	g->priv = j;
	if (!getauxval(AT_SECURE) && getenv("PGKILLGUARD_SYSLOG") && *getenv("PGKILLGUARD_SYSLOG"))
		g->syslog_path = getenv("PGKILLGUARD_SYSLOG");
}

/* ---- acting for the caller ---- */

struct emulation {
	const struct pgkg_sigcall *sc;
	int fd;			/* our copy */
	siginfo_t *info;	/* our copy, or NULL */
	int owner;		/* OWNER calls: the owner as read */
	struct f_owner_ex ex;
};

static int do_pidfd_send_signal(void *p)
{
	const struct emulation *e = p;
	/* raw: a preloaded libpgkillguard.so must not judge the call a second time */
	long r = pgkg_raw(SYS_pidfd_send_signal, e->fd, e->sc->sig, (long)e->info, e->sc->flags);

	return r < 0 ? (int)r : 0;
}

static int do_set_owner(void *p)
{
	struct emulation *e = p;
	long r = e->sc->owner_arg == PGKG_OWNER_EX
			 ? pgkg_raw(SYS_fcntl, e->fd, F_SETOWN_EX, (long)&e->ex, 0)
			 : pgkg_raw(SYS_ioctl, e->fd,
				    !strcmp(e->sc->how, "ioctl(SIOCSPGRP)") ? SIOCSPGRP : FIOSETOWN,
				    (long)&e->owner, 0);

	return r < 0 ? (int)r : 0;
}

/* Make the call ourselves, on our copies, with the caller's credentials. */
static int act_for_caller(struct job *j, int (*fn)(void *), struct emulation *e)
{
	return pgkg_act_as(&j->caller, j->caller_cap_kill, fn, e);
}

/* ---- one notification ---- */

/* The supervisor or any of its threads (registered ones cheaply; any other
 * thread by its Tgid, on the slow path). */
static bool targets_supervisor(const struct sup *s, long pid)
{
	return pid == s->self || (pid > 0 && pgkg_actas_is_our_thread((pid_t)pid));
}

static bool supervisor_thread(const struct sup *s, long pid)
{
	struct pgkg_status st;

	if (targets_supervisor(s, pid))
		return true;
	return pid > 0 && pid <= INT32_MAX &&
	       pgkg_read_status(procroot, (pid_t)pid, PGKG_STATUS_TGID, &st) == 0 && st.tgid == s->self;
}

static enum pgkg_verdict refuse_supervisor(void)
{
	pgkg_say(2, "a signal to the pgkillguard supervisor of this session was refused; "
		    "leave the session by ending its command");
	return PGKG_DENY;
}

/* An owner call naming the supervisor, or a PostgreSQL process (guard.c):
 * 0 to go on, or the errno to answer (EPERM, or ESRCH for an owner nobody is). */
static int owner_refused(struct job *j, struct pgkg_guard *g, const struct pgkg_sigcall *sc,
			 long owner)
{
	pid_t who = (pid_t)(owner < 0 ? -owner : owner);
	enum pgkg_verdict v;

	if (owner != 0 && owner >= -INT32_MAX && supervisor_thread(j->s, who))
		return -pgkg_verdict_errno(refuse_supervisor());
	v = pgkg_guard_owner(g, sc->how, owner);
	return v == PGKG_PASS ? 0 : -pgkg_verdict_errno(v);
}

/* F_SETOWN-like: a register owner is judged and CONTINUEd (registers only);
 * an owner in memory is read once and the call made on our copy. */
static int handle_owner(struct job *j, struct pgkg_guard *g, const struct pgkg_sigcall *sc,
			bool *cont)
{
	struct emulation e = {.sc = sc, .fd = -1};
	long owner;
	int r;

	if (sc->owner_arg == PGKG_OWNER_REG) {
		r = owner_refused(j, g, sc, sc->pid);
		*cont = r == 0;
		return r;
	}
	r = sc->owner_arg == PGKG_OWNER_EX ? read_caller_mem(j, sc->ptr, &e.ex, sizeof(e.ex))
					   : read_caller_mem(j, sc->ptr, &e.owner, sizeof(e.owner));
	if (r < 0)
		return r;
	owner = sc->owner_arg == PGKG_OWNER_EX ? pgkg_sigcall_owner_ex(e.ex.type, e.ex.pid) : e.owner;
	if ((r = owner_refused(j, g, sc, owner)) != 0)
		return r;
	if ((e.fd = copy_caller_fd(j, (int)(uint32_t)j->req.data.args[0])) < 0)
		return e.fd == -EBADF ? -EBADF : -EPERM;
	r = act_for_caller(j, do_set_owner, &e);
	close(e.fd);
	return r;
}

/* pidfd_send_signal: copy the fd, resolve and judge it, then (unless the
 * guard answered) make the call on our copy as the caller.  Never CONTINUE. */
static int handle_fd(struct job *j, struct pgkg_guard *g, const struct pgkg_sigcall *sc)
{
	struct emulation e = {.sc = sc};
	enum pgkg_fd_kind kind;
	enum pgkg_verdict v;
	siginfo_t info;
	long pid;
	int r;

	if ((e.fd = copy_caller_fd(j, sc->fd)) < 0)
		return e.fd == -EBADF ? -EBADF : -EPERM;	/* unreadable: refused */
	pid = pgkg_fd_target(procroot, e.fd, &kind);
	if (kind == PGKG_FD_PIDFD || kind == PGKG_FD_PROCDIR) {
		struct pgkg_call call = pgkg_sigcall_fd_call(sc, pid, kind == PGKG_FD_PIDFD ? e.fd : -1);
		v = supervisor_thread(j->s, call.pid < 0 ? -call.pid : call.pid) ? refuse_supervisor()
										     : pgkg_guard_call(g, &call);
	} else if (kind == PGKG_FD_UNVERIFIED ||
		   (kind == PGKG_FD_GONE && (sc->flags & PIDFD_SIGNAL_PROCESS_GROUP))) {
		/* a group through an exited leader still reaches its members: which
		 * group cannot be known any more (R1-7) */
		v = pgkg_guard_unverified_fd(g, sc->how, sc->fd, sc->sig);
	} else {
		v = PGKG_PASS;	/* not a process fd, or exited: the kernel will say so */
	}
	r = -pgkg_verdict_errno(v);
	if (v == PGKG_PASS) {
		if (sc->ptr && read_caller_mem(j, sc->ptr, &info, sizeof(info)) < 0)
			r = -EFAULT;
		else {
			e.info = sc->ptr ? &info : NULL;
			r = act_for_caller(j, do_pidfd_send_signal, &e);
		}
	}
	close(e.fd);
	return r;
}

static int handle_pid(struct job *j, struct pgkg_guard *g, const struct pgkg_sigcall *sc,
		      bool *cont)
{
	long who = sc->pid < -1 ? -sc->pid : sc->pid;
	struct pgkg_call call = pgkg_sigcall_pid_call(sc);
	enum pgkg_verdict v = supervisor_thread(j->s, who) ? refuse_supervisor()
							    : pgkg_guard_call(g, &call);

	*cont = v == PGKG_PASS;
	return -pgkg_verdict_errno(v);
}

/* The tracer whose PTRACE_KILL was refused: gdb would wait for ever for a
 * death that will not come, with the backend stopped (and a stopped backend
 * holding a spinlock makes the cluster PANIC).  The supervisor cannot
 * detach for it; ending the tracer (as the caller, who may end itself)
 * makes the kernel detach every tracee; the tracee is then continued. */
struct release {
	pid_t tracer, tracee;
};

static int end_tracer(void *p)
{
	const struct release *r = p;

	pgkg_raw(SYS_kill, r->tracer, SIGKILL, 0, 0);
	for (int i = 0; i < 200; i++) {	/* up to 2 s for the kernel to detach */
		struct pgkg_procstat st;
		if (pgkg_read_stat(procroot, r->tracer, &st) < 0 || st.state == 'Z')
			break;
		usleep(10000);
	}
	pgkg_raw(SYS_kill, r->tracee, SIGCONT, 0, 0);
	return 0;
}

/* ptrace: judged with the preload library's rules; the request, pid and data
 * are registers, so a pass is CONTINUE. */
static int handle_ptrace(struct job *j, struct pgkg_guard *g, const struct pgkg_sigcall *sc,
			 bool *cont)
{
	enum pgkg_verdict v;

	if (pgkg_ptrace_class(sc->request, (long)sc->ptr) == PGKG_PTRACE_OTHER || sc->pid <= 0) {
		*cont = true;
		return 0;
	}
	v = supervisor_thread(j->s, sc->pid) ? refuse_supervisor()
					      : pgkg_guard_ptrace(g, sc->request, (pid_t)sc->pid, (long)sc->ptr);
	*cont = v == PGKG_PASS;
	if (v == PGKG_DENY && sc->request == PTRACE_KILL) {
		struct release r = {j->caller.tgid, (pid_t)sc->pid};
		pgkg_say(2, "the debugger that asked for PTRACE_KILL is ended so that the process it "
			    "holds stopped is released (it cannot wait for a death that will not come)");
		pgkg_act_as(&j->caller, j->caller_cap_kill, end_tracer, &r);
	}
	return -pgkg_verdict_errno(v);
}

/* The call's name: native and 32-bit by libseccomp's tables; x32 calls come
 * as x86-64 with bit 30 set in the number.  false: not one we know (refused). */
static bool decode(const struct seccomp_notif *req, struct pgkg_sigcall *sc)
{
	char *name = seccomp_syscall_resolve_num_arch(req->data.arch, req->data.nr);
	enum pgkg_sysc kind;
	uint64_t args[6];

	if (!name && req->data.arch == SCMP_ARCH_X86_64 && (req->data.nr & 0x40000000))
		name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X32, req->data.nr);
	kind = pgkg_sysc_from_name(name);
	free(name);
	for (int i = 0; i < 6; i++)
		args[i] = req->data.args[i];
	pgkg_sigcall_decode(kind, args, sc);
	return kind != PGKG_SC_NONE;
}

/* Decide one call; fill resp (CONTINUE, 0, or an error). */
static void handle(struct job *j, struct seccomp_notif_resp *resp)
{
	struct pgkg_guard g;
	struct pgkg_sigcall sc;
	bool cont = false;
	int r;

	resp->id = j->req.id;
	resp->flags = 0;
	resp->error = -EPERM;	/* unknown means no */
	if (!decode(&j->req, &sc))
		return;		/* a notified call we cannot name: refused */
	if (sc.kind == PGKG_SIGCALL_NONE) {
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;	/* signal 0, not an owner call */
		return;
	}
	fill_guard(j, &g);
	if (read_caller(j, &g) < 0 || seccomp_notify_id_valid(j->s->listener, j->req.id) != 0)
		return;		/* gone: nobody waits for the answer */
	if (sc.kind == PGKG_SIGCALL_OWNER)
		r = handle_owner(j, &g, &sc, &cont);
	else if (sc.kind == PGKG_SIGCALL_PTRACE)
		r = handle_ptrace(j, &g, &sc, &cont);
	else if (sc.kind == PGKG_SIGCALL_FD)
		r = handle_fd(j, &g, &sc);
	else
		r = handle_pid(j, &g, &sc, &cont);
	if (cont)
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	resp->error = cont ? 0 : r;
}

/*
 * The common case first: a call by process id to a process that is not a
 * server (pgkg_guard_quick: one read of /proc/PID/comm) is CONTINUE, and one
 * to a pid nobody holds is ESRCH (answered, never passed on),
 * on the receiving thread, without reading the caller.  Native calls whose
 * first argument is a process, not a thread: tkill, and other ABIs, take
 * the full path.
 */
static enum pgkg_quick quick_pass(const struct sup *s, const struct seccomp_notif *req)
{
	const __u64 *x = req->data.args;
	long pid;
	int sig;

	if (req->data.arch != (__u32)seccomp_arch_native())
		return PGKG_QUICK_CHECK;
	switch (req->data.nr) {
	case SYS_kill: case SYS_rt_sigqueueinfo:
		pid = (int)(uint32_t)x[0], sig = (int)(uint32_t)x[1];
		break;
	case SYS_tgkill: case SYS_rt_tgsigqueueinfo:
		pid = (int)(uint32_t)x[0], sig = (int)(uint32_t)x[2];
		break;
	default:
		return PGKG_QUICK_CHECK;
	}
	if (pid <= 0 || targets_supervisor(s, pid))
		return PGKG_QUICK_CHECK;
	return pgkg_guard_quick(procroot, pid, sig, (pid_t)req->pid);
}

/* ---- the supervisor ---- */

static void respond(struct sup *s, struct seccomp_notif_resp *resp)
{
	if (seccomp_notify_id_valid(s->listener, resp->id) == 0)
		seccomp_notify_respond(s->listener, resp);
}

static void run_job(struct job *j)
{
	struct seccomp_notif_resp resp;

	memset(&resp, 0, sizeof(resp));
	handle(j, &resp);
	respond(j->s, &resp);
}

static void *job_thread(void *p)
{
	struct job *j = p;
	struct sup *s = j->s;
	int slot = pgkg_actas_register((pid_t)pgkg_raw(SYS_gettid, 0, 0, 0, 0));

	run_job(j);
	pgkg_actas_unregister(slot);
	free(j);
	pthread_mutex_lock(&s->lock);
	if (--s->in_flight == 0)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* A thread for the notification, or the receiving thread itself when too
 * many are in flight or none can be started. */
static void dispatch(struct sup *s, const struct seccomp_notif *req)
{
	struct job *j = calloc(1, sizeof(*j));
	pthread_attr_t attr;
	pthread_t t;
	bool started = false;

	if (!j) {
		struct seccomp_notif_resp resp = {.id = req->id, .error = -EPERM};
		respond(s, &resp);	/* no memory to decide: refused */
		return;
	}
	j->s = s;
	memcpy(&j->req, req, sizeof(*req));
	pthread_mutex_lock(&s->lock);
	if (s->in_flight < MAX_IN_FLIGHT) {
		s->in_flight++;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		started = pthread_create(&t, &attr, job_thread, j) == 0;
		pthread_attr_destroy(&attr);
		if (!started)
			s->in_flight--;
	}
	pthread_mutex_unlock(&s->lock);
	if (!started) {
		run_job(j);
		free(j);
	}
}

static void serve_one(struct sup *s, struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
	memset(req, 0, sizeof(*req));
	if (seccomp_notify_receive(s->listener, req) < 0)
		return;		/* the caller was interrupted: it will call again */
	switch (quick_pass(s, req)) {
	case PGKG_QUICK_PASS:
		memset(resp, 0, sizeof(*resp));
		resp->id = req->id;
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		respond(s, resp);
		return;
	case PGKG_QUICK_GONE:
		/* never CONTINUE a kill of a pid nobody holds yet: the postmaster
		 * could fork a backend into it before the kernel acts */
		memset(resp, 0, sizeof(*resp));
		resp->id = req->id;
		resp->error = -ESRCH;
		respond(s, resp);
		return;
	default:
		dispatch(s, req);
	}
}

static void wait_idle(struct sup *s)
{
	pthread_mutex_lock(&s->lock);
	while (s->in_flight)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

/* Serve until the command exits; returns its wait status. */
static int serve(struct sup *s)
{
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	int child_fd = pidfd_open(s->child, 0), status = 0;

	if (child_fd < 0 || seccomp_notify_alloc(&req, &resp) < 0)
		die_errno("supervisor set-up");
	for (;;) {
		struct pollfd p[2] = {{.fd = s->listener, .events = POLLIN},
				      {.fd = child_fd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			die_errno("poll");
		if (p[0].revents & POLLIN)
			serve_one(s, req, resp);
		if (p[1].revents & POLLIN) {
			while (waitpid(s->child, &status, 0) < 0 && errno == EINTR)
				;
			break;
		}
	}
	seccomp_notify_free(req, resp);
	close(child_fd);
	wait_idle(s);	/* every notification taken is answered before we go on */
	return status;
}

/* The command has exited; if processes it left behind still hold the filter,
 * keep serving them from a detached copy, and return at once. */
static void serve_leftovers(struct sup *s)
{
	struct pollfd p = {.fd = s->listener, .events = POLLIN};
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;

	if (poll(&p, 1, 0) >= 0 && (p.revents & POLLHUP))
		return;
	if (fork() != 0)
		return;
	setsid();
	s->rewriter = pgkg_rewriter_new(procroot);	/* the parent's connections go with it */
	if (!s->rewriter)
		_exit(1);
	if (seccomp_notify_alloc(&req, &resp) < 0)
		_exit(1);
	s->self = getpid();
	for (;;) {
		p.revents = 0;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		if (p.revents & POLLIN)
			serve_one(s, req, resp);
		else if (p.revents & (POLLHUP | POLLERR))
			break;
	}
	wait_idle(s);
	_exit(0);
}

static int exit_like(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		prctl(PR_SET_DUMPABLE, 0);
		kill(getpid(), WTERMSIG(status));
		return 128 + WTERMSIG(status);
	}
	return 1;
}

static void ignore_report(void *ctx, const char *file, int line, const char *msg)
{
}

/* Everything that needs root happens before this; then root is left. */
static void lose_root(void)
{
	int r;

	if (geteuid() != 0)
		return;
	if ((r = pgkg_drop_privileges()) < 0) {
		errno = -r;
		die_errno("cannot give up root in the supervisor");
	}
}

int pgkg_supervise(char **cmd, const struct pgkg_exec_opts *o)
{
	static struct pgkg_policy policy;
	struct sup s = {.policy = &policy, .rw_lock = PTHREAD_MUTEX_INITIALIZER,
			.lock = PTHREAD_MUTEX_INITIALIZER, .idle = PTHREAD_COND_INITIALIZER};
	int sv[2], status;

	/* setuid (login-shell wrapper): only a root-owned policy is trusted */
	pgkg_policy_load_named(&policy, o->policy_path, getauxval(AT_SECURE) ? 0 : getuid(),
			       ignore_report, NULL);
	s.userns = userns_of("/proc/self/ns/user");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die_errno("socketpair");
	for (size_t i = 0; i < sizeof(supervisor_ignores) / sizeof(int); i++)
		signal(supervisor_ignores[i], SIG_IGN);
	s.self = getpid();
	if ((s.child = fork()) < 0)
		die_errno("fork");
	if (s.child == 0) {
		close(sv[0]);
		child_main(sv[1], cmd, o);
	}
	close(sv[1]);
	forward_to = s.child;
	for (size_t i = 0; i < sizeof(supervisor_forwards) / sizeof(int); i++) {
		struct sigaction sa = {.sa_handler = forward, .sa_flags = SA_RESTART};
		sigaction(supervisor_forwards[i], &sa, NULL);
	}
	prctl(PR_SET_DUMPABLE, 0);	/* no ptrace, no /proc/PID/mem for the guarded user */
	s.listener = pgkg_fdpass_recv_fd(sv[0]);
	/* A guarded call waits for us: hand over the CPU instead of waking us on
	 * another one (~25 -> ~6 us a round trip; older kernels say EINVAL). */
	if (s.listener >= 0)
		ioctl(s.listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	if (s.listener < 0) {
		while (waitpid(s.child, &status, 0) < 0 && errno == EINTR)
			;
		return exit_like(status);	/* the child said why */
	}
	if (!(s.rewriter = pgkg_rewriter_new(procroot)))
		die("out of memory");
	lose_root();
	/* go: the command may start now */
	if (write(sv[0], "G", 1) != 1)
		die_errno("cannot start the command");
	close(sv[0]);
	status = serve(&s);
	serve_leftovers(&s);
	pgkg_rewriter_free(s.rewriter);
	return exit_like(status);
}

/* ---- `pgkillguard exec` ---- */

int pgkg_cmd_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"policy", required_argument, NULL, 'P'},
		{NULL, 0, NULL, 0},
	};
	struct pgkg_exec_opts o = {.no_new_privs = geteuid() != 0};
	int c;

	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (c != 'P')
			die("usage: pgkillguard exec [--policy FILE] -- COMMAND [ARG...]");
		o.policy_path = optarg;
	}
	if (!o.policy_path && getenv("PGKILLGUARD_POLICY") && *getenv("PGKILLGUARD_POLICY"))
		o.policy_path = getenv("PGKILLGUARD_POLICY");
	if (optind >= argc)
		die("usage: pgkillguard exec [--policy FILE] -- COMMAND [ARG...]");
	return pgkg_supervise(argv + optind, &o);
}
