/*
 * rewrite.c - connect to the target's own cluster and end the backend the
 * way PostgreSQL wants it ended.
 *
 *  1. The connection goes to the cluster the target belongs to: the socket
 *     directory and port of its postmaster's pid file, reached through
 *     /proc/POSTMASTER/root (a chrooted or containerised server works).
 *  2. A root caller acts as the cluster's owner (effective uid switched for
 *     connect(), so peer authentication sees the owner); anyone else is
 *     themselves.  No privilege is added: the guard has already checked the
 *     caller could signal the target.
 *  3. Success means the process is gone (pidfd readable), or for cancel,
 *     that pg_cancel_backend() said true.  Never a raw signal.
 *  4. Every step is bounded: connect_timeout, statement_timeout, the wait.
 */
#include "rewrite.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define MAX_CONNS 8
#define CONNECT_TIMEOUT_S "5"

struct conn {
	PGconn *pg;
	pid_t postmaster;
	uint64_t pm_starttime;
	uid_t as_uid;
	char conninfo[512];
};

struct pgkg_rewriter {
	const char *procroot;
	struct conn conns[MAX_CONNS];
	unsigned next_victim;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct pgkg_rewriter *pgkg_rewriter_new(const char *procroot)
{
	struct pgkg_rewriter *rw = calloc(1, sizeof(*rw));

	if (rw)
		rw->procroot = procroot;
	return rw;
}

static void drop(struct conn *c)
{
	if (c->pg)
		PQfinish(c->pg);
	memset(c, 0, sizeof(*c));
}

void pgkg_rewriter_free(struct pgkg_rewriter *rw)
{
	if (!rw)
		return;
	for (int i = 0; i < MAX_CONNS; i++)
		drop(&rw->conns[i]);
	free(rw);
}

static void set_detail(struct pgkg_rw_rep *rep, int status, const char *text)
{
	size_t n;

	rep->status = status;
	pgkg_strlcpy(rep->detail, text ? text : "", sizeof(rep->detail));
	n = strlen(rep->detail);	/* libpq messages end in newlines */
	while (n && (rep->detail[n - 1] == '\n' || rep->detail[n - 1] == ' '))
		rep->detail[--n] = '\0';
	for (char *p = rep->detail; *p; p++) {
		if (*p == '\n')
			*p = ' ';
	}
}

static uid_t acting_uid(const struct pgkg_rw_req *req)
{
	return geteuid() == 0 ? req->owner_uid : geteuid();
}

static struct conn *find(struct pgkg_rewriter *rw, const struct pgkg_rw_req *req)
{
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &rw->conns[i];
		if (c->pg && c->postmaster == req->postmaster &&
		    c->pm_starttime == req->pm_starttime && c->as_uid == acting_uid(req) &&
		    strcmp(c->conninfo, req->conninfo) == 0)
			return c;
	}
	return NULL;
}

/* The postmaster's egid: /proc/PM/root is reachable only with its uid AND gid. */
static gid_t postmaster_gid(const struct pgkg_rewriter *rw, pid_t pm)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%d", rw->procroot, pm);
	return stat(path, &st) == 0 ? st.st_gid : getegid();
}

static PGconn *open_as(const char *const *keys, const char *const *vals, uid_t uid, gid_t gid)
{
	bool switch_ids = geteuid() == 0 && uid != 0;
	gid_t saved_gid = getegid();
	PGconn *pg;

	/* SO_PEERCRED records the effective ids at connect(): peer auth sees uid. */
	if (switch_ids && (setegid(gid) < 0 || seteuid(uid) < 0)) {
		if ((geteuid() != 0 && seteuid(0) < 0) || setegid(saved_gid) < 0)
			abort();
		return NULL;
	}
	pg = PQconnectdbParams(keys, vals, 1);
	if (switch_ids && (seteuid(0) < 0 || setegid(saved_gid) < 0))
		abort();	/* cannot regain root: never continue half-privileged */
	return pg;
}

static PGconn *connect_cluster(struct pgkg_rewriter *rw, const struct pgkg_rw_req *req,
			       const char *dbname, char *err, size_t errcap)
{
	char host[PGKG_PATH_MAX + 64], port[16];
	struct passwd *pw = NULL;
	uid_t uid = acting_uid(req);
	const char *keys[9], *vals[9];
	int n = 0;
	PGconn *pg;

	snprintf(host, sizeof(host), "%s/%d/root%s", rw->procroot, req->postmaster, req->sockdir);
	snprintf(port, sizeof(port), "%d", req->port);
	if (req->conninfo[0]) {
		keys[n] = "dbname", vals[n++] = req->conninfo;	/* expanded: may say anything */
	} else {
		keys[n] = "host", vals[n++] = host;
		keys[n] = "port", vals[n++] = port;
		keys[n] = "dbname", vals[n++] = dbname;
		if (geteuid() == 0 && (pw = getpwuid(uid)) != NULL)
			keys[n] = "user", vals[n++] = pw->pw_name;
	}
	keys[n] = "application_name", vals[n++] = "pgkillguard";
	keys[n] = "connect_timeout", vals[n++] = CONNECT_TIMEOUT_S;
	keys[n] = "options", vals[n++] = "-c statement_timeout=10000";
	keys[n] = NULL, vals[n] = NULL;
	if (!req->conninfo[0] && !req->sockdir[0]) {
		snprintf(err, errcap, "the pid file names no Unix socket directory");
		return NULL;
	}
	pg = open_as(keys, vals, uid, postmaster_gid(rw, req->postmaster));
	if (pg && PQstatus(pg) == CONNECTION_OK)
		return pg;
	snprintf(err, errcap, "%s", pg ? PQerrorMessage(pg) : "out of memory");
	PQfinish(pg);
	return NULL;
}

static struct conn *get_conn(struct pgkg_rewriter *rw, const struct pgkg_rw_req *req,
			     struct pgkg_rw_rep *rep)
{
	struct conn *c = find(rw, req);
	char err[sizeof(rep->detail)] = "";
	PGconn *pg;

	if (c && PQstatus(c->pg) == CONNECTION_OK)
		return c;
	if (c)
		drop(c);
	pg = connect_cluster(rw, req, "postgres", err, sizeof(err));
	if (!pg && strstr(err, "does not exist"))
		pg = connect_cluster(rw, req, "template1", err, sizeof(err));
	if (!pg) {
		set_detail(rep, PGKG_RW_NOCONN, err);
		return NULL;
	}
	c = &rw->conns[rw->next_victim++ % MAX_CONNS];
	drop(c);
	*c = (struct conn){.pg = pg, .postmaster = req->postmaster,
			   .pm_starttime = req->pm_starttime, .as_uid = acting_uid(req)};
	pgkg_strlcpy(c->conninfo, req->conninfo, sizeof(c->conninfo));
	return c;
}

/* WARNINGs such as "PID 123 is not a PostgreSQL backend process". */
static void capture_notice(void *arg, const PGresult *res)
{
	struct pgkg_rw_rep *rep = arg;
	const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (m)
		pgkg_strlcpy(rep->detail, m, sizeof(rep->detail));
}

/* 1: true, 0: false, -1: error (detail set). */
static int call_function(PGconn *pg, const struct pgkg_rw_req *req, struct pgkg_rw_rep *rep)
{
	const char *sql = req->op == PGKG_RW_CANCEL ? "SELECT pg_catalog.pg_cancel_backend($1)"
						    : "SELECT pg_catalog.pg_terminate_backend($1)";
	char pidbuf[16];
	const char *params[1] = {pidbuf};
	PGresult *res;
	int r = -1;

	snprintf(pidbuf, sizeof(pidbuf), "%d", req->target);
	PQsetNoticeReceiver(pg, capture_notice, rep);
	res = PQexecParams(pg, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		r = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	else
		set_detail(rep, PGKG_RW_REFUSED,
			   PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
				   ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
				   : PQerrorMessage(pg));
	PQclear(res);
	PQsetNoticeReceiver(pg, NULL, NULL);
	return r;
}

static bool gone_by_proc(const char *procroot, pid_t pid)
{
	struct pgkg_procstat st;

	return pgkg_read_stat(procroot, pid, &st) < 0 || st.state == 'Z' || st.state == 'X';
}

/* Wait until the target has exited: pidfd readable, or /proc says so. */
static bool wait_gone(const char *procroot, pid_t pid, int pidfd, long long deadline)
{
	for (;;) {
		long long left = deadline - mono_ms();
		if (pidfd >= 0) {
			struct pollfd p = {.fd = pidfd, .events = POLLIN};
			int r = poll(&p, 1, left > 0 ? (int)left : 0);
			if (r > 0)
				return true;
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				pidfd = -1;	/* fall back to /proc */
		} else if (gone_by_proc(procroot, pid)) {
			return true;
		} else if (left > 0) {
			usleep(1000);
			continue;
		}
		if (left <= 0)
			return false;
	}
}

static bool already_gone(const char *procroot, pid_t pid, int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	if (pidfd >= 0)
		return poll(&p, 1, 0) > 0;
	return gone_by_proc(procroot, pid);
}

void pgkg_rewriter_run(struct pgkg_rewriter *rw, const struct pgkg_rw_req *req, int pidfd,
		       struct pgkg_rw_rep *rep)
{
	long long t0 = mono_ms();
	struct conn *c;
	int r = -1;

	memset(rep, 0, sizeof(*rep));
	rep->magic = PGKG_RW_MAGIC;
	if (req->op == PGKG_RW_TERMINATE && already_gone(rw->procroot, req->target, pidfd)) {
		rep->status = PGKG_RW_OK;	/* a retried request: it went with the first */
		return;
	}
	for (int attempt = 0; attempt < 2 && r < 0; attempt++) {
		if (!(c = get_conn(rw, req, rep)))
			break;
		r = call_function(c->pg, req, rep);
		if (r < 0 && PQstatus(c->pg) != CONNECTION_OK)
			drop(c);	/* a stale cached connection: once more */
		else
			break;
	}
	if (r == 0)
		set_detail(rep, PGKG_RW_REFUSED, rep->detail[0] ? rep->detail : "the function returned false");
	if (r == 1 && req->op == PGKG_RW_TERMINATE &&
	    !wait_gone(rw->procroot, req->target, pidfd, t0 + req->timeout_ms))
		set_detail(rep, PGKG_RW_TIMEOUT, "");
	else if (r == 1)
		set_detail(rep, PGKG_RW_OK, "");
	rep->elapsed_ms = (uint32_t)(mono_ms() - t0);
}
