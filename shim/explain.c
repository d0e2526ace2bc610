/*
 * explain.c - `pgkillguard explain` and `pgkillguard check`.
 *
 * Both only read: /proc, pid files and the policy.  Nothing is signalled.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "guard.h"

static const char procroot[] = "/proc";
static const int overview_signals[] = {SIGKILL, SIGQUIT, SIGTERM, SIGINT, SIGHUP, SIGSTOP};
#define NOVERVIEW (sizeof(overview_signals) / sizeof(overview_signals[0]))

/* Both are big: static, not on the stack. */
static struct pgkg_policy policy;
static struct pgkg_target target;

struct explain_opts {
	const char *policy_path;
	int sig;		/* 0: the overview set */
	bool json;
	long long width;	/* of the table: -1 the terminal's, 0 no limit */
	struct pgkg_caller caller;
	bool relation;		/* read the caller's exe, cgroup and relation per target */
};

/* s escaped for the terminal (pgkg_buf_put_printable); four may be in use at once. */
static const char *esc(const char *s)
{
	static char bufs[4][2 * PGKG_PATH_MAX];
	static unsigned next;
	char *out = bufs[next++ % 4];
	struct pgkg_buf b;

	pgkg_buf_init(&b, out, sizeof(bufs[0]));
	pgkg_buf_put_printable(&b, s);
	return out;
}

static struct pgkg_caller_rel relation;

static void print_error(void *ctx, const char *file, int line, const char *msg)
{
	int *count = ctx;

	fprintf(stderr, "%s:%d: %s\n", esc(file), line, esc(msg));
	if (count)
		(*count)++;
}

static int parse_signal(const char *s)
{
	pgkg_sigset set = pgkg_signals_from_name(s, strlen(s));

	if (!set || (set & (set - 1)))
		die("-s %s: not a single signal name or number", s);
	return __builtin_ctzll(set) + 1;
}

static void fill_caller(struct pgkg_caller *c, const char *program)
{
	c->pid = getppid();
	c->uid = getuid();
	c->gid = getgid();
	c->ngroups = getgroups((int)(sizeof(c->groups) / sizeof(c->groups[0])), c->groups);
	if (c->ngroups < 0)
		c->ngroups = 0;
	if (program)
		snprintf(c->comm, sizeof(c->comm), "%s", program);
	else if (pgkg_read_comm(procroot, c->pid, c->comm) < 0)
		snprintf(c->comm, sizeof(c->comm), "?");
}

/* --caller PID: that process's real uid, gid, groups (its status file, through
 * the one parser) and comm. */
static void read_caller(struct pgkg_caller *c, const char *arg)
{
	struct pgkg_creds cr;
	long long pid;
	int r;

	if (pgkg_parse_ll(arg, strlen(arg), 1, INT32_MAX, &pid) < 0)
		die("--caller %s: not a process id", arg);
	memset(c, 0, sizeof(*c));
	c->pid = (pid_t)pid;
	r = pgkg_read_creds(procroot, c->pid, &cr);
	if (r < 0) {
		errno = -r;
		die_errno("--caller %lld", pid);
	}
	c->uid = cr.uid[0];
	c->gid = cr.gid[0];
	for (int i = 0; i < cr.ngroups && c->ngroups < (int)(sizeof(c->groups) / sizeof(c->groups[0])); i++)
		c->groups[c->ngroups++] = cr.groups[i];
	if (pgkg_read_comm(procroot, c->pid, c->comm) < 0)
		snprintf(c->comm, sizeof(c->comm), "?");
}

/* The caller as the guard sees it for target t (relation facts included). */
static const struct pgkg_caller *caller_for(const struct explain_opts *o,
					    const struct pgkg_target *t)
{
	static struct pgkg_caller c;

	c = o->caller;
	c.rel = NULL;
	if (o->relation) {
		pgkg_read_caller_relation(procroot, c.pid, &t->cluster, &relation);
		if (t->kind == PGKG_KIND_ORPHAN)
			pgkg_read_caller_relation_orphan(procroot, c.pid, t->pid, &relation);
		c.rel = &relation;
	}
	return &c;
}

static void print_relation(const struct explain_opts *o, const struct pgkg_target *t)
{
	const struct pgkg_caller *c = caller_for(o, t);

	if (!c->rel)
		return;
	printf("  caller %d (exe %s, cgroup %s):", (int)c->pid, relation.exe[0] ? esc(relation.exe) : "?",
	       relation.cgroup[0] ? esc(relation.cgroup) : "?");
	if (relation.rel & PGKG_REL_PARENT)
		printf(" the postmaster's parent;");
	if (relation.rel & PGKG_REL_NSINIT)
		printf(" PID 1 of the postmaster's pid namespace;");
	if (relation.rel & PGKG_REL_CGROUP)
		printf(t->kind == PGKG_KIND_ORPHAN ? " in the orphan's service cgroup;"
						   : " in the postmaster's service cgroup;");
	printf(relation.rel ? " from=manager matches\n"
			    : " not a manager of this cluster (from= rules do not match)\n");
}

/* Escaped, at most cap - 1 bytes, never cut inside an escape or a character. */
static const char *describe(const struct pgkg_target *t, size_t cap)
{
	static char line[1024];
	struct pgkg_buf b;

	pgkg_buf_init(&b, line, cap < sizeof(line) ? cap : sizeof(line));
	pgkg_describe_target(&b, t);
	return line;
}

static void print_decision(const struct explain_opts *o, const struct pgkg_target *t, int sig,
			   bool verbose)
{
	char scratch[16];
	const char *name = pgkg_signal_name(sig, scratch, sizeof(scratch));
	struct pgkg_decision d;

	pgkg_decide(&policy, caller_for(o, t), t, sig, &d);
	printf(verbose ? "  %-5s -> %s" : " %s:%s", name ? name : "?", pgkg_action_name(d.action));
	if (!verbose)
		return;
	if (d.action == PGKG_TERMINATE && (d.route == PGKG_ROUTE_SIGNAL ||
					   (t->kind == PGKG_KIND_ORPHAN && d.route != PGKG_ROUTE_SQL)))
		printf(" (SIGTERM sent directly with your credentials, waits up to %u ms for the exit)",
		       d.timeout_ms);
	else if (d.action == PGKG_TERMINATE)
		printf(" (pg_terminate_backend, waits up to %u ms for the exit%s)", d.timeout_ms,
		       d.route == PGKG_ROUTE_AUTO ? "; SIGTERM sent directly if SQL cannot be used" : "");
	if (d.report_only)
		printf(" [report mode: let through]");
	if (d.policy_broken)
		printf(" [policy broken: failing closed]");
	else if (d.rule)
		printf("  [%s:%d]", esc(pgkg_policy_str(&policy, d.rule->file)), d.rule->line);
	else
		printf("  [no rule matches]");
	putchar('\n');
}

/* force-kill and ptrace attach: "  force-kill -> allow  [FILE:LINE]" */
static void print_scope(const struct explain_opts *o, const struct pgkg_target *t,
			enum pgkg_scope scope, const char *what)
{
	struct pgkg_decision d;

	pgkg_decide_scope(&policy, caller_for(o, t), t, scope, &d);
	printf("  %s -> %s", what, pgkg_action_name(d.action));
	if (d.policy_broken)
		printf("  [policy broken]\n");
	else if (d.rule)
		printf("  [%s:%d]\n", pgkg_policy_str(&policy, d.rule->file), d.rule->line);
	else if (scope == PGKG_SCOPE_FORCE_KILL)
		printf("  [no force-kill rule matches: refused]\n");
	else
		printf("  [no ptrace rule matches: allowed, with a warning]\n");
}

static void print_cluster(const struct pgkg_cluster *c)
{
	struct passwd *pw = getpwuid(c->owner);

	printf("  cluster %s: postmaster %d, port %d, socket %s, owner %s, status %s\n",
	       esc(c->datadir), c->postmaster, c->pf.port,
	       c->pf.sockdir[0] ? esc(c->pf.sockdir) : "(none)", pw ? esc(pw->pw_name) : "?",
	       c->pf.status[0] ? esc(c->pf.status) : "?");
}

/* Why `pg_ctl start` fails while orphans live. */
static void print_dead_cluster(const struct pgkg_cluster *c)
{
	printf("  dead cluster %s: postmaster %d (line 1 of %s) is gone; its orphaned server "
	       "processes still hold its shared memory, so pg_ctl start fails (\"pre-existing "
	       "shared memory block ... is still in use\") until they have exited\n",
	       esc(c->datadir), (int)c->postmaster, esc(c->pidfile_name));
}

static void json_process(const struct explain_opts *o, const struct pgkg_target *t,
			 bool with_cluster);

static int explain_pid(const struct explain_opts *o, const char *arg)
{
	long long pid;

	if (pgkg_parse_ll(arg, strlen(arg), 1, INT32_MAX, &pid) < 0) {
		pgkg_warn("%s: not a process id", esc(arg));
		return 1;
	}
	if (pgkg_classify(procroot, (pid_t)pid, &target) < 0) {
		if (o->json)
			printf("{\"pid\": %lld, \"error\": \"no such process\"}", pid);
		else
			printf("%lld: no such process\n", pid);
		return 1;
	}
	if (o->json) {
		json_process(o, &target, true);
		return 0;
	}
	if (target.kind == PGKG_KIND_NONE) {
		printf("%lld: %s (%s): signals pass untouched\n", pid,
		       pgkg_kind_label(PGKG_KIND_NONE), esc(target.st.comm));
		return 0;
	}
	printf("%lld: %s\n", pid, describe(&target, SIZE_MAX));
	if (target.kind == PGKG_KIND_ORPHAN)
		print_dead_cluster(&target.cluster);
	else
		print_cluster(&target.cluster);
	print_relation(o, &target);
	if (o->sig) {
		print_decision(o, &target, o->sig, true);
		return 0;
	}
	for (size_t i = 0; i < sizeof(overview_signals) / sizeof(overview_signals[0]); i++)
		print_decision(o, &target, overview_signals[i], true);
	print_scope(o, &target, PGKG_SCOPE_FORCE_KILL, "force-kill");
	print_scope(o, &target, PGKG_SCOPE_PTRACE, "ptrace attach");
	return 0;
}

/* describe(), with room for a whole data directory: nothing cut. */
static const char *describe_full(const struct pgkg_target *t)
{
	static char line[PGKG_PATH_MAX + 1024];
	struct pgkg_buf b;

	pgkg_buf_init(&b, line, sizeof(line));
	pgkg_describe_target(&b, t);
	return line;
}

/* ------------------------------------------------------------------ JSON */

/* Length (1-4) of the well-formed UTF-8 sequence at s, its code point in *cp; 0 if none. */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0)
		n = 2, c &= 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		n = 3, c &= 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		n = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* also stops at the terminating NUL */
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* What a terminal or a viewer may act on: C0, DEL, C1, bidi and line controls. */
static bool json_escaped(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* s as a JSON string: always valid UTF-8 (a stray byte becomes U+FFFD), controls as \uXXXX. */
static void json_str(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	putchar('"');
	while (*s) {
		uint32_t c;
		size_t n = utf8_seq(s, &c);
		if (!n) {
			fputs("\\ufffd", stdout);
			s++;
			continue;
		}
		if (c == '"' || c == '\\')
			printf("\\%c", (int)c);
		else if (json_escaped(c))
			printf("\\u%04x", (unsigned)c);
		else
			fwrite(s, 1, n, stdout);
		s += n;
	}
	putchar('"');
}

static void json_key(const char *key, const char *value)
{
	printf(", \"%s\": ", key);
	json_str(value);
}

static void json_decisions(const struct explain_opts *o, const struct pgkg_target *t)
{
	int one = o->sig;
	size_t n = one ? 1 : NOVERVIEW;

	fputs(", \"decisions\": {", stdout);
	for (size_t i = 0; i < n; i++) {
		int sig = one ? one : overview_signals[i];
		char scratch[16], num[16];
		const char *name = pgkg_signal_name(sig, scratch, sizeof(scratch));
		struct pgkg_decision d;

		pgkg_decide(&policy, caller_for(o, t), t, sig, &d);
		snprintf(num, sizeof(num), "%d", sig);
		fputs(i ? ", " : "", stdout);
		json_str(name ? name : num);
		printf(": {\"signal\": %d, \"action\": ", sig);
		json_str(pgkg_action_name(d.action));
		if (d.action == PGKG_TERMINATE || d.action == PGKG_CANCEL)
			printf(", \"timeout_ms\": %u", d.timeout_ms);
		printf(", \"report_only\": %s, \"policy_broken\": %s, \"rule\": ",
		       d.report_only ? "true" : "false", d.policy_broken ? "true" : "false");
		if (d.rule && !d.policy_broken) {
			fputs("{\"file\": ", stdout);
			json_str(pgkg_policy_str(&policy, d.rule->file));
			printf(", \"line\": %d}", d.rule->line);
		} else {
			fputs("null", stdout);
		}
		putchar('}');
	}
	putchar('}');
}

static void json_cluster_fields(const struct pgkg_cluster *c)
{
	struct passwd *pw = getpwuid(c->owner);

	printf("{\"postmaster\": %d", (int)c->postmaster);
	json_key("datadir", c->datadir);
	printf(", \"port\": %d, \"socket\": ", c->pf.port);
	if (c->pf.sockdir[0])
		json_str(c->pf.sockdir);
	else
		fputs("null", stdout);
	printf(", \"owner_uid\": %u, \"owner\": ", (unsigned)c->owner);
	if (pw)
		json_str(pw->pw_name);
	else
		fputs("null", stdout);
	json_key("status", c->pf.status);
}

/* One process as a JSON object; with_cluster: its cluster inside it. */
static void json_process(const struct explain_opts *o, const struct pgkg_target *t,
			 bool with_cluster)
{
	printf("{\"pid\": %d", (int)t->pid);
	json_key("kind", pgkg_kind_label(t->kind));
	if (t->kind == PGKG_KIND_NONE) {
		json_key("program", t->st.comm);
		fputs(", \"protected\": false}", stdout);
		return;
	}
	json_key("description", describe_full(t));
	if (t->kind == PGKG_KIND_CLIENT_BACKEND || t->kind == PGKG_KIND_WALSENDER) {
		json_key("user", t->title.user);
		json_key("database", t->title.db);
		json_key("host", t->title.host);
		json_key("state", t->title.state);
	}
	printf(", \"protected\": true, \"parent_verified\": %s", t->unverified ? "false" : "true");
	if (with_cluster) {
		fputs(", \"cluster\": ", stdout);
		json_cluster_fields(&t->cluster);
		putchar('}');
	}
	json_decisions(o, t);
	putchar('}');
}

static void json_head(const struct explain_opts *o)
{
	fputs("{\"policy\": {\"path\": ", stdout);
	json_str(policy.path);
	printf(", \"mode\": \"%s\", \"broken\": %s}, \"caller\": {\"program\": ",
	       policy.mode == PGKG_MODE_REPORT ? "report" : "enforce", policy.broken ? "true" : "false");
	json_str(o->caller.comm);
	printf(", \"uid\": %u}", (unsigned)o->caller.uid);
}

/* ----------------------------------------------------------- the overview */

/* Every server-named process, grouped under its postmaster: on_cluster, then
 * on_process for the postmaster and each of its children.  Returns the number
 * of clusters. */
struct scan_ops {
	void (*on_cluster)(void *ctx, const struct pgkg_cluster *c);
	void (*on_process)(void *ctx, const struct pgkg_target *t);
	void *ctx;
	/* a cluster whose postmaster is gone, before its orphans (on_process) */
	void (*on_dead_cluster)(void *ctx, const struct pgkg_cluster *c);
};

#define MAX_ORPHANS 256

/* Orphans seen while listing the host, grouped by data directory later. */
static struct {
	unsigned n;
	pid_t pid[MAX_ORPHANS];
} orphans;

static void collect_orphans(void)
{
	DIR *d = opendir(procroot);
	struct dirent *de;

	orphans.n = 0;
	while (d && (de = readdir(d)) && orphans.n < MAX_ORPHANS) {
		long long pid;
		if (pgkg_parse_ll(de->d_name, strlen(de->d_name), 1, INT32_MAX, &pid) < 0 ||
		    pgkg_classify(procroot, (pid_t)pid, &target) < 0 ||
		    target.kind != PGKG_KIND_ORPHAN)
			continue;
		orphans.pid[orphans.n++] = (pid_t)pid;
	}
	if (d)
		closedir(d);
}

/* Each dead cluster once, then its orphans.  Returns how many clusters. */
static int scan_orphans(const struct scan_ops *ops)
{
	static char done[MAX_ORPHANS][PGKG_PATH_MAX];
	unsigned ndone = 0;

	collect_orphans();
	for (unsigned i = 0; i < orphans.n; i++) {
		bool seen = false;
		char dir[PGKG_PATH_MAX];
		if (pgkg_classify(procroot, orphans.pid[i], &target) < 0 ||
		    target.kind != PGKG_KIND_ORPHAN)
			continue;
		for (unsigned k = 0; k < ndone && !seen; k++)
			seen = strcmp(done[k], target.cluster.datadir) == 0;
		if (seen)
			continue;
		snprintf(dir, sizeof(dir), "%s", target.cluster.datadir);
		snprintf(done[ndone++], sizeof(done[0]), "%s", dir);
		ops->on_dead_cluster(ops->ctx, &target.cluster);
		for (unsigned j = i; j < orphans.n; j++) {
			if (pgkg_classify(procroot, orphans.pid[j], &target) == 0 &&
			    target.kind == PGKG_KIND_ORPHAN && strcmp(target.cluster.datadir, dir) == 0)
				ops->on_process(ops->ctx, &target);
		}
	}
	return (int)ndone;
}

static int scan_clusters(const struct scan_ops *ops)
{
	DIR *d = opendir(procroot);
	struct dirent *de;
	int clusters = 0;

	if (!d)
		die_errno("%s", procroot);
	while ((de = readdir(d))) {
		long long pid;
		struct pgkg_cluster c;
		if (pgkg_parse_ll(de->d_name, strlen(de->d_name), 1, INT32_MAX, &pid) < 0 ||
		    pgkg_probe_postmaster(procroot, (pid_t)pid, &c) != 1)
			continue;
		clusters++;
		ops->on_cluster(ops->ctx, &c);
		if (pgkg_classify(procroot, (pid_t)pid, &target) == 0)
			ops->on_process(ops->ctx, &target);
		DIR *d2 = opendir(procroot);
		struct dirent *ce;
		while (d2 && (ce = readdir(d2))) {
			long long cpid;
			struct pgkg_procstat st;
			if (pgkg_parse_ll(ce->d_name, strlen(ce->d_name), 1, INT32_MAX, &cpid) < 0 ||
			    pgkg_read_stat(procroot, (pid_t)cpid, &st) < 0 || st.ppid != pid ||
			    pgkg_classify(procroot, (pid_t)cpid, &target) < 0 ||
			    target.kind == PGKG_KIND_NONE)
				continue;
			ops->on_process(ops->ctx, &target);
		}
		if (d2)
			closedir(d2);
	}
	closedir(d);
	return clusters + scan_orphans(ops);
}

/* The cluster's heading: "  cluster DATADIR: postmaster PID, port ...", escaped. */
static const char *cluster_line(const struct pgkg_cluster *c, char *line, size_t size)
{
	struct passwd *pw = getpwuid(c->owner);
	struct pgkg_buf b;

	pgkg_buf_init(&b, line, size);
	pgkg_buf_puts(&b, "  cluster ");
	pgkg_buf_put_printable(&b, c->datadir);
	pgkg_buf_puts(&b, ": postmaster ");
	pgkg_buf_putl(&b, c->postmaster);
	pgkg_buf_puts(&b, ", port ");
	pgkg_buf_putl(&b, c->pf.port);
	pgkg_buf_puts(&b, ", socket ");
	pgkg_buf_put_printable(&b, c->pf.sockdir[0] ? c->pf.sockdir : "(none)");
	pgkg_buf_puts(&b, ", owner ");
	pgkg_buf_put_printable(&b, pw ? pw->pw_name : "?");
	pgkg_buf_puts(&b, ", status ");
	pgkg_buf_put_printable(&b, c->pf.status[0] ? c->pf.status : "?");
	return line;
}

/* The table: rows collected first, so that the columns fit the widest cell. */
struct row {
	char *cluster;		/* a cluster's heading line, or NULL for a process */
	pid_t pid;
	char *desc;
	enum pgkg_action act[NOVERVIEW];
};

struct table {
	const struct explain_opts *o;
	struct row *rows;
	size_t n, cap;
};

static struct row *table_add(struct table *tb)
{
	if (tb->n == tb->cap) {
		tb->cap = tb->cap ? 2 * tb->cap : 64;
		tb->rows = realloc(tb->rows, tb->cap * sizeof(*tb->rows));
		if (!tb->rows)
			die("out of memory");
	}
	memset(&tb->rows[tb->n], 0, sizeof(tb->rows[0]));
	return &tb->rows[tb->n++];
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("out of memory");
	return p;
}

static void table_cluster(void *ctx, const struct pgkg_cluster *c)
{
	char line[3 * PGKG_PATH_MAX];

	table_add(ctx)->cluster = xstrdup(cluster_line(c, line, sizeof(line)));
}

/* "  dead cluster DATADIR: postmaster PID ... is gone; ... pg_ctl start fails ..." */
static void table_dead_cluster(void *ctx, const struct pgkg_cluster *c)
{
	char line[3 * PGKG_PATH_MAX];
	struct pgkg_buf b;

	pgkg_buf_init(&b, line, sizeof(line));
	pgkg_buf_puts(&b, "  dead cluster ");
	pgkg_buf_put_printable(&b, c->datadir);
	pgkg_buf_puts(&b, ": postmaster ");
	pgkg_buf_putl(&b, c->postmaster);
	pgkg_buf_puts(&b, " (line 1 of ");
	pgkg_buf_puts(&b, c->pidfile_name);
	pgkg_buf_puts(&b, ") is gone; its orphaned server processes still hold its shared memory, "
			  "so pg_ctl start fails (\"pre-existing shared memory block ... is still in "
			  "use\") until they have exited");
	table_add(ctx)->cluster = xstrdup(line);
}

static void table_process(void *ctx, const struct pgkg_target *t)
{
	struct table *tb = ctx;
	struct row *r = table_add(tb);
	struct pgkg_decision d;

	r->pid = t->pid;
	r->desc = xstrdup(describe_full(t));
	/* the heading above names the cluster: no need to repeat it on every row */
	if (t->cluster.datadir[0]) {
		char suffix[PGKG_PATH_MAX + 16];
		struct pgkg_buf b;
		size_t dl = strlen(r->desc), sl;

		pgkg_buf_init(&b, suffix, sizeof(suffix));
		pgkg_buf_puts(&b, "; cluster ");
		pgkg_buf_put_printable(&b, t->cluster.datadir);
		sl = strlen(suffix);
		if (!b.truncated && dl > sl && !strcmp(r->desc + dl - sl, suffix))
			r->desc[dl - sl] = '\0';
	}
	for (size_t i = 0; i < (tb->o->sig ? 1 : NOVERVIEW); i++) {
		pgkg_decide(&policy, caller_for(tb->o, t), t, tb->o->sig ? tb->o->sig : overview_signals[i], &d);
		r->act[i] = d.action;
	}
}

/* The first line of s wrapped at w bytes (w >= 1): its length, and in *next
 * where the rest starts.  Breaks at the last blank (dropped), else after the
 * last '/', else at w, never inside a UTF-8 sequence.  Nothing is cut. */
static size_t wrap_line(const char *s, size_t w, const char **next)
{
	size_t len = strlen(s), cut;

	if (len <= w) {
		*next = s + len;
		return len;
	}
	for (cut = w; cut > 0 && s[cut] != ' '; cut--)
		;
	if (cut > 0) {
		*next = s + cut + 1;
		return cut;
	}
	for (cut = w; cut > 0 && s[cut - 1] != '/'; cut--)
		;
	if (cut == 0)
		for (cut = w; cut > 1 && ((unsigned char)s[cut] & 0xc0) == 0x80; cut--)
			;
	*next = s + cut;
	return cut;
}

/* A heading line ("  cluster ..."), wrapped at width (0: not at all), the
 * continuation lines indented under it. */
static void print_wrapped(const char *line, size_t width)
{
	const char *rest;
	size_t len, indent = 2;

	if (!width) {
		printf("%s\n", line);
		return;
	}
	while (*line == ' ')
		line++;
	do {
		len = wrap_line(line, width > indent + 16 ? width - indent : 16, &rest);
		printf("%*s%.*s\n", (int)indent, "", (int)len, line);
		line = rest;
		indent = 6;
	} while (*line);
}

/* Width of the table: --width, else the terminal's (TIOCGWINSZ, then
 * COLUMNS, then 80), else 0 (no limit: piped output keeps whole lines). */
static size_t table_width(const struct explain_opts *o)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");
	long long cols;

	if (o->width >= 0)
		return (size_t)o->width;
	if (!isatty(STDOUT_FILENO))
		return 0;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (env && pgkg_parse_ll(env, strlen(env), 1, 100000, &cols) == 0)
		return (size_t)cols;
	return 80;
}

/* The columns: the widest cell of each, the process column fitted to the
 * width.  When even a narrow process column leaves no room for the signal
 * columns, the table is stacked: each row's decisions (KILL:block ...) are
 * wrapped under its description. */
struct layout {
	size_t nsig, cw[NOVERVIEW], pidw, descw, width;
	bool stacked;
	char names[NOVERVIEW][16];
};

static void table_layout(const struct table *tb, struct layout *L)
{
	const struct explain_opts *o = tb->o;
	size_t fixed;

	L->nsig = o->sig ? 1 : NOVERVIEW;
	L->pidw = strlen("PID");
	L->descw = strlen("PROCESS");
	for (size_t j = 0; j < L->nsig; j++) {
		const char *n = pgkg_signal_name(o->sig ? o->sig : overview_signals[j], L->names[j],
						 sizeof(L->names[j]));
		if (n != L->names[j])
			snprintf(L->names[j], sizeof(L->names[j]), "%s", n ? n : "?");
		L->cw[j] = strlen(L->names[j]);
	}
	for (size_t i = 0; i < tb->n; i++) {
		const struct row *r = &tb->rows[i];
		char num[16];
		if (r->cluster)
			continue;
		snprintf(num, sizeof(num), "%d", (int)r->pid);
		if (strlen(num) > L->pidw)
			L->pidw = strlen(num);
		if (strlen(r->desc) > L->descw)
			L->descw = strlen(r->desc);
		for (size_t j = 0; j < L->nsig; j++)
			if (strlen(pgkg_action_name(r->act[j])) > L->cw[j])
				L->cw[j] = strlen(pgkg_action_name(r->act[j]));
	}
	fixed = 4 + L->pidw + 2;
	for (size_t j = 0; j < L->nsig; j++)
		fixed += 2 + L->cw[j];
	L->width = table_width(o);
	L->stacked = L->width && L->width < fixed + 16;
	if (L->stacked)
		L->descw = L->width > 4 + L->pidw + 2 + 16 ? L->width - (4 + L->pidw + 2) : 16;
	else if (L->width && L->descw + fixed > L->width)
		L->descw = L->width - fixed;
}

/* The columns after the process column: the last one without padding. */
static void print_cells(const struct layout *L, const char *const *cells)
{
	for (size_t j = 0; j < L->nsig; j++)
		printf("  %-*s", j + 1 < L->nsig ? (int)L->cw[j] : 0, cells[j]);
	putchar('\n');
}

/* Continuation lines of text, under the process column. */
static void print_under(const char *rest, const struct layout *L)
{
	const char *s;
	size_t len;

	while (*rest) {
		s = rest;
		len = wrap_line(s, L->descw, &rest);
		printf("    %-*s  %.*s\n", (int)L->pidw, "", (int)len, s);
	}
}

static void print_row(const struct row *r, const struct layout *L)
{
	const char *cells[NOVERVIEW], *rest;
	size_t len = wrap_line(r->desc, L->descw, &rest);
	char stack[NOVERVIEW * 32];
	struct pgkg_buf b;

	for (size_t j = 0; j < L->nsig; j++)
		cells[j] = pgkg_action_name(r->act[j]);
	if (L->stacked) {
		printf("    %-*d  %.*s\n", (int)L->pidw, (int)r->pid, (int)len, r->desc);
		print_under(rest, L);
		pgkg_buf_init(&b, stack, sizeof(stack));
		for (size_t j = 0; j < L->nsig; j++) {
			pgkg_buf_puts(&b, j ? " " : "");
			pgkg_buf_puts(&b, L->names[j]);
			pgkg_buf_putc(&b, ':');
			pgkg_buf_puts(&b, cells[j]);
		}
		print_under(stack, L);
		return;
	}
	printf("    %-*d  %-*.*s", (int)L->pidw, (int)r->pid, (int)L->descw, (int)len, r->desc);
	print_cells(L, cells);
	print_under(rest, L);
}

static void table_print(const struct table *tb)
{
	struct layout L;
	const char *heads[NOVERVIEW];

	table_layout(tb, &L);
	for (size_t j = 0; j < L.nsig; j++)
		heads[j] = L.names[j];
	for (size_t i = 0; i < tb->n; i++) {
		if (!tb->rows[i].cluster) {
			print_row(&tb->rows[i], &L);
			continue;
		}
		print_wrapped(tb->rows[i].cluster, L.width);
		if (L.stacked) {
			printf("    %-*s  PROCESS, then SIGNAL:ACTION\n", (int)L.pidw, "PID");
			continue;
		}
		printf("    %-*s  %-*s", (int)L.pidw, "PID", (int)L.descw, "PROCESS");
		print_cells(&L, heads);
	}
}

static int explain_table(const struct explain_opts *o)
{
	struct table tb = {.o = o};
	const struct scan_ops ops = {table_cluster, table_process, &tb, table_dead_cluster};
	int clusters = scan_clusters(&ops);

	table_print(&tb);
	for (size_t i = 0; i < tb.n; i++) {
		free(tb.rows[i].cluster);
		free(tb.rows[i].desc);
	}
	free(tb.rows);
	if (!clusters)
		printf("no PostgreSQL postmaster found on this host (or none readable by you)\n");
	return 0;
}

struct json_scan {
	const struct explain_opts *o;
	int clusters, procs;
};

static void json_on_cluster(void *ctx, const struct pgkg_cluster *c)
{
	struct json_scan *js = ctx;

	fputs(js->clusters++ ? "]}, " : "", stdout);
	json_cluster_fields(c);
	fputs(", \"processes\": [", stdout);
	js->procs = 0;
}

static void json_on_dead_cluster(void *ctx, const struct pgkg_cluster *c)
{
	struct json_scan *js = ctx;

	fputs(js->clusters++ ? "]}, " : "", stdout);
	json_cluster_fields(c);
	fputs(", \"dead\": true, \"processes\": [", stdout);
	js->procs = 0;
}

static void json_on_process(void *ctx, const struct pgkg_target *t)
{
	struct json_scan *js = ctx;

	fputs(js->procs++ ? ", " : "", stdout);
	json_process(js->o, t, false);
}

static int explain_json(const struct explain_opts *o)
{
	struct json_scan js = {o, 0, 0};
	const struct scan_ops ops = {json_on_cluster, json_on_process, &js, json_on_dead_cluster};

	json_head(o);
	fputs(", \"clusters\": [", stdout);
	scan_clusters(&ops);
	fputs(js.clusters ? "]}]}\n" : "]}\n", stdout);
	return 0;
}

int pgkg_cmd_explain(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"signal", required_argument, NULL, 's'},
		{"policy", required_argument, NULL, 'P'},
		{"program", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{"width", required_argument, NULL, 'w'},
		{"caller", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	struct explain_opts o = {0};
	const char *program = NULL, *caller = NULL;
	int c, rc = 0;

	o.width = -1;
	while ((c = getopt_long(argc, argv, "+s:p:w:c:", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o.sig = parse_signal(optarg); break;
		case 'P': o.policy_path = optarg; break;
		case 'p': program = optarg; break;
		case 'j': o.json = true; break;
		case 'c': caller = optarg; break;
		case 'w':
			if (pgkg_parse_ll(optarg, strlen(optarg), 0, 100000, &o.width) < 0)
				die("-w %s: not a width (0 to 100000 columns; 0: no limit)", optarg);
			break;
		default:
			die("usage: pgkillguard explain [-s SIG] [--policy FILE] [-p PROGRAM | --caller PID] [--json] "
			    "[-w COLUMNS] [PID...]");
		}
	}
	if (program && caller)
		die("-p PROGRAM (a pretended comm) and --caller PID (a real process) exclude each other");
	if (!o.policy_path && getenv("PGKILLGUARD_POLICY") && *getenv("PGKILLGUARD_POLICY"))
		o.policy_path = getenv("PGKILLGUARD_POLICY");
	if (caller)
		read_caller(&o.caller, caller);
	else
		fill_caller(&o.caller, program);
	o.relation = !program;
	pgkg_policy_load_named(&policy, o.policy_path, getuid(), print_error, NULL);
	if (o.json && optind == argc)
		return explain_json(&o);
	if (o.json) {
		json_head(&o);
		fputs(", \"processes\": [", stdout);
		for (int i = optind, n = 0; i < argc; i++) {
			long long pid;
			if (pgkg_parse_ll(argv[i], strlen(argv[i]), 1, INT32_MAX, &pid) < 0) {
				rc |= explain_pid(&o, argv[i]);	/* says why, on stderr */
				continue;
			}
			fputs(n++ ? ", " : "", stdout);
			rc |= explain_pid(&o, argv[i]);
		}
		fputs("]}\n", stdout);
		return rc;
	}
	printf("policy: %s%s%s\n", esc(policy.path), policy.mode == PGKG_MODE_REPORT ? " (report mode)" : "",
	       policy.broken ? " (BROKEN: fatal and stop signals to PostgreSQL are blocked)" : "");
	printf("caller: %s%d, program %s, uid %u\n", caller ? "process " : "your shell ",
	       (int)o.caller.pid, esc(o.caller.comm), (unsigned)o.caller.uid);
	if (optind == argc)
		return explain_table(&o);
	for (int i = optind; i < argc; i++)
		rc |= explain_pid(&o, argv[i]);
	return rc;
}

int pgkg_cmd_check(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : NULL;
	int errors = 0;

	if (argc > 2)
		die("usage: pgkillguard check [FILE]");
	if (!path && access(PGKG_POLICY_PATH, F_OK) < 0 && errno == ENOENT)
		printf("%s: no such file; the built-in default policy applies\n", PGKG_POLICY_PATH);
	pgkg_policy_load_named(&policy, path, getuid(), print_error, &errors);
	if (policy.broken || policy.nerrors || errors) {
		fprintf(stderr, "%s: invalid (%d error%s): at run time, fatal and stop signals to "
				"PostgreSQL processes are blocked until this is fixed\n",
			esc(policy.path[0] ? policy.path : path), policy.nerrors ? policy.nerrors : errors,
			(policy.nerrors ? policy.nerrors : errors) == 1 ? "" : "s");
		return 1;
	}
	printf("%s: OK (%u rules, mode %s)\n", esc(policy.path), policy.nrules,
	       policy.mode == PGKG_MODE_REPORT ? "report" : "enforce");
	return 0;
}
