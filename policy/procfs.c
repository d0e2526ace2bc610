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
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "util.h"

#ifndef PGKG_SERVER_NAMES
#define PGKG_SERVER_NAMES "postgres", "postmaster", "edb-postgres", "kingbase"
#endif

#define NOINLINE __attribute__((noinline))
#define PIDFILE_MAX 3072	/* 8 lines, two of them paths < MAXPGPATH */
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
	if (field == 7) {	/* tty_nr: only for messages, 0 when odd */
		out->tty_nr = pgkg_parse_ll(f, n, INT_MIN, INT_MAX, &v) ? 0 : (int)v;
		return 0;
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
/*
 * Read and parse <procroot>/<pid>/cwd/<name>.  The file must be a regular
 * file owned by the process itself (a postmaster writes its own): opened
 * without following a link or blocking on a FIFO, so a planted "cluster"
 * cannot make a privileged reader open any other file (R1-10).  Anything
 * else is -EACCES: a pid file that cannot be trusted, never "no pid file".
 */
static NOINLINE int read_pidfile(const char *procroot, pid_t pid, const char *name,
				 struct pgkg_pidfile *pf)
{
	char path[PGKG_PATH_MAX], buf[PIDFILE_MAX], leaf[64];
	struct stat st, proc;
	struct pgkg_buf b;
	ssize_t n;
	int fd;

	pgkg_buf_init(&b, leaf, sizeof(leaf));
	pgkg_buf_puts(&b, "cwd/");
	pgkg_buf_puts(&b, name);
	if (b.truncated || pgkg_proc_path(path, sizeof(path), procroot, pid, leaf))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ELOOP ? -EACCES : -errno;	/* ENOENT: try the next name */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    pgkg_proc_path(path, sizeof(path), procroot, pid, NULL) || stat(path, &proc) < 0 ||
	    st.st_uid != proc.st_uid) {
		close(fd);
		return -EACCES;
	}
	n = pgkg_read_fd(fd, buf, sizeof(buf));
	close(fd);
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

/* ---- /proc/PID/status: the one parser ---- */

#define STATUS_CHUNK 512
#define STATUS_TOKEN 24		/* longer values are malformed (numbers have <= 20 digits) */

struct status_key {
	const char *name;
	unsigned bit;
	int min, max;		/* how many values the line has */
};

static const struct status_key status_keys[] = {
	{"State", PGKG_STATUS_STATE, 1, 2},	/* "S (sleeping)" */
	{"Tgid", PGKG_STATUS_TGID, 1, 1},
	{"TracerPid", PGKG_STATUS_TRACER, 1, 1},
	{"Uid", PGKG_STATUS_UID, 4, 4},
	{"Gid", PGKG_STATUS_GID, 4, 4},
	{"Groups", PGKG_STATUS_GROUPS, 0, PGKG_STATUS_MAX_GROUPS},
	{"NSpid", PGKG_STATUS_NSPID, 1, PGKG_STATUS_MAX_NSPID},
	{"CapEff", PGKG_STATUS_CAPEFF, 1, 1},
	{"Seccomp", PGKG_STATUS_SECCOMP, 1, 1},
};
#define NSTATUS_KEYS (sizeof(status_keys) / sizeof(status_keys[0]))

/* The parse in progress: the file arrives in pieces, a line and a value may
 * be split anywhere. */
struct status_parser {
	struct pgkg_status *out;
	const struct status_key *key;	/* of this line; NULL: skip the line */
	bool in_key;		/* still reading this line's "Key:" */
	bool line_bad;
	int nvalues;		/* of this line so far */
	char tok[STATUS_TOKEN];
	size_t tlen;		/* > sizeof(tok) once too long */
};

static bool parse_hex(const char *s, size_t n, unsigned long long *v)
{
	*v = 0;
	if (n == 0 || n > 16)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return false;
		*v = *v << 4 | (unsigned)d;
	}
	return true;
}

/* Value number i of the line whose key has bit: stored, or false if malformed. */
static bool status_value(struct pgkg_status *st, unsigned bit, int i, const char *s, size_t n)
{
	long long v = 0;

	if (bit == PGKG_STATUS_STATE) {
		if (i == 0)
			st->state = s[0];
		return i > 0 || n == 1;
	}
	if (bit == PGKG_STATUS_CAPEFF)
		return parse_hex(s, n, &st->cap_eff);
	if (pgkg_parse_ll(s, n, bit == PGKG_STATUS_NSPID ? 1 : 0,
			  bit == PGKG_STATUS_UID || bit == PGKG_STATUS_GID || bit == PGKG_STATUS_GROUPS
				  ? UINT32_MAX : INT_MAX, &v) < 0)
		return false;
	if (bit == PGKG_STATUS_TGID)
		st->tgid = (pid_t)v;
	else if (bit == PGKG_STATUS_TRACER)
		st->tracer = (pid_t)v;
	else if (bit == PGKG_STATUS_UID)
		st->uid[i] = (uid_t)v;
	else if (bit == PGKG_STATUS_GID)
		st->gid[i] = (gid_t)v;
	else if (bit == PGKG_STATUS_GROUPS)
		st->groups[i] = (gid_t)v;
	else if (bit == PGKG_STATUS_NSPID)
		st->nspid[i] = (pid_t)v;
	else
		st->seccomp = (int)v;
	return true;
}

/* The token just read: the line's key (when it ends with ':') or a value. */
static void status_token(struct status_parser *p, bool key_end)
{
	size_t n = p->tlen;

	p->tlen = 0;
	if (p->in_key) {
		p->in_key = false;
		p->key = NULL;
		for (size_t k = 0; key_end && n <= sizeof(p->tok) && k < NSTATUS_KEYS; k++) {
			if (strlen(status_keys[k].name) == n && !memcmp(p->tok, status_keys[k].name, n))
				p->key = &status_keys[k];
		}
		return;
	}
	if (!p->key || n == 0)
		return;
	if (n > sizeof(p->tok) || p->nvalues >= p->key->max ||
	    !status_value(p->out, p->key->bit, p->nvalues, p->tok, n))
		p->line_bad = true;
	p->nvalues++;
}

static void status_line_end(struct status_parser *p)
{
	status_token(p, false);
	if (p->key) {
		const struct status_key *k = p->key;
		bool ok = !p->line_bad && p->nvalues >= k->min && p->nvalues <= k->max;

		p->out->have = ok ? p->out->have | k->bit : p->out->have & ~k->bit;
		p->out->bad = ok ? p->out->bad & ~k->bit : p->out->bad | k->bit;
		if (k->bit == PGKG_STATUS_GROUPS)
			p->out->ngroups = ok ? p->nvalues : 0;
		else if (k->bit == PGKG_STATUS_NSPID)
			p->out->nnspid = ok ? p->nvalues : 0;
	}
	p->key = NULL;
	p->in_key = true;
	p->line_bad = false;
	p->nvalues = 0;
}

static void status_init(struct status_parser *p, struct pgkg_status *out)
{
	memset(out, 0, sizeof(*out));
	memset(p, 0, sizeof(*p));
	p->out = out;
	p->in_key = true;
}

static void status_feed(struct status_parser *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\n') {
			status_line_end(p);
		} else if (p->in_key && c == ':') {
			status_token(p, true);
		} else if (!p->in_key && is_blank(c)) {
			status_token(p, false);
		} else if (p->in_key || p->key) {
			if (p->tlen < sizeof(p->tok))
				p->tok[p->tlen] = c;
			if (p->tlen <= sizeof(p->tok))
				p->tlen++;
		}
	}
}

static void status_finish(struct status_parser *p)
{
	if (!p->in_key || p->tlen)
		status_line_end(p);	/* a last line without '\n' */
}

int pgkg_parse_status(const char *buf, size_t len, struct pgkg_status *out)
{
	struct status_parser p;

	status_init(&p, out);
	status_feed(&p, buf, len);
	status_finish(&p);
	return 0;
}

int pgkg_read_status_file(const char *path, unsigned want, struct pgkg_status *out)
{
	struct status_parser p;
	char chunk[STATUS_CHUNK];
	ssize_t r;
	int fd;

	status_init(&p, out);
	do
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		status_feed(&p, chunk, (size_t)r);
		if (want && ((out->have | out->bad) & want) == want)
			break;	/* the rest is not wanted (a line may be cut: dropped) */
	}
	if (r == 0)
		status_finish(&p);
	r = r < 0 ? -errno : 0;
	close(fd);
	return (int)r;
}

int pgkg_read_status(const char *procroot, pid_t pid, unsigned want, struct pgkg_status *out)
{
	char path[PGKG_PATH_MAX];

	memset(out, 0, sizeof(*out));
	if (pgkg_proc_path(path, sizeof(path), procroot, pid, "status"))
		return -ENAMETOOLONG;
	return gone_or(pgkg_read_status_file(path, want, out));
}

/* ---- NSpid ---- */

#define NSPID_MAX PGKG_STATUS_MAX_NSPID

/* The pid of pid in each pid namespace it belongs to, outermost first. */
static NOINLINE int read_nspids(const char *procroot, pid_t pid, long long *v, int *count)
{
	struct pgkg_status st;
	int r = pgkg_read_status(procroot, pid, PGKG_STATUS_NSPID, &st);

	*count = 0;
	if (r < 0)
		return r;
	if (st.bad & PGKG_STATUS_NSPID)
		return -EINVAL;
	if (!(st.have & PGKG_STATUS_NSPID))
		return -ENOENT;
	for (int i = 0; i < st.nnspid; i++)
		v[i] = st.nspid[i];
	*count = st.nnspid;
	return 0;
}

/* The pid as its innermost pid namespace sees it (last NSpid value). */
static int read_nspid(const char *procroot, pid_t pid, long long *out)
{
	long long v[NSPID_MAX];
	int count, r = read_nspids(procroot, pid, v, &count);

	if (r == 0)
		*out = v[count - 1];
	return r;
}

/* How many pid namespaces pid is in, as seen from ours (1: ours only). */
static int nspid_depth(const char *procroot, pid_t pid)
{
	long long v[NSPID_MAX];
	int count;

	return read_nspids(procroot, pid, v, &count) == 0 ? count : 1;
}

/* The pid of pid in the pid namespace of its postmaster (pm_depth levels
 * deep): the number the server knows it by.  pid itself when unknown. */
static pid_t pid_in_server_ns(const char *procroot, pid_t pid, int pm_depth)
{
	long long v[NSPID_MAX];
	int count;

	if (read_nspids(procroot, pid, v, &count) < 0 || pm_depth < 1 || pm_depth > count)
		return pid;
	return (pid_t)v[pm_depth - 1];
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

/* A process that is exiting has released its working directory already
 * (exit_fs): a postmaster being killed, whose children are about to be
 * orphans, not one whose pid file was moved aside. */
static bool has_working_dir(const char *procroot, pid_t pid)
{
	char path[PGKG_PATH_MAX], link[PGKG_PATH_MAX];

	return pgkg_proc_path(path, sizeof(path), procroot, pid, "cwd") == 0 &&
	       pgkg_readlink(path, link, sizeof(link)) >= 0;
}

static bool is_live_server_process(const char *procroot, pid_t pid)
{
	struct pgkg_procstat st;

	return pgkg_read_stat(procroot, pid, &st) == 0 && pgkg_is_server_name(st.comm) &&
	       st.state != 'Z' && st.state != 'X';
}

/* 1: classified as a child (or unverified), 0: parent is no postmaster, <0: error. */
static int classify_child(const char *procroot, struct pgkg_target *t)
{
	int r;

	if (t->st.ppid <= 0)
		return 0;
	r = pgkg_probe_postmaster(procroot, t->st.ppid, &t->cluster);
	if (r == 1) {
		t->ns_pid = pid_in_server_ns(procroot, t->pid,
					     nspid_depth(procroot, t->cluster.postmaster));
		r = kind_from_title(procroot, t);
		return r < 0 ? r : 1;
	}
	/* A server-named child of a live server-named process is a cluster
	 * process whatever its pid file says: one that cannot be read, or one
	 * that is gone or renamed (R1-2: the owner moved postmaster.pid aside
	 * to make its backends "not PostgreSQL" for a moment).  A parent that
	 * has exited (a zombie postmaster not reaped yet) leaves orphans-to-be:
	 * judged as before (a manager's SIGKILL sweep after the postmaster). */
	if (r != -ESRCH && is_live_server_process(procroot, t->st.ppid) &&
	    (r < 0 || has_working_dir(procroot, t->st.ppid))) {
		mark_unverified(t);
		/* its presumed postmaster: so that who manages it can be judged
		 * (a manager's SIGKILL sweep while the postmaster is dying) */
		t->cluster.postmaster = t->st.ppid;
		return 1;
	}
	return 0;
}

/*
 * Is the postmaster that pid file (already read into c->pf) names gone?  No
 * such process, a pid now used by a non-server program, or a server process
 * working in another data directory.  Only for a process in our own pid
 * namespace (a containerised pid file speaks of another one).  False when it
 * cannot tell (another user's cwd).  Small frames: no pgkg_cluster here.
 */
static NOINLINE bool postmaster_gone(const char *procroot, const struct pgkg_target *t,
				     const struct pgkg_cluster *c)
{
	char path[PGKG_PATH_MAX], cwd[PGKG_PATH_MAX], comm[16];
	pid_t pm = (pid_t)c->pf.pid;
	int r;

	if (c->pf.pid <= 0 || c->pf.pid > INT_MAX || pm == t->pid ||
	    nspid_depth(procroot, t->pid) != 1)
		return false;
	r = pgkg_read_comm(procroot, pm, comm);
	if (r == -ESRCH)
		return true;
	if (r < 0)
		return false;
	if (!pgkg_is_server_name(comm))
		return true;	/* the pid was reused by something else */
	if (pgkg_proc_path(path, sizeof(path), procroot, pm, "cwd") ||
	    pgkg_readlink(path, cwd, sizeof(cwd)) < 0)
		return false;	/* cannot tell */
	return !pgkg_streq(cwd, c->datadir);
}

/* An orphan: a server title, a pid file in its cwd, its postmaster gone, and
 * adopted by a non-server process (init, a subreaper).  A live server parent
 * means a postmaster whose pid file was overwritten: not an orphan (SECURITY.md).
 * 1 (t filled), 0 not one, -ESRCH gone. */
static int classify_orphan(const char *procroot, struct pgkg_target *t)
{
	struct pgkg_cluster *c = &t->cluster;
	char path[PGKG_PATH_MAX];
	int r;

	memset(c, 0, sizeof(*c));
	if (t->st.ppid > 0 && is_server_process(procroot, t->st.ppid))
		return 0;
	r = find_pidfile(procroot, t->pid, c);
	if (r <= 0)
		return r == -ESRCH ? -ESRCH : 0;
	if (pgkg_proc_path(path, sizeof(path), procroot, t->pid, "cwd") ||
	    pgkg_readlink(path, c->datadir, sizeof(c->datadir)) < 0)
		return 0;
	if (!postmaster_gone(procroot, t, c))
		return 0;
	r = kind_from_title(procroot, t);
	if (r < 0)
		return r;
	if (t->title.kind == PGKG_KIND_UNKNOWN_CHILD || t->title.kind == PGKG_KIND_POSTMASTER ||
	    t->title.kind == PGKG_KIND_NONE)
		return 0;
	t->kind = PGKG_KIND_ORPHAN;
	c->postmaster = (pid_t)c->pf.pid;	/* gone: for messages only */
	c->owner = t->st.uid;
	return 1;
}

/* The target itself: a postmaster, an orphan, or nothing we protect. */
/* Does pid have a server-named child (/proc/PID/task/PID/children)? */
static NOINLINE bool has_server_child(const char *procroot, pid_t pid)
{
	char path[PGKG_PATH_MAX], buf[1024], leaf[64], comm[16];
	const char *p = buf, *end, *f;
	struct pgkg_buf b;
	size_t n;
	ssize_t len;

	pgkg_buf_init(&b, leaf, sizeof(leaf));
	pgkg_buf_puts(&b, "task/");
	pgkg_buf_putl(&b, pid);
	pgkg_buf_puts(&b, "/children");
	if (b.truncated || pgkg_proc_path(path, sizeof(path), procroot, pid, leaf))
		return false;
	len = pgkg_read_file(path, buf, sizeof(buf));
	if (len <= 0)
		return false;
	end = buf + len;
	while (next_field(&p, end, &f, &n)) {
		long long child;
		if (pgkg_parse_ll(f, n, 1, INT_MAX, &child) == 0 &&
		    pgkg_read_comm(procroot, (pid_t)child, comm) == 0 && pgkg_is_server_name(comm))
			return true;
	}
	return false;
}

/* A server-named process with server-named children whose pid file is gone
 * or does not name it: a postmaster all the same (R2-4: its owner moved
 * postmaster.pid aside to kill it).  Identified by pid and cwd only. */
static void mark_postmaster_without_pidfile(const char *procroot, struct pgkg_target *t)
{
	char path[PGKG_PATH_MAX];

	memset(&t->cluster, 0, sizeof(t->cluster));
	t->kind = PGKG_KIND_POSTMASTER;
	t->cluster.postmaster = t->pid;
	t->cluster.owner = t->st.uid;
	t->cluster.pm_starttime = t->st.starttime;
	if (pgkg_proc_path(path, sizeof(path), procroot, t->pid, "cwd") ||
	    pgkg_readlink(path, t->cluster.datadir, sizeof(t->cluster.datadir)) < 0)
		t->cluster.datadir[0] = '\0';
}

static int classify_self(const char *procroot, struct pgkg_target *t)
{
	int r = probe_known(procroot, &t->st, &t->cluster);

	if (r == 1) {
		t->kind = PGKG_KIND_POSTMASTER;
		t->ns_pid = pid_in_server_ns(procroot, t->pid, nspid_depth(procroot, t->pid));
		return 0;
	}
	memset(&t->cluster, 0, sizeof(t->cluster));
	if (r == -ESRCH)
		return -ESRCH;
	if (r < 0) {
		mark_unverified(t);	/* server-named, cwd not readable: fail closed */
		return 0;
	}
	if (has_server_child(procroot, t->pid)) {
		mark_postmaster_without_pidfile(procroot, t);
		return 0;
	}
	r = classify_orphan(procroot, t);
	if (r <= 0) {
		t->kind = PGKG_KIND_NONE;
		memset(&t->cluster, 0, sizeof(t->cluster));
		memset(&t->title, 0, sizeof(t->title));
	}
	return r == -ESRCH ? -ESRCH : 0;
}

int pgkg_classify(const char *procroot, pid_t pid, struct pgkg_target *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	out->ns_pid = pid;
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

/* ---- credentials ---- */

#define CREDS_LINES (PGKG_STATUS_TGID | PGKG_STATUS_UID | PGKG_STATUS_GID | PGKG_STATUS_GROUPS | \
		     PGKG_STATUS_CAPEFF)

int pgkg_read_creds(const char *procroot, pid_t tid, struct pgkg_creds *out)
{
	struct pgkg_status st;
	int r = pgkg_read_status(procroot, tid, CREDS_LINES, &st);

	memset(out, 0, sizeof(*out));
	if (r < 0)
		return r;
	if ((st.have & CREDS_LINES) != CREDS_LINES)
		return -EINVAL;
	out->tgid = st.tgid;
	memcpy(out->uid, st.uid, sizeof(out->uid));
	memcpy(out->gid, st.gid, sizeof(out->gid));
	out->ngroups = st.ngroups;
	memcpy(out->groups, st.groups, (size_t)st.ngroups * sizeof(out->groups[0]));
	out->cap_eff = st.cap_eff;
	return 0;
}

/* ---- what an fd names (pidfd_send_signal) ---- */

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

/* A pidfd says "Pid:\t123" in fdinfo (-1 once the process has exited, 0
 * when it is not in the pid namespace of the procfs we read it through). */
static long pidfd_pid(int fd, enum pgkg_fd_kind *kind)
{
	char path[64], buf[512];
	long long v;

	self_fd_path(path, sizeof(path), "fdinfo", fd);
	const char *p = pgkg_read_file(path, buf, sizeof(buf)) > 0 ? strstr(buf, "\nPid:\t") : NULL;
	if (!p)
		return 0;
	p += 6;
	const char *e = strchr(p, '\n');
	if (pgkg_parse_ll(p, e ? (size_t)(e - p) : strlen(p), -1, INT32_MAX, &v) < 0 || v == 0) {
		*kind = PGKG_FD_UNVERIFIED;
		return 0;
	}
	*kind = v < 0 ? PGKG_FD_GONE : PGKG_FD_PIDFD;	/* never kill(-1) */
	return v < 0 ? 0 : (long)v;
}

/* A directory of procroot's own procfs, pinned by fd: its pid comes from its
 * own stat, and procroot/PID must be that very directory. */
static long procdir_pid(const char *procroot, int fd, enum pgkg_fd_kind *kind)
{
	char path[64], stat_fd[1024];
	struct stat by_fd, root, named;
	struct statfs fs;
	struct pgkg_procstat st;
	struct pgkg_buf b;
	ssize_t n;

	if (fstat(fd, &by_fd) < 0 || !S_ISDIR(by_fd.st_mode) || fstatfs(fd, &fs) < 0 ||
	    fs.f_type != PROC_SUPER_MAGIC)
		return 0;	/* not a process fd: the kernel answers EBADF */
	*kind = PGKG_FD_UNVERIFIED;
	if (stat(procroot, &root) < 0 || root.st_dev != by_fd.st_dev)
		return 0;	/* another procfs (bind mount of a foreign one, other pid ns) */
	n = pgkg_read_file_at(fd, "stat", stat_fd, sizeof(stat_fd));
	if (n == -ESRCH || n == -ENOENT) {
		*kind = PGKG_FD_GONE;
		return 0;
	}
	if (n <= 0 || pgkg_parse_stat(stat_fd, (size_t)n, &st) < 0 || st.pid <= 0)
		return 0;
	pgkg_buf_init(&b, path, sizeof(path));
	pgkg_buf_puts(&b, procroot);
	pgkg_buf_putc(&b, '/');
	pgkg_buf_putl(&b, st.pid);
	if (stat(path, &named) < 0 || named.st_dev != by_fd.st_dev || named.st_ino != by_fd.st_ino)
		return 0;	/* a task directory, or the pid now names another process */
	*kind = PGKG_FD_PROCDIR;
	return st.pid;
}

long pgkg_fd_target(const char *procroot, int fd, enum pgkg_fd_kind *kind)
{
	long pid;

	*kind = PGKG_FD_OTHER;
	pid = pidfd_pid(fd, kind);
	if (*kind != PGKG_FD_OTHER)
		return pid;
	return procdir_pid(procroot, fd, kind);
}

/* ---- why a process does not go away (stuck backends, issue 12) ---- */

int pgkg_read_tracer(const char *procroot, pid_t pid, pid_t *tracer)
{
	struct pgkg_status st;
	int r = pgkg_read_status(procroot, pid, PGKG_STATUS_TRACER, &st);

	*tracer = 0;
	if (r < 0)
		return r;
	if (st.bad & PGKG_STATUS_TRACER)
		return -EINVAL;
	if (!(st.have & PGKG_STATUS_TRACER))
		return -ENOENT;
	*tracer = st.tracer;
	return 0;
}

ssize_t pgkg_read_wchan(const char *procroot, pid_t pid, char *buf, size_t cap)
{
	char path[PGKG_PATH_MAX];
	ssize_t n;

	buf[0] = '\0';
	if (pgkg_proc_path(path, sizeof(path), procroot, pid, "wchan"))
		return -ENAMETOOLONG;
	n = pgkg_read_file(path, buf, cap);
	if (n < 0)
		return gone_or(n);
	if (n == 1 && buf[0] == '0')
		buf[0] = '\0', n = 0;	/* not waiting: the kernel says "0" */
	return n;
}

/* A child of pm that is a session: a client backend or a walsender. */
static NOINLINE bool is_session_of(const char *procroot, pid_t pid, pid_t pm)
{
	struct pgkg_procstat st;
	struct pgkg_title ti;
	char title[TITLE_MAX];
	ssize_t n;

	if (read_stat_only(procroot, pid, &st) < 0 || st.ppid != pm || st.state == 'Z' ||
	    !pgkg_is_server_name(st.comm))
		return false;
	n = pgkg_read_title(procroot, pid, title, sizeof(title));
	if (n <= 0)
		return false;
	pgkg_title_parse(title, (size_t)n, &ti);
	return ti.kind == PGKG_KIND_CLIENT_BACKEND || ti.kind == PGKG_KIND_WALSENDER;
}

int pgkg_count_sessions(const char *procroot, pid_t postmaster, pid_t except)
{
	char buf[4096] __attribute__((aligned(8)));
	int fd = open(procroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC), count = 0;
	struct pgkg_dirwalk w;
	const char *name;

	if (fd < 0)
		return -errno;
	pgkg_dirwalk_init(&w, fd, buf, sizeof(buf));
	while ((name = pgkg_dirwalk_next(&w))) {
		long long pid;
		if (pgkg_parse_ll(name, strlen(name), 1, INT_MAX, &pid) < 0 || pid == except)
			continue;
		if (is_session_of(procroot, (pid_t)pid, postmaster))
			count++;
	}
	close(fd);
	return count;
}

/* ---- the caller's relation to a cluster ---- */

/* The path of the "0::PATH" line of <procroot>/PID/cgroup (cgroup2). */
static NOINLINE int read_cgroup2(const char *procroot, pid_t pid, char *out, size_t cap)
{
	char path[PGKG_PATH_MAX], buf[4096];	/* a cgroup file: one line on cgroup2 */
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
	long long inner = 0;

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

int pgkg_read_caller_relation_orphan(const char *procroot, pid_t caller, pid_t orphan,
				     struct pgkg_caller_rel *out)
{
	struct pgkg_procstat st;

	out->rel = 0;
	if (orphan <= 0 || read_stat_only(procroot, orphan, &st) < 0)
		return -ESRCH;
	if (is_ns_init(procroot, caller, orphan))
		out->rel |= PGKG_REL_NSINIT;
	if (same_service_cgroup(procroot, orphan, out->cgroup))
		out->rel |= PGKG_REL_CGROUP;
	return 0;
}
