/*
 * guard.c - one kill-family call through classify -> decide -> act.
 *
 * Rules (see also guard.h):
 *  1. MUST NOT allocate, lock or use stdio; large state lives in g->ws.
 *  2. MUST NOT send a signal: verdicts only.  PASS is the default answer to
 *     anything that is not a PostgreSQL cluster process.
 *  3. Every BLOCK, rewrite or report-mode decision says one line on
 *     g->msg_fd and sends one audit line to syslog.
 */
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include "audit.h"
#include "rawsys.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define MAX_LISTED 6

struct outcome {
	const char *action;	/* audit: allow/block/terminate/cancel */
	const char *result;	/* audit: ok, blocked, failed, timeout, report */
	int severity;
	uint32_t latency_ms;
};

bool pgkg_guard_quick_pass(const char *procroot, long pid, int sig, pid_t self)
{
	char comm[16];

	if (sig == 0 || pid == self)
		return true;
	if (pid <= 0)
		return false;
	if (pid > INT32_MAX || pgkg_read_comm(procroot, (pid_t)pid, comm) < 0)
		return true;	/* no such process: the kernel answers */
	return !pgkg_is_server_name(comm);
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
		g->policy = &g->ws->policy;
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
	pgkg_buf_puts(b, pgkg_policy_str(p, r->file));
	pgkg_buf_putc(b, ':');
	pgkg_buf_putl(b, r->line);
}

/* The audit line: who, what, to whom, what happened. */
static void audit(struct pgkg_guard *g, const struct pgkg_call *c, const struct pgkg_target *t,
		  const struct outcome *o)
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
	pgkg_buf_put_printable(&b, g->caller.comm);
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
		pgkg_buf_put_printable(&b, t->cluster.datadir[0] ? t->cluster.datadir : "?");
	}
	pgkg_buf_puts(&b, " action=");
	pgkg_buf_puts(&b, o->action);
	pgkg_buf_puts(&b, " result=");
	pgkg_buf_puts(&b, o->result);
	pgkg_buf_puts(&b, " latency_ms=");
	pgkg_buf_putl(&b, o->latency_ms);
	pgkg_syslog(g->syslog_path, o->severity, g->caller.pid, g->ws->audit);
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
		pgkg_buf_puts(b, pgkg_policy_str(p, r->message));
	}
}

static enum pgkg_verdict say_blocked(struct pgkg_guard *g, const struct pgkg_call *c,
				     const struct pgkg_target *t, const struct pgkg_decision *d)
{
	const struct pgkg_policy *p = g->policy;
	struct outcome o = {"block", "blocked", LOG_WARNING, 0};
	struct pgkg_buf b;

	begin_line(g, &b, c, t);
	if (d->policy_broken) {
		pgkg_buf_puts(&b, "blocked: the policy is broken (");
		pgkg_buf_puts(&b, p->first_error[0] ? p->first_error : p->path);
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

static enum pgkg_verdict say_report(struct pgkg_guard *g, const struct pgkg_call *c,
				    const struct pgkg_target *t, const struct pgkg_decision *d)
{
	struct outcome o = {pgkg_action_name(d->action), "report-only", LOG_NOTICE, 0};
	struct pgkg_buf b;

	begin_line(g, &b, c, t);
	pgkg_buf_puts(&b, "let through (report mode); in enforce mode it would be ");
	pgkg_buf_puts(&b, d->action == PGKG_BLOCK	    ? "blocked"
			  : d->action == PGKG_TERMINATE ? "rewritten to pg_terminate_backend"
							: "rewritten to pg_cancel_backend");
	pgkg_buf_puts(&b, " (");
	put_rule_where(&b, g->policy, d->rule);
	pgkg_buf_putc(&b, ')');
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

static enum pgkg_verdict rewrite(struct pgkg_guard *g, const struct pgkg_call *c,
				 const struct pgkg_target *t, const struct pgkg_decision *d)
{
	const char *fn = d->action == PGKG_CANCEL ? "pg_cancel_backend" : "pg_terminate_backend";
	struct pgkg_rw_rep *rep = &g->ws->rep;
	struct outcome o = {pgkg_action_name(d->action), "ok", LOG_NOTICE, 0};
	long long t0 = pgkg_mono_ms();
	struct pgkg_buf b;
	int pidfd = c->pidfd >= 0 ? -1 : pin_target(g, t);

	if (pidfd == -ESRCH)
		return PGKG_PASS;	/* gone meanwhile: the kernel answers ESRCH */
	fill_request(&g->ws->req, t, d, g->policy);
	memset(rep, 0, sizeof(*rep));
	g->ops->rewrite(g, &g->ws->req, c->pidfd >= 0 ? c->pidfd : pidfd, rep);
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
		pgkg_buf_puts(&b, "not sent: ");
		pgkg_buf_puts(&b, fn);
		pgkg_buf_puts(&b, " failed: ");
		put_rewrite_failure(&b, rep, t->pid);
		if (d->rule && d->rule->fallback_signal)
			pgkg_buf_puts(&b, "; sending the original signal (fallback=signal)");
	}
	put_rule_message(&b, g->policy, d->rule);
	pgkg_say(g->msg_fd, g->ws->line);
	audit(g, c, t, &o);
	if (rep->status == PGKG_RW_OK)
		return PGKG_DONE;
	return d->rule && d->rule->fallback_signal ? PGKG_PASS : PGKG_DENY;
}

static enum pgkg_verdict act(struct pgkg_guard *g, const struct pgkg_call *c,
			     const struct pgkg_target *t, const struct pgkg_decision *d)
{
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
static bool protected_target(struct pgkg_guard *g, pid_t pid)
{
	struct pgkg_target *t = &g->ws->target;

	if (pgkg_classify(g->procroot, pid, t) < 0 || t->kind == PGKG_KIND_NONE)
		return false;
	if (pgkg_guard_same_cluster(g, &t->st))
		return false;
	return g->ops->can_signal(g, pid) == 0;
}

/* In the library the caller is this process: its /proc must be the one of
 * its own pid namespace (unshare -p without a new /proc shows another
 * process under our pid), or the facts would be someone else's. */
static bool proc_shows_caller(const struct pgkg_guard *g)
{
	char path[PGKG_PATH_MAX], link[32];
	struct pgkg_buf b;
	long long v;
	ssize_t n;

	if (g->caller.pid != getpid())
		return true;	/* the supervisor reads its own /proc about another process */
	pgkg_buf_init(&b, path, sizeof(path));
	pgkg_buf_puts(&b, g->procroot);
	pgkg_buf_puts(&b, "/self");
	n = b.truncated ? -1 : pgkg_readlink(path, link, sizeof(link));
	return n > 0 && pgkg_parse_ll(link, (size_t)n, 1, INT32_MAX, &v) == 0 && v == g->caller.pid;
}

/* The caller's exe, cgroup and relation to the target's cluster (slow path:
 * only once the target is a protected cluster process). */
static void read_relation(struct pgkg_guard *g)
{
	if (proc_shows_caller(g))
		pgkg_read_caller_relation(g->procroot, g->caller.pid, &g->ws->target.cluster,
					  &g->ws->rel);
	else
		memset(&g->ws->rel, 0, sizeof(g->ws->rel));	/* no facts: no trust */
	g->caller.rel = &g->ws->rel;
}

static enum pgkg_verdict guard_one(struct pgkg_guard *g, const struct pgkg_call *c, pid_t pid)
{
	struct pgkg_decision d;

	if (!protected_target(g, pid))
		return PGKG_PASS;
	read_relation(g);
	pgkg_decide(policy(g), &g->caller, &g->ws->target, c->sig, &d);
	return act(g, c, &g->ws->target, &d);
}

/* ---- broadcasts: kill(0), kill(-1), kill(-PGID) ---- */

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

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
	if (!pgkg_is_server_name(st.comm) || !protected_target(g, pid))
		return;
	read_relation(g);
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
	long n;

	if (fd < 0)
		return;
	while ((n = pgkg_raw(SYS_getdents64, fd, (long)buf, sizeof(buf), 0)) > 0) {
		for (long off = 0; off < n;) {
			struct linux_dirent64 *de = (struct linux_dirent64 *)(buf + off);
			long pid = parse_pid_name(de->d_name);
			if (pid > 0)
				consider(g, c, s, (pid_t)pid);
			off += de->d_reclen;
		}
	}
	close(fd);
}

static enum pgkg_verdict say_broadcast(struct pgkg_guard *g, const struct pgkg_call *c,
				       const struct sweep *s)
{
	struct outcome o = {"block", "blocked", LOG_WARNING, 0};
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

/* "/proc/self/<leaf>/<fd>" */
static void self_fd_path(char *buf, size_t cap, const char *leaf, int fd)
{
	struct pgkg_buf b;

	pgkg_buf_init(&b, buf, cap);
	pgkg_buf_puts(&b, "/proc/self/");
	pgkg_buf_puts(&b, leaf);
	pgkg_buf_putc(&b, '/');
	pgkg_buf_putl(&b, fd);
}

/* A pidfd says "Pid:\t123" in fdinfo (-1 once the process has exited). */
static long pidfd_pid(int fd, bool *is_pidfd)
{
	char path[64], buf[512];
	long long v;

	self_fd_path(path, sizeof(path), "fdinfo", fd);
	const char *p = pgkg_read_file(path, buf, sizeof(buf)) > 0 ? strstr(buf, "\nPid:\t") : NULL;
	*is_pidfd = p != NULL;
	if (!p)
		return 0;
	p += 6;
	const char *e = strchr(p, '\n');
	if (pgkg_parse_ll(p, e ? (size_t)(e - p) : strlen(p), -1, INT32_MAX, &v) < 0 || v < 0)
		return 0;	/* "Pid: -1": exited (never kill(-1)) */
	return (long)v;
}

/* The fd pins the process it was opened on: its stat must be the pid's. */
static long procdir_pid(const char *procroot, int fd)
{
	char path[64], link[64], stat_fd[1024];
	struct pgkg_procstat via_fd, now;
	long long v;
	ssize_t n;

	self_fd_path(path, sizeof(path), "fd", fd);
	if (pgkg_readlink(path, link, sizeof(link)) < 0 || !pgkg_starts_with(link, "/proc/"))
		return 0;
	if (pgkg_parse_ll(link + 6, strlen(link + 6), 1, INT32_MAX, &v) < 0)
		return 0;
	n = pgkg_read_file_at(fd, "stat", stat_fd, sizeof(stat_fd));
	if (n <= 0 || pgkg_parse_stat(stat_fd, (size_t)n, &via_fd) < 0 ||
	    pgkg_read_stat(procroot, (pid_t)v, &now) < 0 || now.starttime != via_fd.starttime)
		return 0;
	return (long)v;
}

long pgkg_fd_target(const char *procroot, int fd, bool *is_pidfd)
{
	long pid = pidfd_pid(fd, is_pidfd);

	return *is_pidfd ? pid : procdir_pid(procroot, fd);
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
