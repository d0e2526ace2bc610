/*
 * preload.c - libpgkillguard.so, the LD_PRELOAD front-end.
 *
 * Rules:
 *  1. No work at load time: no constructor, no TLS, no symbol lookups.
 *  2. The pass-through path (signal 0, the caller itself, a target whose
 *     comm is not a server name) MUST NOT allocate, lock, use stdio or
 *     resolve symbols; it makes at most one /proc read and the raw system
 *     call, and leaves errno exactly as the kernel would.
 *  3. The slow path (a server-named target) maps its working storage,
 *     never calls malloc, and never dies: any failure to decide lets
 *     non-fatal signals through and refuses fatal and stop ones (EPERM).
 *  4. Exported: kill, killpg, sigqueue, tgkill, pidfd_send_signal, ptrace,
 *     syscall (shim/preload.map); everything else is hidden.
 *  5. ptrace: only ATTACH/SEIZE, KILL and resumes carrying a fatal signal
 *     are looked at (one /proc/PID/comm read for a non-server target);
 *     PEEK/POKE and every other request go straight to the kernel.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audit.h"
#include "guard.h"
#include "helperlink.h"
#include "rawsys.h"
#include "sigcall.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define API __attribute__((visibility("default")))

static const char procroot[] = "/proc";

static const char *setting(const char *name)
{
	if (getauxval(AT_SECURE))
		return NULL;	/* setuid/setgid/capabilities: no environment overrides */
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* ---- front-end services for the guard ---- */

static int lib_can_signal(struct pgkg_guard *g, pid_t pid)
{
	long r = pgkg_raw(SYS_kill, pid, 0, 0, 0);

	return r < 0 ? (int)r : 0;
}

static void lib_rewrite(struct pgkg_guard *g, const struct pgkg_rw_req *req, int pidfd,
			struct pgkg_rw_rep *rep)
{
	pgkg_helper_rewrite(setting("PGKILLGUARD_HELPER"), req, pidfd, rep);
}

/* The direct route: this process IS the caller, so a raw system call here
 * carries the caller's own credentials.  SIGTERM/SIGINT only. */
static int lib_signal_target(struct pgkg_guard *g, int pidfd, pid_t pid, int sig)
{
	long r;

	if (sig != SIGTERM && sig != SIGINT)
		return -EINVAL;
	if (pidfd >= 0)
		r = pgkg_raw(SYS_pidfd_send_signal, pidfd, sig, 0, 0);
	else
		r = pgkg_raw(SYS_kill, pid, sig, 0, 0);
	return r < 0 ? (int)r : 0;
}

/* The slow path's storage, mapped per call: the guard's scratch and the policy. */
struct storage {
	struct pgkg_guard_ws ws;
	struct pgkg_policy policy;
};

static void lib_load_policy(struct pgkg_guard *g)
{
	struct storage *st = g->priv;

	pgkg_policy_load_named(&st->policy, setting("PGKILLGUARD_POLICY"), getuid(), NULL, NULL);
	g->policy = &st->policy;
}

/* The signal of our tracee's current signal-delivery stop, or 0. */
static int lib_stop_signal(struct pgkg_guard *g, pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (pgkg_raw(SYS_ptrace, PTRACE_GETSIGINFO, pid, 0, (long)&si) < 0)
		return 0;
	return si.si_signo;
}

static const struct pgkg_guard_ops lib_ops = {
	.can_signal = lib_can_signal,
	.rewrite = lib_rewrite,
	.load_policy = lib_load_policy,
	.signal_target = lib_signal_target,
	.stop_signal = lib_stop_signal,
};

static void fill_caller(struct pgkg_guard *g, pid_t self)
{
	struct pgkg_caller *c = &g->caller;
	int n;

	c->pid = self;
	c->uid = getuid();
	c->gid = getgid();
	n = getgroups((int)(sizeof(c->groups) / sizeof(c->groups[0])), c->groups);
	c->ngroups = n > 0 ? n : 0;
	if (prctl(PR_GET_NAME, c->comm, 0, 0, 0) < 0)
		c->comm[0] = '\0';
	c->comm[sizeof(c->comm) - 1] = '\0';
	g->caller_ppid = getppid();
	g->caller_pgrp = getpgrp();
}

/* Could not get working storage: fail closed for fatal and stop signals only. */
static enum pgkg_verdict no_storage(int sig)
{
	if (sig < 1 || sig > 64 || !((pgkg_sigset_fatal() | pgkg_sigset_stop()) & PGKG_SIGBIT(sig)))
		return PGKG_PASS;
	pgkg_say(2, "a fatal signal to a PostgreSQL process was refused: out of memory to "
		    "check it (mmap failed)");
	return PGKG_DENY;
}

/* The guard with mapped working storage; unverified: refuse an fd we could
 * not verify instead of judging a pid. */
static enum pgkg_verdict slow_path(const struct pgkg_call *call, pid_t self, bool unverified)
{
	struct pgkg_guard g = {.procroot = procroot, .ops = &lib_ops, .msg_fd = 2};
	const char *log = setting("PGKILLGUARD_SYSLOG");
	struct storage *st;
	enum pgkg_verdict v;

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		return unverified ? PGKG_DENY : no_storage(call->sig);
	g.ws = &st->ws;
	g.priv = st;
	g.syslog_path = log ? log : "/dev/log";
	fill_caller(&g, self);
	v = unverified ? pgkg_guard_unverified_fd(&g, call->how, call->pidfd, call->sig)
		       : pgkg_guard_call(&g, call);
	munmap(st, sizeof(*st));
	return v;
}

static pid_t self_pid(void)
{
	return (pid_t)pgkg_raw(SYS_getpid, 0, 0, 0, 0);
}

/* A call by pid (or group, or broadcast). */
static enum pgkg_verdict check(const struct pgkg_call *call)
{
	pid_t self = self_pid();

	if (pgkg_guard_quick_pass(procroot, call->pid, call->sig, self))
		return PGKG_PASS;
	return slow_path(call, self, false);
}

/* pidfd_send_signal: resolve the fd (ours: we are the caller), then judge
 * what the kernel will signal (sigcall.h). */
static enum pgkg_verdict check_fd(const struct pgkg_sigcall *sc)
{
	enum pgkg_fd_kind kind;
	long pid = pgkg_fd_target(procroot, sc->fd, &kind);
	struct pgkg_call call;

	switch (kind) {
	case PGKG_FD_PIDFD:
	case PGKG_FD_PROCDIR:
		/* a /proc dir fd polls readable at once: never a pin for the wait */
		call = pgkg_sigcall_fd_call(sc, pid, kind == PGKG_FD_PIDFD ? sc->fd : -1);
		return check(&call);
	case PGKG_FD_GONE:
		if (!(sc->flags & PIDFD_SIGNAL_PROCESS_GROUP))
			return PGKG_PASS;	/* exited: the kernel says ESRCH */
		/* a group through an exited leader: which group is unknown */
		__attribute__((fallthrough));
	case PGKG_FD_UNVERIFIED:
		call = (struct pgkg_call){.how = sc->how, .sig = sc->sig, .pidfd = sc->fd};
		return slow_path(&call, self_pid(), true);
	default:
		return PGKG_PASS;	/* not a process fd, or exited: the kernel answers */
	}
}

/* Decode (sigcall.c, shared with the supervisor) and judge one call. */
static enum pgkg_verdict judge(enum pgkg_sysc nr, long a, long b, long c, long d)
{
	const uint64_t args[6] = {(uint64_t)a, (uint64_t)b, (uint64_t)c, (uint64_t)d, 0, 0};
	struct pgkg_sigcall sc;
	struct pgkg_call call;
	enum pgkg_verdict v = PGKG_PASS;
	int saved;

	pgkg_sigcall_decode(nr, args, &sc);
	if (sc.kind != PGKG_SIGCALL_PID && sc.kind != PGKG_SIGCALL_FD)
		return PGKG_PASS;	/* signal 0 above all: no system call at all */
	saved = errno;
	if (sc.kind == PGKG_SIGCALL_FD) {
		v = check_fd(&sc);
	} else {
		call = pgkg_sigcall_pid_call(&sc);
		v = check(&call);
	}
	errno = saved;
	return v;
}

/* PASS: make the original system call; otherwise answer it.  GONE (no such
 * process when judged) is passed on too: the library is a seatbelt, and a
 * program in a pid namespace of its own may see pids our /proc does not. */
static long answer(enum pgkg_verdict v, long nr, long a, long b, long c, long d)
{
	if (v == PGKG_DONE)
		return 0;
	if (v == PGKG_DENY) {
		errno = EPERM;
		return -1;
	}
	return pgkg_raw_errno(pgkg_raw(nr, a, b, c, d));
}

/* ---- the interposed functions ---- */

API int kill(pid_t pid, int sig)
{
	return (int)answer(judge(PGKG_SC_KILL, pid, sig, 0, 0), SYS_kill, pid, sig, 0, 0);
}

API int killpg(pid_t pgrp, int sig)
{
	if (pgrp < 0) {
		errno = EINVAL;
		return -1;
	}
	return (int)answer(judge(PGKG_SC_KILL, -(long)pgrp, sig, 0, 0), SYS_kill, -(long)pgrp, sig,
			   0, 0);
}

API int sigqueue(pid_t pid, int sig, const union sigval value)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	info.si_signo = sig;
	info.si_code = SI_QUEUE;
	info.si_pid = self_pid();
	info.si_uid = getuid();
	info.si_value = value;
	return (int)answer(judge(PGKG_SC_RT_SIGQUEUEINFO, pid, sig, (long)&info, 0),
			   SYS_rt_sigqueueinfo, pid, sig, (long)&info, 0);
}

API int tgkill(pid_t tgid, pid_t tid, int sig)
{
	return (int)answer(judge(PGKG_SC_TGKILL, tgid, tid, sig, 0), SYS_tgkill, tgid, tid, sig, 0);
}

API int pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags)
{
	return (int)answer(judge(PGKG_SC_PIDFD_SEND_SIGNAL, pidfd, sig, (long)info, flags),
			   SYS_pidfd_send_signal, pidfd, sig, (long)info, flags);
}

/* ---- ptrace: attaching warns, fatal signals through ptrace are judged ---- */

static enum pgkg_verdict ptrace_slow_path(long request, pid_t pid, long data, pid_t self)
{
	struct pgkg_guard g = {.procroot = procroot, .ops = &lib_ops, .msg_fd = 2};
	const char *log = setting("PGKILLGUARD_SYSLOG");
	struct storage *st;
	enum pgkg_verdict v;

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		return pgkg_ptrace_class(request, data) == PGKG_PTRACE_SIGNAL ? no_storage(SIGKILL)
									      : PGKG_PASS;
	g.ws = &st->ws;
	g.priv = st;
	g.syslog_path = log ? log : "/dev/log";
	g.detach_on_ptrace_kill = true;
	fill_caller(&g, self);
	v = pgkg_guard_ptrace(&g, request, pid, data);
	/* gdb's kill waits for the death it asked for: let the tracee go instead. */
	if (v == PGKG_DENY && request == PTRACE_KILL)
		pgkg_raw(SYS_ptrace, PTRACE_DETACH, pid, 0, 0);
	munmap(st, sizeof(*st));
	return v;
}

/* PEEK/POKE/GETREGS and plain resumes: no system call, no /proc read. */
static enum pgkg_verdict check_ptrace(long request, long pid, long data)
{
	if (pgkg_ptrace_class(request, data) == PGKG_PTRACE_OTHER || pid <= 0 || pid > INT32_MAX)
		return PGKG_PASS;

	pid_t self = self_pid();
	int saved = errno;
	enum pgkg_verdict v = PGKG_PASS;

	if (!pgkg_guard_quick_pass(procroot, pid, SIGKILL, self))
		v = ptrace_slow_path(request, (pid_t)pid, data, self);
	errno = saved;
	return v;
}

API long ptrace(enum __ptrace_request request, ...)
{
	va_list ap;
	pid_t pid;
	void *addr, *data;
	long ret = 0, res;

	/* As glibc's: PEEKTEXT/PEEKDATA/PEEKUSER return the word read. */
	va_start(ap, request);
	pid = va_arg(ap, pid_t);
	addr = va_arg(ap, void *);
	data = va_arg(ap, void *);
	va_end(ap);
	enum pgkg_verdict v = check_ptrace((long)request, pid, (long)data);
	if (v != PGKG_PASS)
		return answer(v, 0, 0, 0, 0, 0);
	if (request > 0 && request < 4)
		data = &ret;
	res = pgkg_raw_errno(pgkg_raw(SYS_ptrace, (long)request, pid, (long)addr, (long)data));
	if (res >= 0 && request > 0 && request < 4) {
		errno = 0;
		return ret;
	}
	return res;
}

API long syscall(long nr, ...)
{
	long a, b, c, d, e, f;
	enum pgkg_sysc sc = pgkg_sysc_from_nr(nr);
	va_list ap;

	/* Like libc's: six register-sized arguments, whatever the caller passed. */
	va_start(ap, nr);
	a = va_arg(ap, long);
	b = va_arg(ap, long);
	c = va_arg(ap, long);
	d = va_arg(ap, long);
	e = va_arg(ap, long);
	f = va_arg(ap, long);
	va_end(ap);
	enum pgkg_verdict v = sc == PGKG_SC_NONE ? PGKG_PASS : judge(sc, a, b, c, d);
	if (nr == SYS_ptrace)
		v = check_ptrace(a, b, d);
	if (v == PGKG_PASS)
		return pgkg_raw_errno(pgkg_raw6(nr, a, b, c, d, e, f));
	return answer(v, nr, a, b, c, d);
}
