/*
 * procfs.c - reading /proc, postmaster.pid and titles to classify a target.
 *
 * Rules for this file:
 *  1. MUST NOT allocate, lock, use stdio or touch locale: it runs inside
 *     kill(), in any process, PID 1 and signal handlers included.
 *  2. MUST stop after the one stat read when the target's comm is not a
 *     server name (the pass-through path for every non-PostgreSQL kill()).
 *  3. MUST take the proc root as a parameter and never print.
 *  4. MUST keep pgkg_classify() under ~12 KiB of stack: the helpers that
 *     hold big buffers are noinline so their frames never add up.
 *  5. MUST fail closed: a server-named process we cannot inspect is
 *     reported (unverified), never silently waved through.
 *  6. A zombie is never protected: it has already exited, a signal to it
 *     does nothing, and its pid stays taken until its parent reaps it.
 */
#include "procfs.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

#ifndef PGKG_SERVER_NAMES
#define PGKG_SERVER_NAMES "postgres", "postmaster", "edb-postgres", "kingbase"
#endif

#define NOINLINE __attribute__((noinline))
#define PIDFILE_MAX 3072	/* 8 lines, two of them paths < MAXPGPATH */
#define STATUS_MAX 4096		/* NSpid comes after Groups, which can be long */
#define TITLE_MAX 512

static const char *const server_names[] = {PGKG_SERVER_NAMES, NULL};

const char *const pgkg_pidfile_names[] = {"postmaster.pid", "kingbase.pid", NULL};

bool pgkg_is_server_name(const char *comm)
{
	for (size_t i = 0; server_names[i]; i++) {
		if (pgkg_streq(comm, server_names[i]))
			return true;
	}
	return false;
}

/* ENOENT / ESRCH from a /proc read: the process is gone. */
static int gone_or(ssize_t err)
{
	return (err == -ENOENT || err == -ESRCH) ? -ESRCH : (int)err;
}

static void copy_n(char *dst, size_t cap, const char *s, size_t n)
{
	size_t c = n < cap - 1 ? n : cap - 1;

	memcpy(dst, s, c);
	dst[c] = '\0';
}

/* ---- /proc/PID/stat ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* The next field of [*p, end) separated by blanks (space, tab, newline). */
static bool next_field(const char **p, const char *end, const char **f, size_t *n)
{
	const char *s = *p;

	while (s < end && is_blank(*s))
		s++;
	if (s == end)
		return false;
	*f = s;
	while (s < end && !is_blank(*s))
		s++;
	*n = (size_t)(s - *f);
	*p = s;
	return true;
}

static int stat_field(struct pgkg_procstat *out, int field, const char *f, size_t n)
{
	long long v;
	int r;

	if (field == 3) {
		out->state = f[0];
		return n == 1 ? 0 : -EINVAL;
	}
	if (field != 4 && field != 5 && field != 6 && field != 22)
		return 0;
	r = pgkg_parse_ll(f, n, 0, field == 22 ? LLONG_MAX : INT_MAX, &v);
	if (r)
		return -EINVAL;
	if (field == 4)
		out->ppid = (pid_t)v;
	else if (field == 5)
		out->pgrp = (pid_t)v;
	else if (field == 6)
		out->session = (pid_t)v;
	else
		out->starttime = (unsigned long long)v;
	return 0;
}

int pgkg_parse_stat(const char *buf, size_t len, struct pgkg_procstat *out)
{
	const char *open = memchr(buf, '(', len), *close = NULL, *p, *f;
	size_t n;
	long long pid;

	memset(out, 0, sizeof(*out));
	out->uid = (uid_t)-1;
	for (size_t i = len; i > 0 && !close; i--)
		close = buf[i - 1] == ')' ? buf + i - 1 : NULL;
	if (!open || !close || close < open || open == buf || open[-1] != ' ')
		return -EINVAL;
	if (pgkg_parse_ll(buf, (size_t)(open - buf - 1), 1, INT_MAX, &pid))
		return -EINVAL;
	out->pid = (pid_t)pid;
	copy_n(out->comm, sizeof(out->comm), open + 1, (size_t)(close - open - 1));
	p = close + 1;
	for (int field = 3; field <= 22; field++) {
		if (!next_field(&p, buf + len, &f, &n) || stat_field(out, field, f, n))
			return -EINVAL;
	}
	return 0;
}

/* The stat read alone: the fast path, uid left at (uid_t)-1. */
static NOINLINE int read_stat_only(const char *procroot, pid_t pid, struct pgkg_procstat *out)
{
	char path[PGKG_PATH_MAX], buf[1024];
	ssize_t n;

	if (pid <= 0)
		return -ESRCH;
	if (pgkg_proc_path(path, sizeof(path), procroot, pid, "stat"))
		return -ENAMETOOLONG;
	n = pgkg_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return gone_or(n);
	return pgkg_parse_stat(buf, (size_t)n, out);
}

static NOINLINE int fill_uid(const char *procroot, pid_t pid, struct pgkg_procstat *st)
{
	char path[PGKG_PATH_MAX];
	struct stat sb;

	if (pgkg_proc_path(path, sizeof(path), procroot, pid, NULL))
		return -ENAMETOOLONG;
	if (stat(path, &sb) < 0)
		return gone_or(-errno);
	st->uid = sb.st_uid;
	return 0;
}

int pgkg_read_stat(const char *procroot, pid_t pid, struct pgkg_procstat *out)
{
	int r = read_stat_only(procroot, pid, out);

	return r ? r : fill_uid(procroot, pid, out);
}

int pgkg_read_comm(const char *procroot, pid_t pid, char comm[16])
{
	char path[PGKG_PATH_MAX], buf[64];
	ssize_t n;

	comm[0] = '\0';
	if (pid <= 0)
		return -ESRCH;
	if (pgkg_proc_path(path, sizeof(path), procroot, pid, "comm"))
		return -ENAMETOOLONG;
	n = pgkg_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return gone_or(n);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	copy_n(comm, 16, buf, (size_t)n);
	return 0;
}

ssize_t pgkg_read_title(const char *procroot, pid_t pid, char *buf, size_t cap)
{
	char path[PGKG_PATH_MAX];
	ssize_t n;

	if (pid <= 0)
		return -ESRCH;
	if (pgkg_proc_path(path, sizeof(path), procroot, pid, "cmdline"))
		return -ENAMETOOLONG;
	n = pgkg_read_file(path, buf, cap);
	if (n < 0)
		return gone_or(n);
	return (ssize_t)strlen(buf);
}

/* ---- postmaster.pid ---- */

static bool next_line(const char **p, const char *end, const char **l, size_t *n)
{
	const char *nl;

	if (*p >= end)
		return false;
	*l = *p;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	*n = (size_t)((nl ? nl : end) - *p);
	*p = nl ? nl + 1 : end;
	return true;
}

static int pidfile_line(struct pgkg_pidfile *pf, int line, const char *l, size_t n)
{
	long long v;

	switch (line) {
	case 1:
		if (pgkg_parse_ll(l, n, -INT_MAX, INT_MAX, &v) || v == 0)
			return -EINVAL;
		pf->pid = v;
		break;
	case 2:
		copy_n(pf->datadir, sizeof(pf->datadir), l, n);
		break;
	case 3:
		pf->start_time = pgkg_parse_ll(l, n, 0, LLONG_MAX, &v) ? 0 : v;
		break;
	case 4:
		pf->port = pgkg_parse_ll(l, n, 1, 65535, &v) ? 0 : (int)v;
		break;
	case 5:
		copy_n(pf->sockdir, sizeof(pf->sockdir), l, n);
		break;
	case 6:
		copy_n(pf->listen, sizeof(pf->listen), l, n);
		break;
	case 8:
		while (n && l[n - 1] == ' ')
			n--;
		copy_n(pf->status, sizeof(pf->status), l, n);
		break;
	}
	return 0;
}

int pgkg_parse_pidfile(const char *buf, size_t len, struct pgkg_pidfile *out)
{
	const char *p = buf, *l;
	size_t n;

	memset(out, 0, sizeof(*out));
	for (int line = 1; line <= 8 && next_line(&p, buf + len, &l, &n); line++) {
		if (pidfile_line(out, line, l, n))
			return -EINVAL;
	}
	return out->pid ? 0 : -EINVAL;
}

/* Read and parse <procroot>/<pid>/cwd/<name>. */
static NOINLINE int read_pidfile(const char *procroot, pid_t pid, const char *name,
				 struct pgkg_pidfile *pf)
{
	char path[PGKG_PATH_MAX], buf[PIDFILE_MAX], leaf[64];
	struct pgkg_buf b;
	ssize_t n;

	pgkg_buf_init(&b, leaf, sizeof(leaf));
	pgkg_buf_puts(&b, "cwd/");
	pgkg_buf_puts(&b, name);
	if (b.truncated || pgkg_proc_path(path, sizeof(path), procroot, pid, leaf))
		return -ENAMETOOLONG;
	n = pgkg_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return pgkg_parse_pidfile(buf, (size_t)n, pf);
}

/* 1: a pid file was found (out->pf, out->pidfile_name), 0: none,
 * -EACCES: one could not be read, -ESRCH: gone. */
static int find_pidfile(const char *procroot, pid_t pid, struct pgkg_cluster *out)
{
	int denied = 0;

	for (size_t i = 0; pgkg_pidfile_names[i]; i++) {
		int r = read_pidfile(procroot, pid, pgkg_pidfile_names[i], &out->pf);

		if (r == 0) {
			pgkg_strlcpy(out->pidfile_name, pgkg_pidfile_names[i],
				     sizeof(out->pidfile_name));
			return 1;
		}
		if (r == -EACCES || r == -EPERM)
			denied = -EACCES;
		else if (r == -ESRCH)
			return -ESRCH;
	}
	return denied;
}

/* ---- NSpid ---- */

/* The last number on the "NSpid:" line of [l, l+n). */
static int last_number(const char *l, size_t n, long long *out)
{
	const char *p = l, *f = NULL, *t;
	size_t tn, fn = 0;

	while (next_field(&p, l + n, &t, &tn)) {
		f = t;
		fn = tn;
	}
	if (!f)
		return -EINVAL;
	return pgkg_parse_ll(f, fn, 1, INT_MAX, out);
}

/* The pid as its innermost pid namespace sees it (last NSpid value). */
static NOINLINE int read_nspid(const char *procroot, pid_t pid, long long *out)
{
	char path[PGKG_PATH_MAX], buf[STATUS_MAX];
	const char *p = buf, *l;
	size_t n;
	ssize_t len;

	if (pgkg_proc_path(path, sizeof(path), procroot, pid, "status"))
		return -ENAMETOOLONG;
	len = pgkg_read_file(path, buf, sizeof(buf));
	if (len < 0)
		return gone_or(len);
	while (next_line(&p, buf + len, &l, &n)) {
		if (n > 6 && memcmp(l, "NSpid:", 6) == 0)
			return last_number(l + 6, n - 6, out);
	}
	return -ENOENT;
}

/* Does the pid file's line 1 name pid (directly or in its pid namespace)? */
static int pidfile_names(const char *procroot, pid_t pid, long long pf_pid)
{
	long long inner;
	int r;

	if (pf_pid == pid)
		return 1;
	if (pf_pid <= 0)
		return 0;	/* standalone backend */
	r = read_nspid(procroot, pid, &inner);
	if (r == -ESRCH)
		return -ESRCH;
	return r == 0 && inner == pf_pid;
}

/* ---- postmaster probe ---- */

/* Probe pid whose stat (comm, uid) is already known. */
static int probe_known(const char *procroot, const struct pgkg_procstat *st,
		       struct pgkg_cluster *out)
{
	char path[PGKG_PATH_MAX];
	int r;

	memset(out, 0, sizeof(*out));
	if (!pgkg_is_server_name(st->comm))
		return 0;
	r = find_pidfile(procroot, st->pid, out);
	if (r > 0)
		r = pidfile_names(procroot, st->pid, out->pf.pid);
	if (r <= 0)
		return r;
	out->postmaster = st->pid;
	out->owner = st->uid;
	out->pm_starttime = st->starttime;
	if (pgkg_proc_path(path, sizeof(path), procroot, st->pid, "cwd") ||
	    pgkg_readlink(path, out->datadir, sizeof(out->datadir)) < 0)
		out->datadir[0] = '\0';
	return 1;
}

int pgkg_probe_postmaster(const char *procroot, pid_t pid, struct pgkg_cluster *out)
{
	struct pgkg_procstat st;
	int r = pgkg_read_stat(procroot, pid, &st);

	if (r < 0) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	st.pid = pid;
	return probe_known(procroot, &st, out);
}

/* ---- classification ---- */

static void mark_unverified(struct pgkg_target *t)
{
	memset(&t->cluster, 0, sizeof(t->cluster));
	t->kind = PGKG_KIND_UNKNOWN_CHILD;
	t->unverified = true;
}

static NOINLINE int kind_from_title(const char *procroot, struct pgkg_target *t)
{
	char title[TITLE_MAX];
	ssize_t n = pgkg_read_title(procroot, t->pid, title, sizeof(title));

	if (n == -ESRCH)
		return -ESRCH;
	pgkg_title_parse(title, n < 0 ? 0 : (size_t)n, &t->title);
	t->kind = t->title.kind;
	return 0;
}

static bool is_server_process(const char *procroot, pid_t pid)
{
	char comm[16];

	return pgkg_read_comm(procroot, pid, comm) == 0 && pgkg_is_server_name(comm);
}

/* 1: classified as a child (or unverified), 0: parent is no postmaster, <0: error. */
static int classify_child(const char *procroot, struct pgkg_target *t)
{
	int r;

	if (t->st.ppid <= 0)
		return 0;
	r = pgkg_probe_postmaster(procroot, t->st.ppid, &t->cluster);
	if (r == 1) {
		r = kind_from_title(procroot, t);
		return r < 0 ? r : 1;
	}
	if (r < 0 && r != -ESRCH && is_server_process(procroot, t->st.ppid)) {
		mark_unverified(t);
		return 1;
	}
	return 0;
}

/* The target itself: a postmaster, or nothing we protect. */
static int classify_self(const char *procroot, struct pgkg_target *t)
{
	int r = probe_known(procroot, &t->st, &t->cluster);

	if (r == 1) {
		t->kind = PGKG_KIND_POSTMASTER;
		return 0;
	}
	memset(&t->cluster, 0, sizeof(t->cluster));
	if (r == -ESRCH)
		return -ESRCH;
	if (r < 0)
		mark_unverified(t);	/* server-named, cwd not readable: fail closed */
	return 0;
}

int pgkg_classify(const char *procroot, pid_t pid, struct pgkg_target *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	out->kind = PGKG_KIND_NONE;
	r = read_stat_only(procroot, pid, &out->st);
	if (r < 0)
		return r;
	out->st.pid = pid;
	if (!pgkg_is_server_name(out->st.comm) || out->st.state == 'Z' || out->st.state == 'X')
		return 0;
	r = fill_uid(procroot, pid, &out->st);
	if (r < 0)
		return r;
	r = classify_child(procroot, out);
	if (r != 0)
		return r < 0 ? r : 0;
	return classify_self(procroot, out);
}

/* ---- the caller's relation to a cluster ---- */

/* The path of the "0::PATH" line of <procroot>/PID/cgroup (cgroup2). */
static NOINLINE int read_cgroup2(const char *procroot, pid_t pid, char *out, size_t cap)
{
	char path[PGKG_PATH_MAX], buf[STATUS_MAX];
	const char *p = buf, *l;
	size_t n;
	ssize_t len;

	out[0] = '\0';
	if (pgkg_proc_path(path, sizeof(path), procroot, pid, "cgroup"))
		return -ENAMETOOLONG;
	len = pgkg_read_file(path, buf, sizeof(buf));
	if (len < 0)
		return gone_or(len);
	while (next_line(&p, buf + len, &l, &n)) {
		if (n >= 4 && memcmp(l, "0::", 3) == 0) {
			if (n - 3 >= cap)
				return -ENAMETOOLONG;
			copy_n(out, cap, l + 3, n - 3);
			return 0;
		}
	}
	return -ENOENT;
}

bool pgkg_glob_match(const char *pat, size_t pn, const char *s)
{
	size_t pi = 0, star = (size_t)-1;
	const char *mark = NULL;

	while (*s) {
		if (pi < pn && (pat[pi] == '?' || pat[pi] == *s)) {
			pi++;
			s++;
		} else if (pi < pn && pat[pi] == '*') {
			star = pi++;
			mark = s;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			s = ++mark;
		} else {
			return false;
		}
	}
	while (pi < pn && pat[pi] == '*')
		pi++;
	return pi == pn;
}

static bool component_is_login(const char *c, size_t n)
{
	static const char *const login[] = {"user-*.slice", "user@*.service", "session-*.scope",
					    "user.slice", NULL};
	char one[256];

	if (n >= sizeof(one))
		return false;
	memcpy(one, c, n);
	one[n] = '\0';
	for (size_t i = 0; login[i]; i++) {
		if (pgkg_glob_match(login[i], strlen(login[i]), one))
			return true;
	}
	return false;
}

bool pgkg_cgroup_is_service(const char *path)
{
	const char *c = path;

	if (path[0] != '/' || path[1] == '\0')
		return false;	/* unknown, or the root cgroup: every process of the host */
	while (*c) {
		const char *e;
		while (*c == '/')
			c++;
		e = c;
		while (*e && *e != '/')
			e++;
		if (e > c && component_is_login(c, (size_t)(e - c)))
			return false;
		c = e;
	}
	return true;
}

/* The inode in "pid:[4026531836]" of <procroot>/PID/ns/pid. */
static NOINLINE int read_pidns(const char *procroot, pid_t pid, char *out, size_t cap)
{
	char path[PGKG_PATH_MAX];
	ssize_t n;

	if (pgkg_proc_path(path, sizeof(path), procroot, pid, "ns/pid"))
		return -ENAMETOOLONG;
	n = pgkg_readlink(path, out, cap);
	return n < 0 ? (int)n : 0;
}

/* Is caller PID 1 of the pid namespace the postmaster lives in? */
static NOINLINE bool is_ns_init(const char *procroot, pid_t caller, pid_t pm)
{
	char a[64], b[64];
	long long inner;

	if (read_nspid(procroot, caller, &inner) < 0 || inner != 1)
		return false;
	return read_pidns(procroot, caller, a, sizeof(a)) == 0 &&
	       read_pidns(procroot, pm, b, sizeof(b)) == 0 && pgkg_streq(a, b);
}

static NOINLINE bool same_service_cgroup(const char *procroot, pid_t pm, const char *mine)
{
	char pmcg[512];

	if (!pgkg_cgroup_is_service(mine) ||
	    read_cgroup2(procroot, pm, pmcg, sizeof(pmcg)) < 0)
		return false;
	return pgkg_streq(mine, pmcg);
}

int pgkg_read_caller_relation(const char *procroot, pid_t caller, const struct pgkg_cluster *cl,
			      struct pgkg_caller_rel *out)
{
	char path[PGKG_PATH_MAX];
	struct pgkg_procstat pm;

	out->exe[0] = '\0';
	out->cgroup[0] = '\0';
	out->rel = 0;
	if (pgkg_proc_path(path, sizeof(path), procroot, caller, "exe") == 0 &&
	    pgkg_readlink(path, out->exe, sizeof(out->exe)) < 0)
		out->exe[0] = '\0';
	if (read_cgroup2(procroot, caller, out->cgroup, sizeof(out->cgroup)) < 0)
		out->cgroup[0] = '\0';
	if (!cl || cl->postmaster <= 0 || read_stat_only(procroot, cl->postmaster, &pm) < 0 ||
	    (cl->pm_starttime && pm.starttime != cl->pm_starttime))
		return -ESRCH;	/* the postmaster is gone or another process: no relation */
	if (pm.ppid == caller && caller > 0)
		out->rel |= PGKG_REL_PARENT;
	if (is_ns_init(procroot, caller, cl->postmaster))
		out->rel |= PGKG_REL_NSINIT;
	if (same_service_cgroup(procroot, cl->postmaster, out->cgroup))
		out->rel |= PGKG_REL_CGROUP;
	return 0;
}
