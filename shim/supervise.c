/*
 * supervise.c - `pgkillguard exec`: the enforced front-end.
 *
 * The command runs under a seccomp filter that hands every kill-family
 * system call with a non-zero signal to this supervisor (user notification).
 * Static binaries, Go programs and raw system calls are caught too.
 *
 * Rules:
 *  1. The child loads the filter, passes the listener fd over a socketpair
 *     and execs, calling nothing that could be notified in between.
 *  2. A call by pid that passes is answered CONTINUE: the kernel then does
 *     it with the caller's own credentials.  A pidfd call is never a blind
 *     CONTINUE (the fd could be swapped after we looked): we duplicate the
 *     fd, decide on our copy, check the caller's own right to signal, and
 *     make the call ourselves on that copy.
 *  3. The notification is checked to be still valid before any answer.
 *  4. Inside the session no process can install a seccomp listener of its
 *     own (EPERM): otherwise it could answer CONTINUE to its own kills.
 *  5. If the supervisor dies, the kernel fails every guarded call (ENOSYS)
 *     and the command itself gets SIGKILL (parent-death signal).
 *  6. Signals from the session to the supervisor are refused; it is not
 *     dumpable, so the guarded user cannot ptrace it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "guard.h"
#include "rawsys.h"
#include "rewrite.h"
#include "supervise.h"
#include "util.h"

#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1U << 2)
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
/* Linux 6.6: wake the supervisor on the caller's CPU, and the caller on ours. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS _IOW('!', 4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

static const char procroot[] = "/proc";

/* Where the signal number sits, per guarded system call. */
static const struct {
	const char *name;
	unsigned sig_arg;
} guarded[] = {
	{"kill", 1}, {"tkill", 1}, {"tgkill", 2},
	{"rt_sigqueueinfo", 1}, {"rt_tgsigqueueinfo", 2}, {"pidfd_send_signal", 1},
};

/*
 * Signals by proxy: a file's owner (F_SETOWN and friends) receives SIGIO,
 * or the signal F_SETSIG chose, whenever I/O is possible on it.  Naming a
 * backend as the owner of an O_ASYNC pipe kills it as surely as kill -9
 * (SIGIO's default action is terminate: a crash-restart).  These calls are
 * notified, and refused when they name a PostgreSQL process.
 */
static const struct {
	const char *name;
	unsigned long request;
} owner_calls[] = {
	{"fcntl", F_SETOWN}, {"fcntl", F_SETOWN_EX},
	{"fcntl64", F_SETOWN}, {"fcntl64", F_SETOWN_EX},
	{"ioctl", FIOSETOWN}, {"ioctl", SIOCSPGRP},
};

struct creds {
	pid_t tgid;
	uid_t uid, euid, suid;
	int cap_kill;
	pid_t session;
};

struct sup {
	int listener;
	pid_t child;
	pid_t self;
	struct pgkg_rewriter *rw;
	struct pgkg_guard_ws *ws;
	struct creds caller;	/* the process behind the current notification */
	const char *policy_path;
	uid_t policy_uid;
	bool policy_loaded;
};

static struct sup *current;	/* for the guard callbacks */

/* ---- the filter (runs in the child) ---- */

static int add_rules(scmp_filter_ctx ctx)
{
	int r = 0;

	for (size_t i = 0; i < sizeof(guarded) / sizeof(guarded[0]) && !r; i++) {
		int nr = seccomp_syscall_resolve_name(guarded[i].name);
		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 1,
				     /* datum_b given too: clang warns on a half-filled struct */
				     SCMP_CMP32(guarded[i].sig_arg, SCMP_CMP_NE, 0, 0));
	}
	for (size_t i = 0; i < sizeof(owner_calls) / sizeof(owner_calls[0]) && !r; i++) {
		int nr = seccomp_syscall_resolve_name(owner_calls[i].name);
		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 1,
				     SCMP_CMP32(1, SCMP_CMP_EQ, owner_calls[i].request, 0));
		if (r == -EDOM || r == -EINVAL)
			r = 0;	/* fcntl64 exists on 32-bit ABIs only */
	}
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(seccomp), 1,
				     SCMP_A1_64(SCMP_CMP_MASKED_EQ, SECCOMP_FILTER_FLAG_NEW_LISTENER,
						SECCOMP_FILTER_FLAG_NEW_LISTENER));
	return r;
}

/* A filter whose listener fd comes back in *fd; NULL and an error on failure. */
static scmp_filter_ctx build_filter(bool nnp, const char **what)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx) {
		*what = "seccomp_init";
		return NULL;
	}
	/* 32-bit and x32 programs must not die on their first system call. */
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		seccomp_arch_add(ctx, SCMP_ARCH_X86);
		seccomp_arch_add(ctx, SCMP_ARCH_X32);
	}
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, nnp)) < 0 || (r = add_rules(ctx)) < 0) {
		*what = "building the seccomp filter";
		seccomp_release(ctx);
		errno = -r;
		return NULL;
	}
	return ctx;
}

static int send_fd(int sock, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u = {0};
	char byte = 'L';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

/* Terminal-generated signals reach the command's process group anyway. */
static const int supervisor_ignores[] = {SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE};
/* A hangup or a stop request for the session goes on to the command. */
static const int supervisor_forwards[] = {SIGHUP, SIGTERM};
static volatile pid_t forward_to;

static void forward(int sig)
{
	int saved = errno;

	if (forward_to > 0)
		kill(forward_to, sig);
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
	if (!(ctx = build_filter(o->no_new_privs, &what)))
		die_errno("%s", what);
	if (seccomp_load(ctx) < 0)
		die("cannot load the seccomp filter (kernel 5.5 or later is needed)");
	if ((fd = seccomp_notify_fd(ctx)) < 0 || send_fd(sock, fd) < 0)
		die("cannot hand the seccomp listener to the supervisor");
	close(fd);
	close(sock);
	seccomp_release(ctx);
	/* Only now: loading a filter without no_new_privs needs root. */
	if (o->drop_to_user && o->drop_to_user(o->drop_ctx) < 0)
		die_errno("cannot drop to the invoking user");
	/* After any change of credentials, which clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
		_exit(127);	/* the supervisor is already gone */
	if (o->path)
		execv(o->path, cmd);
	else
		execvp(cmd[0], cmd);
	die_errno("%s", o->path ? o->path : cmd[0]);
}

/* ---- reading the caller ---- */

/* The numbers after "Key:" in /proc/PID/status, up to n of them. */
static int status_field_base(const char *status, const char *key, long long *v, int n, int base)
{
	const char *p = strstr(status, key);
	int got = 0;

	if (!p)
		return 0;
	p += strlen(key);
	while (got < n) {
		char *end;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || !*p)
			break;
		v[got++] = strtoll(p, &end, base);
		if (end == p)
			break;
		p = end;
	}
	return got;
}

static int status_field(const char *status, const char *key, long long *v, int n)
{
	return status_field_base(status, key, v, n, 10);
}

static int read_status(pid_t pid, char *buf, size_t cap)
{
	char path[64];

	snprintf(path, sizeof(path), "%s/%d/status", procroot, pid);
	return pgkg_read_file(path, buf, cap) > 0 ? 0 : -ESRCH;
}

/* Credentials and identity of the thread that made the call. */
static int read_caller(pid_t tid, struct creds *c, struct pgkg_guard *g)
{
	char status[4096];
	long long v[64];
	struct pgkg_procstat st;
	int n;

	if (read_status(tid, status, sizeof(status)) < 0 || status_field(status, "\nTgid:", v, 1) != 1)
		return -ESRCH;
	c->tgid = (pid_t)v[0];
	if (status_field(status, "\nUid:", v, 4) != 4)
		return -ESRCH;
	c->uid = (uid_t)v[0], c->euid = (uid_t)v[1], c->suid = (uid_t)v[2];
	c->cap_kill = status_field_base(status, "\nCapEff:", v, 1, 16) == 1 && (v[0] & (1LL << 5));
	g->caller.pid = c->tgid;
	g->caller.uid = c->uid;
	if (status_field(status, "\nGid:", v, 1) == 1)
		g->caller.gid = (gid_t)v[0];
	n = status_field(status, "\nGroups:", v, 64);
	for (int i = 0; i < n; i++)
		g->caller.groups[i] = (gid_t)v[i];
	g->caller.ngroups = n;
	if (pgkg_read_stat(procroot, c->tgid, &st) < 0)
		return -ESRCH;
	memcpy(g->caller.comm, st.comm, sizeof(g->caller.comm));
	g->caller_ppid = st.ppid;
	g->caller_pgrp = st.pgrp;
	c->session = st.session;
	return 0;
}

/* ---- guard services ---- */

/* The kernel's rule (kill_ok_by_cred): uid or euid of the caller equals the
 * uid or saved uid of the target, or CAP_KILL, or CONT within the session. */
static int sup_can_signal(struct pgkg_guard *g, pid_t pid)
{
	const struct creds *c = &current->caller;
	char status[4096];
	long long v[4];
	struct pgkg_procstat st;

	if (read_status(pid, status, sizeof(status)) < 0 || status_field(status, "\nUid:", v, 4) != 4)
		return -ESRCH;
	if (c->cap_kill || c->euid == (uid_t)v[0] || c->euid == (uid_t)v[2] ||
	    c->uid == (uid_t)v[0] || c->uid == (uid_t)v[2])
		return 0;
	if (pgkg_read_stat(procroot, pid, &st) == 0 && st.session == c->session)
		return 0;	/* SIGCONT is allowed within a session: close enough for a guard */
	return -EPERM;
}

static void sup_rewrite(struct pgkg_guard *g, const struct pgkg_rw_req *req, int pidfd,
			struct pgkg_rw_rep *rep)
{
	pgkg_rewriter_run(current->rw, req, pidfd, rep);
}

static void sup_load_policy(struct pgkg_guard *g)
{
	if (current->policy_loaded)
		return;
	pgkg_guard_load_policy(&g->ws->policy, current->policy_path, current->policy_uid, NULL, NULL);
	current->policy_loaded = true;
}

/*
 * The direct route must act with the caller's exact credentials, never the
 * supervisor's own (it may be root).  Until then the guard reports the
 * direct route as unavailable (EPERM) and refuses the call.
 */
static int sup_signal_target(struct pgkg_guard *g, int pidfd, pid_t pid, int sig)
{
	/* lead: wire to the caller-credential worker */
	return -EPERM;
}

static const struct pgkg_guard_ops sup_ops = {
	.can_signal = sup_can_signal,
	.rewrite = sup_rewrite,
	.load_policy = sup_load_policy,
	.signal_target = sup_signal_target,
};

/* ---- one notification ---- */

struct call_args {
	const char *name;
	bool owner;		/* an F_SETOWN-like call: pid is the new owner */
	long pid;		/* target as passed (pid, tgid or resolved from the fd) */
	int sig;
	int fd;			/* pidfd_send_signal: our duplicate of the caller's fd */
	bool is_pidfd;		/* ... a real pidfd (not a /proc/PID directory fd) */
	unsigned flags;
	uint64_t info;		/* pidfd_send_signal: caller's siginfo pointer */
};

/* Our own copy of the caller's fd, and the pid it names (0 if none). */
static long dup_caller_fd(pid_t tgid, int fd, int *copy, bool *is_pidfd)
{
	int pfd = pidfd_open(tgid, 0);

	*copy = pfd < 0 ? -1 : pidfd_getfd(pfd, fd, 0);
	if (pfd >= 0)
		close(pfd);
	*is_pidfd = false;
	return *copy < 0 ? 0 : pgkg_fd_target(procroot, *copy, is_pidfd);
}

/* The owner an F_SETOWN-like call names: a pid, or -PGID for a group.
 * F_SETOWN passes it in a register; F_SETOWN_EX and the ioctls through the
 * caller's memory, read here (a racing thread could change it afterwards:
 * see SECURITY.md). */
static bool decode_owner(const char *name, const __u64 *x, struct call_args *a, pid_t tgid)
{
	struct f_owner_ex ex;
	int v;
	struct iovec local, remote = {(void *)(uintptr_t)x[2], 0};

	a->owner = true;
	a->name = name[0] == 'i' ? "ioctl(FIOSETOWN)" : "fcntl(F_SETOWN)";
	if (name[0] == 'f' && (unsigned)x[1] == F_SETOWN) {
		a->pid = (int)x[2];
		return true;
	}
	if (name[0] == 'f') {
		local = (struct iovec){&ex, sizeof(ex)};
		remote.iov_len = sizeof(ex);
		if (process_vm_readv(tgid, &local, 1, &remote, 1, 0) != sizeof(ex))
			return false;	/* the kernel will answer EFAULT */
		a->pid = ex.type == F_OWNER_PGRP ? -(long)ex.pid : ex.pid;
		return true;
	}
	local = (struct iovec){&v, sizeof(v)};
	remote.iov_len = sizeof(v);
	if (process_vm_readv(tgid, &local, 1, &remote, 1, 0) != sizeof(v))
		return false;
	a->pid = v;
	return true;
}

static bool decode(const struct seccomp_notif *req, struct call_args *a, pid_t tgid)
{
	char *name = seccomp_syscall_resolve_num_arch(req->data.arch, req->data.nr);
	const __u64 *x = req->data.args;
	bool ok = true;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	if (!name)
		return false;
	if (!strcmp(name, "kill") || !strcmp(name, "tkill") || !strcmp(name, "rt_sigqueueinfo"))
		a->name = !strcmp(name, "kill") ? "kill" : name[0] == 't' ? "tkill" : "rt_sigqueueinfo",
		a->pid = (int)x[0], a->sig = (int)x[1];
	else if (!strcmp(name, "tgkill") || !strcmp(name, "rt_tgsigqueueinfo"))
		a->name = name[0] == 't' ? "tgkill" : "rt_tgsigqueueinfo",
		a->pid = (int)x[0], a->sig = (int)x[2];
	else if (!strcmp(name, "pidfd_send_signal"))
		a->name = "pidfd_send_signal", a->sig = (int)x[1], a->info = x[2],
		a->flags = (unsigned)x[3], a->pid = dup_caller_fd(tgid, (int)x[0], &a->fd, &a->is_pidfd);
	else if (!strncmp(name, "fcntl", 5) || !strcmp(name, "ioctl"))
		ok = decode_owner(name, x, a, tgid);
	else
		ok = false;
	free(name);
	return ok;
}

/* PASS for a pidfd call: do it ourselves on our copy, with the caller's rights. */
static int emulate_pidfd(struct sup *s, const struct call_args *a, pid_t tgid)
{
	siginfo_t info, *ip = NULL;
	struct iovec local = {&info, sizeof(info)}, remote = {(void *)(uintptr_t)a->info, sizeof(info)};

	if (a->fd < 0)
		return -EBADF;
	if (a->pid > 0 && sup_can_signal(NULL, (pid_t)a->pid) < 0)
		return -EPERM;
	if (a->info) {
		if (process_vm_readv(tgid, &local, 1, &remote, 1, 0) != sizeof(info))
			return -EFAULT;
		ip = &info;
	}
	/* raw: a preloaded libpgkillguard.so must not judge the call a second time */
	long r = pgkg_raw(SYS_pidfd_send_signal, a->fd, a->sig, (long)ip, a->flags);
	return r < 0 ? (int)r : 0;
}

static void fill_guard(struct sup *s, struct pgkg_guard *g)
{
	memset(g, 0, sizeof(*g));
	g->procroot = procroot;
	g->ops = &sup_ops;
	g->ws = s->ws;
	g->msg_fd = 2;
	g->syslog_path = "/dev/log";
	if (!getauxval(AT_SECURE) && getenv("PGKILLGUARD_SYSLOG") && *getenv("PGKILLGUARD_SYSLOG"))
		g->syslog_path = getenv("PGKILLGUARD_SYSLOG");
}

static bool targets_supervisor(const struct sup *s, const struct call_args *a)
{
	return a->pid == s->self;
}

/*
 * The common case first: a call by process id to a process that is not a
 * server (pgkg_guard_quick_pass: one read of /proc/PID/comm) is CONTINUE,
 * without reading the caller's status and stat or resolving the call's name
 * (~25 us less per guarded kill()).  Native calls whose first argument is a
 * process, not a thread: tkill, and other ABIs, take the full path.
 */
static bool quick_pass(const struct sup *s, const struct seccomp_notif *req)
{
	const __u64 *x = req->data.args;
	long pid;
	int sig;

	if (req->data.arch != (__u32)seccomp_arch_native())
		return false;
	switch (req->data.nr) {
	case SYS_kill: case SYS_rt_sigqueueinfo:
		pid = (int)x[0], sig = (int)x[1];
		break;
	case SYS_tgkill: case SYS_rt_tgsigqueueinfo:
		pid = (int)x[0], sig = (int)x[2];
		break;
	default:
		return false;
	}
	return pid > 0 && pid != s->self && pgkg_guard_quick_pass(procroot, pid, sig, (pid_t)req->pid);
}

/* Would the kernel signal a PostgreSQL process for this owner?  Then refuse,
 * whatever the policy says: no rule can rewrite an I/O signal. */
static bool owner_refused(struct sup *s, struct pgkg_guard *g, const struct call_args *a)
{
	struct pgkg_target *t = &s->ws->target;
	pid_t who = (pid_t)(a->pid < 0 ? -a->pid : a->pid);
	char line[600];
	struct pgkg_buf b;

	if (a->pid == 0 || who == s->caller.tgid || a->pid < -INT32_MAX)
		return false;
	if (who == s->self)
		return true;
	if (pgkg_classify(procroot, who, t) < 0 || t->kind == PGKG_KIND_NONE ||
	    pgkg_guard_same_cluster(g, &t->st))
		return false;
	pgkg_buf_init(&b, line, sizeof(line));
	pgkg_buf_puts(&b, a->name);
	pgkg_buf_puts(&b, " naming ");
	pgkg_buf_putl(&b, a->pid);
	pgkg_buf_puts(&b, " (");
	pgkg_describe_target(&b, t);
	pgkg_buf_puts(&b, ") refused: the kernel would send it SIGIO, which crashes PostgreSQL "
			  "like kill -9; use pg_terminate_backend()");
	pgkg_say(2, line);
	pgkg_syslog(g->syslog_path, LOG_WARNING, s->caller.tgid, line);
	return true;
}

/* Decide one call; fill resp (CONTINUE, 0, or an error). */
static void handle(struct sup *s, const struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
	struct pgkg_guard g;
	struct call_args a;
	enum pgkg_verdict v;

	resp->id = req->id;
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	if (quick_pass(s, req))
		return;
	fill_guard(s, &g);
	if (read_caller(req->pid, &s->caller, &g) < 0 || !decode(req, &a, s->caller.tgid))
		return;		/* caller gone or not a guarded call: nothing to protect */
	if (a.owner) {
		if (owner_refused(s, &g, &a))
			resp->flags = 0, resp->error = -EPERM;
		return;
	}
	if (targets_supervisor(s, &a)) {
		pgkg_say(2, "a signal to the pgkillguard supervisor of this session was refused; "
			    "leave the session by ending its command");
		v = PGKG_DENY;
	} else {
		struct pgkg_call call = {.how = a.name, .pid = a.pid, .sig = a.sig, .pidfd = -1};
		if (a.flags & PIDFD_SIGNAL_PROCESS_GROUP) {
			struct pgkg_procstat st;
			call.pid = pgkg_read_stat(procroot, (pid_t)a.pid, &st) == 0 ? -(long)st.pgrp : 0;
		}
		if (a.is_pidfd && call.pid > 0)
			call.pidfd = a.fd;	/* pins the target for the rewrite */
		v = call.pid == 0 && a.fd >= 0 ? PGKG_PASS : pgkg_guard_call(&g, &call);
	}
	if (v == PGKG_PASS && a.fd >= 0) {
		int r = emulate_pidfd(s, &a, s->caller.tgid);
		resp->flags = 0;
		resp->error = r;
	} else if (v != PGKG_PASS) {
		resp->flags = 0;
		resp->error = v == PGKG_DENY ? -EPERM : 0;
	}
	if (a.fd >= 0)
		close(a.fd);
}

/* ---- the supervisor ---- */

static int recv_fd(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c;
	int fd = -1;
	ssize_t r;

	do
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	c = r == 1 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static void serve_one(struct sup *s, struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
	memset(req, 0, sizeof(*req));
	if (seccomp_notify_receive(s->listener, req) < 0)
		return;		/* the caller was interrupted: it will call again */
	memset(resp, 0, sizeof(*resp));
	handle(s, req, resp);
	if (seccomp_notify_id_valid(s->listener, req->id) == 0)
		seccomp_notify_respond(s->listener, resp);
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
	s->rw = pgkg_rewriter_new(procroot);	/* the parent's connections go with it */
	if (!s->rw)
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

int pgkg_supervise(char **cmd, const struct pgkg_exec_opts *o)
{
	static struct pgkg_guard_ws ws;
	/* setuid (login-shell wrapper): only a root-owned policy is trusted */
	struct sup s = {.ws = &ws, .policy_path = o->policy_path,
			.policy_uid = getauxval(AT_SECURE) ? 0 : getuid()};
	int sv[2], status;

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
	s.listener = recv_fd(sv[0]);
	/* A guarded call waits for us: hand over the CPU instead of waking us on
	 * another one (~25 -> ~6 us a round trip; older kernels say EINVAL). */
	if (s.listener >= 0)
		ioctl(s.listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	if (s.listener < 0) {
		while (waitpid(s.child, &status, 0) < 0 && errno == EINTR)
			;
		return exit_like(status);	/* the child said why */
	}
	close(sv[0]);
	if (!(s.rw = pgkg_rewriter_new(procroot)))
		die("out of memory");
	current = &s;
	sup_load_policy(&(struct pgkg_guard){.ws = &ws});
	status = serve(&s);
	serve_leftovers(&s);
	pgkg_rewriter_free(s.rw);
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
