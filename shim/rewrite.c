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
 *     that pg_cancel_backend() said true.  Never a raw signal: when SQL
 *     cannot be used at all (no connection, or the server does not know a
 *     pid that is its own child) the answer says so (sql_unavailable) and the
 *     guard decides about the direct route.
 *  6. The SQL argument is the pid as the server sees it (target_ns: its
 *     pid namespace); the wait is on the pidfd of the process the caller
 *     named, so another session with the same number is never reported.
 *  4. Every step is bounded: connect_timeout, statement_timeout, the wait.
 *  5. The usual case (the pid file's socket, peer or trust authentication)
 *     speaks the protocol directly (pgwire.c); libpq is loaded (dlopen) only
 *     for a policy conninfo, an environment that changes how libpq would
 *     connect, or a server that asks for more than peer/trust.  Loading
 *     libpq and its ~20 libraries costs ~4 ms on every helper start.
 */
#include "rewrite.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pgwire.h"
#include "util.h"

#define MAX_CONNS 8
#define CONNECT_TIMEOUT_S "5"
#define CONNECT_TIMEOUT_MS 5000
#define STATEMENT_TIMEOUT_OPT "-c statement_timeout=10000"
#define QUERY_TIMEOUT_MS 12000	/* the server gives up after 10 s */

/* The libpq functions we use, resolved from libpq.so.5 on first need. */
struct pq_api {
	void *handle;
	PGconn *(*connectdb_params)(const char *const *, const char *const *, int);
	ConnStatusType (*status)(const PGconn *);
	char *(*error_message)(const PGconn *);
	void (*finish)(PGconn *);
	PQnoticeReceiver (*set_notice_receiver)(PGconn *, PQnoticeReceiver, void *);
	PGresult *(*exec_params)(PGconn *, const char *, int, const Oid *, const char *const *,
				 const int *, const int *, int);
	ExecStatusType (*result_status)(const PGresult *);
	int (*ntuples)(const PGresult *);
	char *(*getvalue)(const PGresult *, int, int);
	char *(*result_error_field)(const PGresult *, int);
	void (*clear)(PGresult *);
};

/* One cached connection: exactly one of pg (libpq) and wire (pgwire.c). */
struct conn {
	PGconn *pg;
	struct pgkg_wire *wire;
	pid_t postmaster;
	uint64_t pm_starttime;
	uid_t as_uid;
	char conninfo[512];
};

struct pgkg_rewriter {
	const char *procroot;
	struct conn conns[MAX_CONNS];
	unsigned next_victim;
	struct pq_api pq;	/* .handle NULL until libpq is needed */
};

/*
 * What libpq reads from the environment must not move the connection away
 * from the target's own cluster: PGHOSTADDR would override the socket path
 * we give.  In a setuid program (the login-shell wrapper) the environment is
 * the user's: none of it reaches libpq.  Called in the rewriting process only
 * (the helper, the supervisor after fork), never in a guarded one.
 */
static void scrub_environment(void)
{
	extern char **environ;
	char name[128];

	unsetenv("PGHOSTADDR");
	if (geteuid() == 0)	/* root acts as each cluster's owner: root's password is none of theirs */
		unsetenv("PGPASSWORD");
	if (!getauxval(AT_SECURE))
		return;
	for (size_t i = 0; environ && environ[i];) {
		size_t n = strcspn(environ[i], "=");
		if (strncmp(environ[i], "PG", 2) != 0 || n >= sizeof(name)) {
			i++;
			continue;
		}
		memcpy(name, environ[i], n);
		name[n] = '\0';
		unsetenv(name);	/* environ shifts down: look at index i again */
	}
}

struct pgkg_rewriter *pgkg_rewriter_new(const char *procroot)
{
	struct pgkg_rewriter *rewriter = calloc(1, sizeof(*rewriter));

	scrub_environment();
	if (rewriter)
		rewriter->procroot = procroot;
	return rewriter;
}

static bool sym(void *handle, const char *name, void *fn)
{
	void *p = dlsym(handle, name);

	if (p)
		memcpy(fn, &p, sizeof(p));	/* POSIX: a function pointer fits */
	return p != NULL;
}

/* Load libpq once; 0, or -1 with the reason in err. */
static int load_libpq(struct pgkg_rewriter *rewriter, char *err, size_t errcap)
{
	struct pq_api *a = &rewriter->pq;
	void *h;

	if (a->handle)
		return 0;
	if (!(h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL))) {
		snprintf(err, errcap, "cannot load libpq: %s", dlerror());
		return -1;
	}
	if (!sym(h, "PQconnectdbParams", &a->connectdb_params) || !sym(h, "PQstatus", &a->status) ||
	    !sym(h, "PQerrorMessage", &a->error_message) || !sym(h, "PQfinish", &a->finish) ||
	    !sym(h, "PQsetNoticeReceiver", &a->set_notice_receiver) ||
	    !sym(h, "PQexecParams", &a->exec_params) ||
	    !sym(h, "PQresultStatus", &a->result_status) || !sym(h, "PQntuples", &a->ntuples) ||
	    !sym(h, "PQgetvalue", &a->getvalue) ||
	    !sym(h, "PQresultErrorField", &a->result_error_field) || !sym(h, "PQclear", &a->clear)) {
		snprintf(err, errcap, "cannot load libpq: %s", dlerror());
		dlclose(h);
		memset(a, 0, sizeof(*a));
		return -1;
	}
	a->handle = h;
	return 0;
}

static bool conn_ok(const struct pgkg_rewriter *rewriter, const struct conn *c)
{
	return c->wire ? pgkg_wire_ok(c->wire) : c->pg && rewriter->pq.status(c->pg) == CONNECTION_OK;
}

static void drop(struct pgkg_rewriter *rewriter, struct conn *c)
{
	if (c->pg)
		rewriter->pq.finish(c->pg);
	pgkg_wire_close(c->wire);
	memset(c, 0, sizeof(*c));
}

void pgkg_rewriter_free(struct pgkg_rewriter *rewriter)
{
	if (!rewriter)
		return;
	for (int i = 0; i < MAX_CONNS; i++)
		drop(rewriter, &rewriter->conns[i]);
	if (rewriter->pq.handle)
		dlclose(rewriter->pq.handle);
	free(rewriter);
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

static struct conn *find(struct pgkg_rewriter *rewriter, const struct pgkg_rw_req *req)
{
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &rewriter->conns[i];
		if ((c->pg || c->wire) && c->postmaster == req->postmaster &&
		    c->pm_starttime == req->pm_starttime && c->as_uid == acting_uid(req) &&
		    strcmp(c->conninfo, req->conninfo) == 0)
			return c;
	}
	return NULL;
}

/* The uids (real, effective, saved, filesystem) of pm, from its status. */
static int read_uids(const struct pgkg_rewriter *rewriter, pid_t pm, unsigned *ids)
{
	struct pgkg_status ps;

	if (pgkg_read_status(rewriter->procroot, pm, PGKG_STATUS_UID, &ps) < 0 ||
	    !(ps.have & PGKG_STATUS_UID))
		return -1;
	for (int i = 0; i < 4; i++)
		ids[i] = ps.uid[i];
	return 0;
}

/*
 * What a rewrite may trust (issue 9, finding 6; SECURITY.md "Planted
 * clusters").  Anyone can start a process named postgres with a pid file and
 * a socket of theirs, and the guard would connect to it, as root or as the
 * owner it saw.  So before anything is sent: the postmaster is still the one
 * classified (same start time); its real and effective uids are equal and
 * neither they nor the saved uid are root; that uid is the owner the guard
 * saw (the owner of /proc/PID) and acts as; it owns its data directory (its
 * cwd), its pid file and the socket the pid file names; and the acting
 * identity is never root.  pgwire.c then checks that
 * the socket's listener (SO_PEERCRED) is that postmaster.  Such a server
 * gets nothing its owner could not get by connecting as themselves.
 * 0, or -1 with the reason in err.
 */
static int verify_server(const struct pgkg_rewriter *rewriter, const struct pgkg_rw_req *req,
			 char *err, size_t errcap)
{
	char path[PGKG_PATH_MAX + 96];
	const char *why = NULL;
	unsigned ids[4] = {0};
	struct pgkg_procstat st;
	struct stat sb;
	int dir = -1, fd = -1;

	if (pgkg_read_stat(rewriter->procroot, req->postmaster, &st) < 0 ||
	    st.starttime != req->pm_starttime)
		why = "it has exited";
	else if (read_uids(rewriter, req->postmaster, ids) < 0)
		why = "its user ids cannot be read";
	else if (ids[0] != ids[1] || !ids[0] || !ids[2])
		why = "it runs as root, or with real and effective uids that differ";
	else if (ids[0] != req->owner_uid)
		why = "its uid is not the owner the guard saw";
	snprintf(path, sizeof(path), "%s/%d/cwd", rewriter->procroot, req->postmaster);
	if (!why && ((dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(dir, &sb) < 0))
		why = "its data directory cannot be checked (not readable by the caller)";
	else if (!why && sb.st_uid != ids[0])
		why = "it does not own its data directory";
	for (const char *const *n = pgkg_pidfile_names; !why && *n && fd < 0; n++)
		fd = openat(dir, *n, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (!why && (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_uid != ids[0]))
		why = "it does not own its pid file";
	snprintf(path, sizeof(path), "%s/%d/root%s/.s.PGSQL.%d", rewriter->procroot, req->postmaster,
		 req->sockdir, req->port);
	if (!why && !req->conninfo[0] &&
	    (stat(path, &sb) < 0 || !S_ISSOCK(sb.st_mode) || sb.st_uid != ids[0]))
		why = "it does not own the socket its pid file names";
	if (!why && acting_uid(req) == 0)
		why = "the guard would connect as root";
	if (dir >= 0)
		close(dir);
	if (fd >= 0)
		close(fd);
	if (why)
		snprintf(err, errcap, "not a server to trust: postmaster %d: %s", (int)req->postmaster,
			 why);
	return why ? -1 : 0;
}

/* The postmaster's egid: /proc/PM/root is reachable only with its uid AND gid. */
static gid_t postmaster_gid(const struct pgkg_rewriter *rewriter, pid_t pm)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%d", rewriter->procroot, pm);
	return stat(path, &st) == 0 ? st.st_gid : getegid();
}

/* One connection attempt: what it needs and what it got. */
struct attempt {
	struct pgkg_rewriter *rewriter;
	const struct pgkg_rw_req *req;
	const char *dbname;
	const char *user;	/* NULL: libpq's default */
	PGconn *pg;
	struct pgkg_wire *wire;
	int wire_err;		/* -EPROTONOSUPPORT: the server wants libpq */
	char *err;
	size_t errcap;
};

/* Run fn with the effective ids of the cluster's owner (root only). */
static int as_owner(uid_t uid, gid_t gid, void (*fn)(struct attempt *), struct attempt *a)
{
	bool switch_ids = geteuid() == 0 && uid != 0;
	gid_t saved_gid = getegid();

	/* SO_PEERCRED records the effective ids at connect(): peer auth sees uid. */
	if (switch_ids && (setegid(gid) < 0 || seteuid(uid) < 0)) {
		if ((geteuid() != 0 && seteuid(0) < 0) || setegid(saved_gid) < 0)
			abort();
		snprintf(a->err, a->errcap, "cannot act as uid %u", (unsigned)uid);
		return -1;
	}
	fn(a);
	if (switch_ids && (seteuid(0) < 0 || setegid(saved_gid) < 0))
		abort();	/* cannot regain root: never continue half-privileged */
	return 0;
}

static void connect_wire(struct attempt *a)
{
	char path[PGKG_PATH_MAX + 96];
	const char *params[] = {"user", a->user, "database", a->dbname,
				"application_name", "pgkillguard", "options", STATEMENT_TIMEOUT_OPT,
				NULL};

	/* verify_server checked the owner: the listener must be that postmaster */
	const struct pgkg_wire_peer peer = {a->req->postmaster, a->req->owner_uid};

	snprintf(path, sizeof(path), "%s/%d/root%s/.s.PGSQL.%d", a->rewriter->procroot,
		 a->req->postmaster, a->req->sockdir, a->req->port);
	a->wire = pgkg_wire_connect_peer(path, &peer, params, CONNECT_TIMEOUT_MS, &a->wire_err,
					 a->err, a->errcap);
}

static void connect_libpq(struct attempt *a)
{
	char host[PGKG_PATH_MAX + 64], port[16];
	const struct pgkg_rw_req *req = a->req;
	const char *keys[10], *vals[10];
	int n = 0;

	snprintf(host, sizeof(host), "%s/%d/root%s", a->rewriter->procroot, req->postmaster, req->sockdir);
	snprintf(port, sizeof(port), "%d", req->port);
	if (req->conninfo[0]) {
		keys[n] = "dbname", vals[n++] = req->conninfo;	/* expanded: may say anything */
	} else {
		keys[n] = "host", vals[n++] = host;
		keys[n] = "port", vals[n++] = port;
		keys[n] = "dbname", vals[n++] = a->dbname;
		if (a->user)
			keys[n] = "user", vals[n++] = a->user;
	}
	keys[n] = "application_name", vals[n++] = "pgkillguard";
	keys[n] = "connect_timeout", vals[n++] = CONNECT_TIMEOUT_S;
	keys[n] = "options", vals[n++] = STATEMENT_TIMEOUT_OPT;
	if (!req->conninfo[0] && geteuid() != getuid()) {
		/* acting as the owner for root: never root's ~/.pgpass (PGPASSWORD: scrub_environment) */
		keys[n] = "passfile", vals[n++] = "/dev/null";
	}
	keys[n] = NULL, vals[n] = NULL;
	a->pg = a->rewriter->pq.connectdb_params(keys, vals, 1);
	if (a->pg && a->rewriter->pq.status(a->pg) == CONNECTION_OK)
		return;
	snprintf(a->err, a->errcap, "%s", a->pg ? a->rewriter->pq.error_message(a->pg) : "out of memory");
	a->rewriter->pq.finish(a->pg);
	a->pg = NULL;
}

/* Would libpq connect differently from the plain socket + peer/trust login
 * pgwire.c does?  Then let libpq do it. */
static bool needs_libpq(const struct pgkg_rw_req *req)
{
	static const char *const env[] = {"PGSERVICE", "PGREQUIREPEER", "PGCHANNELBINDING",
					  "PGREQUIREAUTH", "PGGSSENCMODE", "PGSSLMODE",
					  "PGTARGETSESSIONATTRS", NULL};

	if (req->conninfo[0])
		return true;
	for (const char *const *e = env; *e; e++) {
		const char *v = secure_getenv(*e);
		if (v && *v)
			return true;
	}
	return false;
}

/* The role to log in as: the owner's name for root; else $PGUSER or our
 * own name, as libpq would choose.  False when there is none. */
static bool login_name(uid_t uid, char *out, size_t cap)
{
	const char *env = secure_getenv("PGUSER");
	struct passwd *pw;

	if (geteuid() != 0 && env && *env)
		return pgkg_strlcpy(out, env, cap) < cap;
	pw = getpwuid(geteuid() == 0 ? uid : geteuid());
	return pw && pgkg_strlcpy(out, pw->pw_name, cap) < cap;
}

/* Connect to req's cluster as the acting user: 0 with c->pg or c->wire set, or -1. */
static int connect_cluster(struct pgkg_rewriter *rewriter, const struct pgkg_rw_req *req,
			   const char *dbname, struct conn *c, char *err, size_t errcap,
			   bool *untrusted)
{
	struct attempt a = {.rewriter = rewriter, .req = req, .dbname = dbname,
			    .err = err, .errcap = errcap};
	uid_t uid = acting_uid(req);
	gid_t gid = postmaster_gid(rewriter, req->postmaster);
	char user[256];
	bool named = login_name(uid, user, sizeof(user));

	if (!req->conninfo[0] && !req->sockdir[0]) {
		snprintf(err, errcap, "the pid file names no Unix socket directory");
		return -1;
	}
	if (verify_server(rewriter, req, err, errcap) < 0) {
		*untrusted = true;
		return -1;
	}
	if (named && !needs_libpq(req)) {
		a.user = user;
		if (as_owner(uid, gid, connect_wire, &a) < 0)
			return -1;
		if ((c->wire = a.wire) != NULL)
			return 0;
		/* not that postmaster's listener, or its root not even reachable
		 * as its owner (a postmaster is dumpable): nothing to trust */
		*untrusted = a.wire_err == PGKG_WIRE_UNTRUSTED || a.wire_err == -EACCES;
		if (a.wire_err != -EPROTONOSUPPORT)
			return -1;
	}
	a.user = named && geteuid() == 0 ? user : NULL;	/* others: libpq's own default */
	if (load_libpq(rewriter, err, errcap) < 0 || as_owner(uid, gid, connect_libpq, &a) < 0)
		return -1;
	c->pg = a.pg;
	return c->pg ? 0 : -1;
}

static struct conn *get_conn(struct pgkg_rewriter *rewriter, const struct pgkg_rw_req *req,
			     struct pgkg_rw_rep *rep)
{
	struct conn *c = find(rewriter, req), fresh = {0};
	char err[sizeof(rep->detail)] = "";
	int r;

	if (c && conn_ok(rewriter, c))
		return c;
	if (c)
		drop(rewriter, c);
	bool untrusted = false;

	r = connect_cluster(rewriter, req, "postgres", &fresh, err, sizeof(err), &untrusted);
	if (r < 0 && !untrusted && strstr(err, "does not exist"))
		r = connect_cluster(rewriter, req, "template1", &fresh, err, sizeof(err), &untrusted);
	if (r < 0) {
		set_detail(rep, PGKG_RW_NOCONN, err);
		rep->server_untrusted = untrusted;
		return NULL;
	}
	c = &rewriter->conns[rewriter->next_victim++ % MAX_CONNS];
	drop(rewriter, c);
	*c = fresh;
	c->postmaster = req->postmaster;
	c->pm_starttime = req->pm_starttime;
	c->as_uid = acting_uid(req);
	pgkg_strlcpy(c->conninfo, req->conninfo, sizeof(c->conninfo));
	return c;
}

/* The pid as the target's server knows it (its pid namespace). */
static pid_t server_pid(const struct pgkg_rw_req *req)
{
	return req->target_ns > 0 ? req->target_ns : req->target;
}

struct notice_sink {
	const struct pq_api *pq;
	struct pgkg_rw_rep *rep;
};

/* WARNINGs such as "PID 123 is not a PostgreSQL backend process". */
static void capture_notice(void *arg, const PGresult *res)
{
	struct notice_sink *sink = arg;
	const char *m = sink->pq->result_error_field(res, PG_DIAG_MESSAGE_PRIMARY);

	if (m)
		pgkg_strlcpy(sink->rep->detail, m, sizeof(sink->rep->detail));
}

/* 1: true, 0: false, -1: error (detail set). */
static int call_libpq(const struct pq_api *pq, PGconn *pg, const struct pgkg_rw_req *req,
		      struct pgkg_rw_rep *rep)
{
	const char *sql = req->op == PGKG_RW_CANCEL ? "SELECT pg_catalog.pg_cancel_backend($1)"
						    : "SELECT pg_catalog.pg_terminate_backend($1)";
	struct notice_sink sink = {.pq = pq, .rep = rep};
	char pidbuf[16];
	const char *params[1] = {pidbuf};
	PGresult *res;
	int r = -1;

	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)server_pid(req));
	pq->set_notice_receiver(pg, capture_notice, &sink);
	res = pq->exec_params(pg, sql, 1, NULL, params, NULL, NULL, 0);
	if (pq->result_status(res) == PGRES_TUPLES_OK && pq->ntuples(res) == 1)
		r = strcmp(pq->getvalue(res, 0, 0), "t") == 0;
	else
		set_detail(rep, PGKG_RW_REFUSED,
			   pq->result_error_field(res, PG_DIAG_MESSAGE_PRIMARY)
				   ? pq->result_error_field(res, PG_DIAG_MESSAGE_PRIMARY)
				   : pq->error_message(pg));
	pq->clear(res);
	pq->set_notice_receiver(pg, NULL, NULL);
	return r;
}

/* The same over pgwire.c: the pid is an integer we print, nothing to quote. */
static int call_wire(struct pgkg_wire *w, const struct pgkg_rw_req *req, struct pgkg_rw_rep *rep)
{
	char sql[96], err[sizeof(rep->detail)] = "";
	int r;

	snprintf(sql, sizeof(sql), "SELECT pg_catalog.%s(%d)",
		 req->op == PGKG_RW_CANCEL ? "pg_cancel_backend" : "pg_terminate_backend",
		 (int)server_pid(req));
	r = pgkg_wire_query_bool(w, sql, QUERY_TIMEOUT_MS, err, sizeof(err), rep->detail,
				 sizeof(rep->detail));
	if (r < 0)
		set_detail(rep, PGKG_RW_REFUSED, err);
	return r;
}

static int call_function(struct pgkg_rewriter *rewriter, struct conn *c,
			 const struct pgkg_rw_req *req, struct pgkg_rw_rep *rep)
{
	return c->wire ? call_wire(c->wire, req, rep) : call_libpq(&rewriter->pq, c->pg, req, rep);
}

/* ---- a target that outlived the timeout: what it runs (issue 12) ---- */

#define ACTIVITY_SQL                                                                     \
	"SELECT pg_catalog.concat('state=', coalesce(state, '-'), ' wait_event=', "      \
	"coalesce(wait_event_type || ':' || wait_event, '-'), ' backend_start=', "       \
	"to_char(backend_start, 'HH24:MI:SS'), ' query_start=', "                      \
	"coalesce(to_char(query_start, 'HH24:MI:SS'), '-'), ' query=', "               \
	"left(regexp_replace(coalesce(query, ''), '\\s+', ' ', 'g'), 240)) "           \
	"FROM pg_catalog.pg_stat_activity WHERE pid = "

static void activity_libpq(const struct pq_api *pq, PGconn *pg, const char *sql, char *out,
			   size_t cap)
{
	PGresult *res = pq->exec_params(pg, sql, 0, NULL, NULL, NULL, NULL, 0);

	if (pq->result_status(res) == PGRES_TUPLES_OK && pq->ntuples(res) == 1)
		pgkg_strlcpy(out, pq->getvalue(res, 0, 0), cap);
	pq->clear(res);
}

/* The target's row of pg_stat_activity, folded to one line, into rep->activity. */
static void fetch_activity(struct pgkg_rewriter *rewriter, const struct pgkg_rw_req *req,
			   struct pgkg_rw_rep *rep)
{
	struct conn *c = find(rewriter, req);
	char sql[sizeof(ACTIVITY_SQL) + 16], err[128];

	rep->activity[0] = '\0';
	if (!c || !conn_ok(rewriter, c))
		return;
	snprintf(sql, sizeof(sql), "%s%d", ACTIVITY_SQL, (int)req->target);
	if (c->wire)
		pgkg_wire_query_text(c->wire, sql, QUERY_TIMEOUT_MS, rep->activity,
				     sizeof(rep->activity), err, sizeof(err));
	else
		activity_libpq(&rewriter->pq, c->pg, sql, rep->activity, sizeof(rep->activity));
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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
		long long left = deadline - pgkg_mono_ms();
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

void pgkg_rewriter_run(struct pgkg_rewriter *rewriter, const struct pgkg_rw_req *req, int pidfd,
		       struct pgkg_rw_rep *rep)
{
	long long t0 = pgkg_mono_ms();
	struct conn *c;
	int r = -1;

	memset(rep, 0, sizeof(*rep));
	rep->magic = PGKG_RW_MAGIC;
	rep->returned = -1;
	if (req->op == PGKG_RW_TERMINATE && already_gone(rewriter->procroot, req->target, pidfd)) {
		rep->status = PGKG_RW_OK;	/* a retried request: it went with the first */
		return;
	}
	for (int attempt = 0; attempt < 2 && r < 0; attempt++) {
		if (!(c = get_conn(rewriter, req, rep)))
			break;
		if (pidfd >= 0 && already_gone(rewriter->procroot, req->target, pidfd)) {
			r = 1;	/* went while we connected: never send its number, now maybe another's */
			break;
		}
		r = call_function(rewriter, c, req, rep);
		if (r < 0 && !conn_ok(rewriter, c))
			drop(rewriter, c);	/* a stale cached connection: once more */
		else
			break;
	}
	if (r >= 0) {
		rep->returned = r;
		rep->signalled_ms = (uint32_t)(pgkg_mono_ms() - t0);
		rep->signalled_at_ms = wall_ms();
	}
	if (r == 0)
		set_detail(rep, PGKG_RW_REFUSED, rep->detail[0] ? rep->detail : "the function returned false");
	/*
	 * false (no error) means the server did not signal a pid the guard found
	 * to be its own child: "PID %d is not a PostgreSQL backend process" (a
	 * background worker without a database connection) or its kill() failed.
	 * Refusals for permission are errors (r < 0), never false.  Not matched
	 * on the text: lc_messages may translate it.
	 */
	rep->sql_unavailable = (rep->status == PGKG_RW_NOCONN && !rep->server_untrusted) || r == 0;
	if (r == 1 && req->op == PGKG_RW_TERMINATE &&
	    !wait_gone(rewriter->procroot, req->target, pidfd, t0 + req->timeout_ms)) {
		set_detail(rep, PGKG_RW_TIMEOUT, "");
		fetch_activity(rewriter, req, rep);
	} else if (r == 1)
		set_detail(rep, PGKG_RW_OK, "");
	rep->elapsed_ms = (uint32_t)(pgkg_mono_ms() - t0);
}
