/*
 * test_classify.c - procfs.c against fixture /proc trees built at run time.
 *
 * The tree lives in a mkdtemp() directory:
 *   ROOT/proc/PID/{stat,comm,cmdline,status}  and  ROOT/proc/PID/cwd -> ROOT/DATADIR
 *   ROOT/DATADIR/postmaster.pid (or kingbase.pid)
 * One test (permission denied) needs root to drop to another uid; it is
 * skipped otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procfs.h"
#include "tap.h"

static char root[PATH_MAX];
static char procroot[PATH_MAX + 8];

/* ---- fixture helpers ---- */

__attribute__((noreturn)) static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void write_file(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0)
		die(path);
}

static void write_str(const char *path, const char *s)
{
	write_file(path, s, strlen(s));
}

static void pid_path(char *buf, size_t cap, pid_t pid, const char *leaf)
{
	snprintf(buf, cap, "%s/%d%s%s", procroot, (int)pid, leaf ? "/" : "", leaf ? leaf : "");
}

/* A pid file with all 8 lines. */
static const char *pidfile_text(long long pid, int port)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
		 "%lld\n/var/lib/postgresql/data%d\n1700000000\n%d\n/var/run/postgresql\n*\n"
		 "  %d001         0\nready   \n",
		 pid, port, port, port);
	return buf;
}

/* ROOT/NAME holding FILE with CONTENTS; returns the directory path. */
static const char *make_datadir(const char *name, const char *file, const char *contents)
{
	static char dir[PATH_MAX + 64];
	char path[PATH_MAX + 128];

	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		die(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	write_str(path, contents);
	return dir;
}

static void set_status(pid_t pid, pid_t ppid, const char *nspid)
{
	char path[PATH_MAX + 64], buf[512];

	pid_path(path, sizeof(path), pid, "status");
	snprintf(buf, sizeof(buf),
		 "Name:\tpostgres\nUmask:\t0077\nState:\tS (sleeping)\nTgid:\t%d\nNgid:\t0\n"
		 "Pid:\t%d\nPPid:\t%d\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
		 "FDSize:\t64\nGroups:\t1 2 3 4 5 6 7 8 9 10\nNStgid:\t%s\nNSpid:\t%s\nNSpgid:\t%d\n",
		 (int)pid, (int)pid, (int)ppid, nspid, nspid, (int)pid);
	write_str(path, buf);
}

/*
 * A process: stat (starttime = pid * 100), comm, cmdline (title padded with
 * NULs like PS_USE_CLOBBER_ARGV), status, and cwd -> datadir when given.
 */
static void make_proc(pid_t pid, const char *comm, pid_t ppid, const char *title,
		      const char *datadir)
{
	char path[PATH_MAX + 64], buf[1024], nspid[32];
	size_t n;

	pid_path(path, sizeof(path), pid, NULL);
	if (mkdir(path, 0755) < 0)
		die(path);
	pid_path(path, sizeof(path), pid, "stat");
	snprintf(buf, sizeof(buf),
		 "%d (%s) S %d %d %d 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 %llu 1000 50 "
		 "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
		 (int)pid, comm, (int)ppid, (int)pid, (int)pid, (unsigned long long)pid * 100);
	write_str(path, buf);
	pid_path(path, sizeof(path), pid, "comm");
	snprintf(buf, sizeof(buf), "%s\n", comm);
	write_str(path, buf);
	if (title) {
		pid_path(path, sizeof(path), pid, "cmdline");
		n = (size_t)snprintf(buf, sizeof(buf), "%s", title);
		memset(buf + n, 0, 40);
		write_file(path, buf, n + 40);
	}
	snprintf(nspid, sizeof(nspid), "%d", (int)pid);
	set_status(pid, ppid, nspid);
	if (datadir) {
		pid_path(path, sizeof(path), pid, "cwd");
		if (symlink(datadir, path) < 0)
			die(path);
	}
}

static void make_root(void)
{
	snprintf(root, sizeof(root), "%s/pgkg-classify-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(root))
		die("mkdtemp");
	chmod(root, 0755);	/* the permission test reads it as another uid */
	snprintf(procroot, sizeof(procroot), "%s/proc", root);
	if (mkdir(procroot, 0755) < 0)
		die(procroot);
}

static void remove_root(void)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (strstr(root, "/pgkg-classify-") && system(cmd) != 0)
		diag("could not remove %s", root);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ---- pure parsers ---- */

static void test_server_names(void)
{
	ok(pgkg_is_server_name("postgres"), "postgres is a server name");
	ok(pgkg_is_server_name("postmaster"), "postmaster is a server name");
	ok(pgkg_is_server_name("edb-postgres"), "edb-postgres is a server name");
	ok(pgkg_is_server_name("kingbase"), "kingbase is a server name");
	ok(!pgkg_is_server_name("Postgres"), "names are case-sensitive");
	ok(!pgkg_is_server_name("postgres "), "no trailing space");
	ok(!pgkg_is_server_name("postgres_exporter"), "postgres_exporter is not");
	ok(!pgkg_is_server_name(""), "empty is not");
	is_str(pgkg_pidfile_names[0], "postmaster.pid", "pid file 1");
	is_str(pgkg_pidfile_names[1], "kingbase.pid", "pid file 2");
	ok(pgkg_pidfile_names[2] == NULL, "pid file list ends");
}

static void test_parse_stat(void)
{
	static const char tail[] = " 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 50\n";
	char buf[512];
	struct pgkg_procstat st;

	snprintf(buf, sizeof(buf), "123 (post gres) x) S 1 120 121%s", tail);
	is_int(pgkg_parse_stat(buf, strlen(buf), &st), 0, "stat with ') ' inside comm parses");
	is_str(st.comm, "post gres) x", "comm runs to the last ')'");
	is_int(st.pid, 123, "pid");
	is_int(st.state, 'S', "state");
	is_int(st.ppid, 1, "ppid");
	is_int(st.pgrp, 120, "pgrp");
	is_int(st.session, 121, "session");
	is_int(st.starttime, 98765, "starttime is field 22");
	is_int(st.uid, (uid_t)-1, "parse leaves uid unknown");

	snprintf(buf, sizeof(buf), "7 ()) Z 0 0 0%s", tail);
	is_int(pgkg_parse_stat(buf, strlen(buf), &st), 0, "comm ')'");
	is_str(st.comm, ")", "comm is ')'");
	is_int(st.state, 'Z', "zombie state");

	snprintf(buf, sizeof(buf), "8 (abcdefghijklmnopqrstuvwxyz) R 1 1 1%s", tail);
	is_int(pgkg_parse_stat(buf, strlen(buf), &st), 0, "long comm");
	is_str(st.comm, "abcdefghijklmno", "comm cut to 15 bytes");

	snprintf(buf, sizeof(buf), "9 (a (b) c) S 4294967296 1 1%s", tail);
	is_int(pgkg_parse_stat(buf, strlen(buf), &st), -EINVAL, "ppid out of range");
	snprintf(buf, sizeof(buf), "9 (x) S 1 1 1 0 -1");
	is_int(pgkg_parse_stat(buf, strlen(buf), &st), -EINVAL, "too few fields");
	snprintf(buf, sizeof(buf), "9 (x S 1 1 1%s", tail);
	is_int(pgkg_parse_stat(buf, strlen(buf), &st), -EINVAL, "no ')'");
	snprintf(buf, sizeof(buf), "x9 (x) S 1 1 1%s", tail);
	is_int(pgkg_parse_stat(buf, strlen(buf), &st), -EINVAL, "bad pid");
	snprintf(buf, sizeof(buf), "9 (x) SS 1 1 1%s", tail);
	is_int(pgkg_parse_stat(buf, strlen(buf), &st), -EINVAL, "two-letter state");
	snprintf(buf, sizeof(buf), "9 (x) S 1 1 1%s", tail);
	is_int(pgkg_parse_stat(buf, 20, &st), -EINVAL, "len bounds the parse");
	is_int(pgkg_parse_stat("", 0, &st), -EINVAL, "empty");
	is_int(pgkg_parse_stat(")(", 2, &st), -EINVAL, "')' before '('");

	snprintf(buf, sizeof(buf), "9 (x) S 1 1 1 34817 -1%s", tail + 5);
	is_int(pgkg_parse_stat(buf, strlen(buf), &st), 0, "stat with a terminal parses");
	is_int(st.tty_nr, 34817, "tty_nr is field 7 (pts/1)");
	is_int(st.starttime, 98765, "starttime still field 22");
	snprintf(buf, sizeof(buf), "9 (x) S 1 1 1 tty -1%s", tail + 5);
	is_int(pgkg_parse_stat(buf, strlen(buf), &st), 0, "an odd tty_nr does not fail the parse");
	is_int(st.tty_nr, 0, "an odd tty_nr reads as no terminal");
}

/* ---- /proc/PID/status: the one parser ---- */

#define ALL_STATUS_LINES                                                                  \
	(PGKG_STATUS_STATE | PGKG_STATUS_TGID | PGKG_STATUS_TRACER | PGKG_STATUS_UID |    \
	 PGKG_STATUS_GID | PGKG_STATUS_GROUPS | PGKG_STATUS_NSPID | PGKG_STATUS_CAPEFF |   \
	 PGKG_STATUS_SECCOMP)

static const char status_head[] =
	"Name:\tpost: gres x\nUmask:\t0077\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\n"
	"Pid:\t4243\nPPid:\t1\nTracerPid:\t77\nUid:\t1000\t1001\t1002\t1003\n"
	"Gid:\t2000\t2001\t2002\t2003\nFDSize:\t64\n";
static const char status_tail[] =
	"NStgid:\t4242\t12\nNSpid:\t4243\t13\nNSpgid:\t1\t1\nCapInh:\t0000000000000000\n"
	"CapEff:\t000001ffffffffff\nSeccomp:\t2\nSeccomp_filters:\t1\n";

/* A status with n groups 1000000000, 1000000001, ... (a long line). */
static void status_text(char *buf, size_t cap, int ngroups)
{
	size_t len = (size_t)snprintf(buf, cap, "%sGroups:", status_head);

	for (int i = 0; i < ngroups && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%d", i ? " " : "\t", 1000000000 + i);
	if (len < cap)
		snprintf(buf + len, cap - len, " \n%s", status_tail);
}

static void status_of(const char *text, struct pgkg_status *st)
{
	pgkg_parse_status(text, strlen(text), st);
}

static void test_parse_status(void)
{
	struct pgkg_status st;
	char buf[8192];

	status_text(buf, sizeof(buf), 4);
	is_int(pgkg_parse_status(buf, strlen(buf), &st), 0, "status parses");
	is_int(st.have, ALL_STATUS_LINES, "every line read");
	is_int(st.bad, 0, "no line malformed");
	is_int(st.state, 'S', "State");
	is_int(st.tgid, 4242, "Tgid");
	is_int(st.tracer, 77, "TracerPid");
	ok(st.uid[0] == 1000 && st.uid[1] == 1001 && st.uid[2] == 1002 && st.uid[3] == 1003, "Uid: four ids");
	ok(st.gid[0] == 2000 && st.gid[3] == 2003, "Gid: four ids");
	ok(st.ngroups == 4 && st.groups[0] == 1000000000 && st.groups[3] == 1000000003, "Groups (trailing blank)");
	ok(st.nnspid == 2 && st.nspid[0] == 4243 && st.nspid[1] == 13, "NSpid, ours first");
	ok(st.cap_eff == 0x1ffffffffffULL, "CapEff in hex");
	is_int(st.seccomp, 2, "Seccomp (not Seccomp_filters)");

	status_text(buf, sizeof(buf), 0);
	pgkg_parse_status(buf, strlen(buf), &st);
	ok((st.have & PGKG_STATUS_GROUPS) && st.ngroups == 0, "no supplementary groups");
	status_text(buf, sizeof(buf), PGKG_STATUS_MAX_GROUPS + 1);
	pgkg_parse_status(buf, strlen(buf), &st);
	ok((st.bad & PGKG_STATUS_GROUPS) && !(st.have & PGKG_STATUS_GROUPS) && st.ngroups == 0,
	   "too many groups: Groups is bad");
	ok((st.have & PGKG_STATUS_NSPID) && st.nspid[1] == 13, "too many groups: NSpid still read");

	status_of("Uid:\t1\t2\t3\n", &st);
	ok(st.bad == PGKG_STATUS_UID && st.have == 0, "three uids: bad");
	status_of("NSpid:\t0\n", &st);
	ok(st.bad == PGKG_STATUS_NSPID, "NSpid 0: bad");
	status_of("NSpid:\n", &st);
	ok(st.bad == PGKG_STATUS_NSPID, "NSpid without a value: bad");
	status_of("CapEff:\tXYZ\n", &st);
	ok(st.bad == PGKG_STATUS_CAPEFF, "CapEff not hex: bad");
	status_of("TracerPid:\t123456789012345678901234567890\n", &st);
	ok(st.bad == PGKG_STATUS_TRACER, "a value too long: bad");
	status_of("State:\tSS (x)\n", &st);
	ok(st.bad == PGKG_STATUS_STATE, "two-letter State: bad");
	status_of("Tgid:\t5", &st);
	ok(st.have == PGKG_STATUS_TGID && st.tgid == 5, "a last line without newline counts");
	status_of("Tgid:\t5\nTgid:\tx\n", &st);
	ok(st.bad == PGKG_STATUS_TGID && st.have == 0, "a later bad copy of a line wins");
	status_of("XTgid:\t5\nTgi:\t6\nSeccomp_filters:\t1\n", &st);
	ok(st.have == 0 && st.bad == 0, "keys match whole");
	status_of("", &st);
	ok(st.have == 0 && st.bad == 0, "empty status");
}

static void write_status(pid_t pid, int ngroups)
{
	char path[PATH_MAX + 64], buf[8192];

	pid_path(path, sizeof(path), pid, NULL);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path);
	pid_path(path, sizeof(path), pid, "status");
	status_text(buf, sizeof(buf), ngroups);
	write_str(path, buf);
}

/* The file arrives in pieces: a long Groups line spans several reads. */
static void test_read_status(void)
{
	struct pgkg_status st;
	struct pgkg_creds c;
	pid_t tracer = -1;

	write_status(9901, PGKG_STATUS_MAX_GROUPS);
	is_int(pgkg_read_status(procroot, 9901, 0, &st), 0, "read_status of 256 groups (2.8 KB line)");
	is_int(st.have, ALL_STATUS_LINES, "every line read across the pieces");
	ok(st.ngroups == 256 && st.groups[100] == 1000000100 && st.groups[255] == 1000000255,
	   "every group read");
	ok(st.cap_eff == 0x1ffffffffffULL && st.nspid[1] == 13, "lines after the long one read");
	is_int(pgkg_read_status(procroot, 9901, PGKG_STATUS_TGID, &st), 0, "read_status wanting Tgid");
	ok((st.have & PGKG_STATUS_TGID) && !(st.have & PGKG_STATUS_CAPEFF),
	   "it stops once Tgid is read (CapEff, 3 KB further, is not)");
	is_int(pgkg_read_creds(procroot, 9901, &c), 0, "read_creds through read_status");
	ok(c.tgid == 4242 && c.uid[1] == 1001 && c.gid[2] == 2002 && c.ngroups == 256 &&
	   c.groups[255] == 1000000255 && c.cap_eff == 0x1ffffffffffULL, "creds copied");
	is_int(pgkg_read_tracer(procroot, 9901, &tracer), 0, "read_tracer");
	is_int(tracer, 77, "TracerPid 77");

	write_status(9902, PGKG_STATUS_MAX_GROUPS + 1);
	is_int(pgkg_read_creds(procroot, 9902, &c), -EINVAL, "read_creds: too many groups is -EINVAL");
	is_int(pgkg_read_status(procroot, 9902, PGKG_STATUS_NSPID, &st), 0, "read_status with 257 groups");
	ok((st.have & PGKG_STATUS_NSPID) && st.nnspid == 2, "NSpid read after too many groups");
	is_int(pgkg_read_status(procroot, 4242, 0, &st), -ESRCH, "read_status of a gone pid");
	is_int(pgkg_read_creds(procroot, 4242, &c), -ESRCH, "read_creds of a gone pid");
	is_int(pgkg_read_tracer(procroot, 4242, &tracer), -ESRCH, "read_tracer of a gone pid");
	is_int(pgkg_read_status("/proc", getpid(), 0, &st), 0, "real /proc status");
	ok((st.have & (PGKG_STATUS_TGID | PGKG_STATUS_UID | PGKG_STATUS_GROUPS | PGKG_STATUS_CAPEFF)) ==
		   (PGKG_STATUS_TGID | PGKG_STATUS_UID | PGKG_STATUS_GROUPS | PGKG_STATUS_CAPEFF) &&
		   st.tgid == getpid() && st.uid[0] == getuid() && st.uid[1] == geteuid(),
	   "real status: Tgid, Uid, Groups, CapEff");
}

static void test_parse_pidfile(void)
{
	struct pgkg_pidfile pf;
	const char *s;

	s = "4924\n/home/pg/data\n1795239926\n5499\n/home/pg\n127.0.0.1\n  1056778        19\nready   \n";
	is_int(pgkg_parse_pidfile(s, strlen(s), &pf), 0, "8-line pid file");
	is_int(pf.pid, 4924, "line 1 pid");
	is_str(pf.datadir, "/home/pg/data", "line 2 datadir");
	is_int(pf.start_time, 1795239926, "line 3 start time");
	is_int(pf.port, 5499, "line 4 port");
	is_str(pf.sockdir, "/home/pg", "line 5 socket dir");
	is_str(pf.listen, "127.0.0.1", "line 6 listen");
	is_str(pf.status, "ready", "line 8 status, padding removed");

	s = "4924\n/d\n1\n5432\n\n*\n  1 0\nstandby \n";
	is_int(pgkg_parse_pidfile(s, strlen(s), &pf), 0, "empty socket dir");
	is_str(pf.sockdir, "", "socket dir empty");
	is_str(pf.listen, "*", "listen *");
	is_str(pf.status, "standby", "standby");

	s = "4924\n/d\n1\n5432\n";
	is_int(pgkg_parse_pidfile(s, strlen(s), &pf), 0, "4-line pid file (9.6 start-up)");
	is_int(pf.port, 5432, "port of a short file");
	is_str(pf.status, "", "no status line");

	s = "4924";
	is_int(pgkg_parse_pidfile(s, strlen(s), &pf), 0, "line 1 only, no newline");
	is_int(pf.pid, 4924, "pid without newline");
	is_int(pf.port, 0, "absent port is 0");

	s = "-4924\n/d\n";
	is_int(pgkg_parse_pidfile(s, strlen(s), &pf), 0, "standalone backend parses");
	is_int(pf.pid, -4924, "negative pid kept");

	s = "4924\n/d\nsoon\nport\n";
	is_int(pgkg_parse_pidfile(s, strlen(s), &pf), 0, "bad start time / port are not fatal");
	is_int(pf.start_time, 0, "bad start time is 0");
	is_int(pf.port, 0, "bad port is 0");

	is_int(pgkg_parse_pidfile("", 0, &pf), -EINVAL, "empty pid file");
	s = "abc\n/d\n";
	is_int(pgkg_parse_pidfile(s, strlen(s), &pf), -EINVAL, "garbage line 1");
	s = " 4924\n";
	is_int(pgkg_parse_pidfile(s, strlen(s), &pf), -EINVAL, "space before the pid");
	s = "0\n";
	is_int(pgkg_parse_pidfile(s, strlen(s), &pf), -EINVAL, "pid 0");
	s = "99999999999\n";
	is_int(pgkg_parse_pidfile(s, strlen(s), &pf), -EINVAL, "pid out of range");
	s = "\n/d\n";
	is_int(pgkg_parse_pidfile(s, strlen(s), &pf), -EINVAL, "empty line 1");
}

/* ---- fixture trees ---- */

/* Two clusters on one host, their children, and the oddities around them. */
static void build_tree(void)
{
	const char *d1 = make_datadir("data1", "postmaster.pid", pidfile_text(100, 5432));
	const char *d2;

	make_proc(1, "systemd", 0, "/sbin/init", NULL);
	make_proc(100, "postgres", 1, "/usr/lib/postgresql/15/bin/postgres -D /data1", d1);
	make_proc(101, "postgres", 100, "postgres: checkpointer ", d1);
	make_proc(102, "postgres", 100, "postgres: app prod [local] idle", d1);
	make_proc(103, "postgres", 100, "postgres: checkpointer postgres [local] idle", d1);
	make_proc(104, "postgres", 100, "postgres: walsender rep 10.0.0.2(5432) streaming 0/1", d1);
	make_proc(105, "postgres", 100, "postgres: autovacuum launcher ", d1);
	make_proc(106, "postgres", 100, "postgres: pg_cron launcher ", d1);
	make_proc(107, "postgres", 100, "/usr/lib/postgresql/15/bin/postgres -D /data1", d1);
	make_proc(108, "postgres", 100, "postgres: startup recovering 000000010000000000000003", d1);
	make_proc(109, "postgres", 100, "", d1);	/* zombie: empty cmdline */
	make_proc(110, "postgres", 100, NULL, d1);	/* exited before cmdline was read */
	make_proc(111, "sh", 102, "sh -c cp pg_wal/x /archive/x", d1);	/* COPY PROGRAM child */

	d2 = make_datadir("data2", "postmaster.pid", pidfile_text(200, 5433));
	make_proc(200, "postgres", 1, "/usr/lib/postgresql/16/bin/postgres -D /data2", d2);
	make_proc(201, "postgres", 200, "postgres: 16/two: checkpointer ", d2);
	make_proc(202, "postgres", 200, "postgres: 16/two: app prod 10.1.1.1(4000) SELECT", d2);
	if (geteuid() == 0) {	/* the second cluster runs as another user */
		char path[PATH_MAX + 64];
		pid_path(path, sizeof(path), 200, NULL);
		if (chown(path, 1234, 1234) < 0)
			die(path);
		/* ... and wrote its own pid file, as a postmaster does */
		snprintf(path, sizeof(path), "%s/postmaster.pid", d2);
		if (chown(path, 1234, 1234) < 0)
			die(path);
	}

	make_proc(250, "postmaster", 1, "/usr/pgsql-15/bin/postmaster -D /data3", make_datadir("data3", "postmaster.pid", pidfile_text(250, 5434)));
	make_proc(251, "postmaster", 250, "postgres: walwriter ", root);

	make_proc(300, "bash", 100, "bash", d1);
	make_proc(301, "a) b", 1, "weird", d1);

	/* stale pid file: line 1 names a pid that is not this process */
	make_proc(400, "postgres", 1, "postgres -D /data4", make_datadir("data4", "postmaster.pid", pidfile_text(999, 5435)));
	make_proc(401, "postgres", 400, "postgres: checkpointer ", root);

	make_proc(500, "kingbase", 1, "/opt/Kingbase/bin/kingbase -D /data5", make_datadir("data5", "kingbase.pid", pidfile_text(500, 54321)));
	make_proc(501, "kingbase", 500, "kingbase: checkpointer   ", root);

	/* single-user postgres started from a shell */
	make_proc(600, "bash", 1, "-bash", NULL);
	make_proc(601, "postgres", 600, "postgres --single -D /data6 postgres", make_datadir("data6", "postmaster.pid", "-601\n/data6\n1700000000\n"));

	/* containerised: the pid file names the pid as its namespace sees it */
	make_proc(700, "postgres", 1, "postgres -D /var/lib/postgresql/data", make_datadir("data7", "postmaster.pid", pidfile_text(1, 5436)));
	set_status(700, 1, "700\t1");
	make_proc(701, "postgres", 700, "postgres: app prod 172.17.0.1(5000) idle", root);
	set_status(701, 700, "701\t30");
	make_proc(702, "postgres", 1, "postgres -D /var/lib/postgresql/data", make_datadir("data8", "postmaster.pid", pidfile_text(1, 5437)));
	set_status(702, 1, "702\t2");	/* namespace pid 2: the pid file is stale */
	make_proc(703, "postgres", 1, "postgres -D /x", make_datadir("data9", "postmaster.pid", pidfile_text(2, 5438)));
	set_status(703, 1, "703\t50\t2");	/* nested namespaces: innermost counts */

	/* orphans: the postmaster named by the pid file in their cwd is gone */
	{
		char da[PATH_MAX + 64], db[PATH_MAX + 64], dc[PATH_MAX + 64], dd1[PATH_MAX + 64];
		snprintf(da, sizeof(da), "%s", make_datadir("dataA", "postmaster.pid", pidfile_text(950, 5440)));
		snprintf(db, sizeof(db), "%s", make_datadir("dataB", "postmaster.pid", pidfile_text(600, 5441)));
		snprintf(dc, sizeof(dc), "%s", make_datadir("dataC", "postmaster.pid", pidfile_text(100, 5442)));
		snprintf(dd1, sizeof(dd1), "%s/data1", root);
		make_proc(960, "postgres", 1, "postgres: app prod [local] SELECT", da);
		make_proc(961, "postgres", 1, "postgres: 15/main: autovacuum worker prod", da);
		make_proc(962, "postgres", 1, "postgres: app prod [local] idle", db);	/* pid reused by bash */
		make_proc(963, "postgres", 1, "postgres: app prod [local] idle", dc);	/* by another cluster's postmaster */
		make_proc(964, "postgres", 1, "postgres: app prod [local] idle", dd1);	/* its postmaster lives */
		make_proc(965, "postgres", 1, "postgres -D /dataA", da);	/* a postmaster starting up */
		make_proc(966, "postgres", 1, "postgres: app prod [local] idle", da);
		set_status(966, 1, "966\t12");	/* in a container: its pid file speaks of another namespace */
		make_proc(967, "postgres", 1, "postgres: app prod [local] idle", root);	/* no pid file */
		make_proc(968, "postgres", 400, "postgres: app prod [local] idle", da);	/* server parent */
	}

	/* a directory without files: vanished between readdir and read */
	{
		char path[PATH_MAX + 64];
		pid_path(path, sizeof(path), 800, NULL);
		mkdir(path, 0755);
	}
}

static void check_kind(pid_t pid, enum pgkg_kind want, pid_t pm, const char *what)
{
	struct pgkg_target t;
	int r = pgkg_classify(procroot, pid, &t);

	is_int(r, 0, "classify %d returns 0 (%s)", (int)pid, what);
	is_str(pgkg_kind_name(t.kind), pgkg_kind_name(want), "pid %d is %s", (int)pid, what);
	is_int(t.cluster.postmaster, pm, "pid %d belongs to postmaster %d", (int)pid, (int)pm);
	ok(!t.unverified, "pid %d verified", (int)pid);
}

/* A server-named child of a server-named process whose pid file does not
 * name it: still a cluster process, unverified (R1-2). */
static void check_unverified_child(pid_t pid, const char *what)
{
	struct pgkg_target t;

	is_int(pgkg_classify(procroot, pid, &t), 0, "classify %d returns 0 (%s)", (int)pid, what);
	is_str(pgkg_kind_name(t.kind), pgkg_kind_name(PGKG_KIND_UNKNOWN_CHILD),
	       "pid %d is a cluster process all the same (%s)", (int)pid, what);
	ok(t.unverified, "pid %d: its postmaster unverified", (int)pid);
	is_int(t.cluster.postmaster, t.st.ppid, "pid %d: its parent is its presumed postmaster", (int)pid);
}

static void test_postmaster(void)
{
	struct pgkg_target t;
	struct pgkg_cluster c;

	is_int(pgkg_classify(procroot, 100, &t), 0, "classify postmaster");
	is_int(t.kind, PGKG_KIND_POSTMASTER, "postmaster recognised");
	is_int(t.cluster.postmaster, 100, "cluster.postmaster");
	is_str(t.cluster.pidfile_name, "postmaster.pid", "pidfile_name");
	is_int(t.cluster.pf.port, 5432, "pf.port");
	is_str(t.cluster.pf.status, "ready", "pf.status");
	ok(ends_with(t.cluster.datadir, "/data1"), "datadir from readlink of cwd: %s", t.cluster.datadir);
	is_int(t.cluster.pm_starttime, 10000, "pm_starttime from stat field 22");
	is_int(t.cluster.owner, getuid(), "owner from stat() of the pid dir");
	is_int(t.st.uid, getuid(), "st.uid filled for server-named targets");
	is_int(t.st.ppid, 1, "st.ppid");

	is_int(pgkg_probe_postmaster(procroot, 100, &c), 1, "probe: 100 is a postmaster");
	is_int(pgkg_probe_postmaster(procroot, 101, &c), 0, "probe: its checkpointer is not");
	is_int(pgkg_probe_postmaster(procroot, 1, &c), 0, "probe: systemd is not");
	is_int(pgkg_probe_postmaster(procroot, 4242, &c), -ESRCH, "probe: gone pid");
}

static void test_children(void)
{
	struct pgkg_target t;

	check_kind(101, PGKG_KIND_CHECKPOINTER, 100, "checkpointer");
	check_kind(102, PGKG_KIND_CLIENT_BACKEND, 100, "client backend");
	check_kind(103, PGKG_KIND_CLIENT_BACKEND, 100, "client backend of role checkpointer");
	check_kind(104, PGKG_KIND_WALSENDER, 100, "walsender");
	check_kind(105, PGKG_KIND_AUTOVACUUM_LAUNCHER, 100, "autovacuum launcher");
	check_kind(106, PGKG_KIND_BACKGROUND_WORKER, 100, "custom background worker");
	check_kind(107, PGKG_KIND_UNKNOWN_CHILD, 100, "child still showing the postmaster's argv");
	check_kind(108, PGKG_KIND_STARTUP, 100, "startup");
	check_kind(109, PGKG_KIND_UNKNOWN_CHILD, 100, "zombie child with empty cmdline");

	pgkg_classify(procroot, 103, &t);
	is_str(t.title.user, "checkpointer", "title fields reach the target: user");
	is_str(t.title.state, "idle", "title fields reach the target: state");
	is_int(t.cluster.pf.port, 5432, "child carries its parent's pid file");
	is_int(t.st.ppid, 100, "child's ppid");

	is_int(pgkg_classify(procroot, 110, &t), -ESRCH, "child gone before its cmdline was read");
	check_kind(111, PGKG_KIND_NONE, 0, "sh child of a backend");
}

static void test_two_clusters(void)
{
	struct pgkg_target t;

	check_kind(200, PGKG_KIND_POSTMASTER, 200, "second postmaster");
	check_kind(201, PGKG_KIND_CHECKPOINTER, 200, "second cluster's checkpointer");
	pgkg_classify(procroot, 202, &t);
	is_int(t.kind, PGKG_KIND_CLIENT_BACKEND, "second cluster's backend");
	is_int(t.cluster.pf.port, 5433, "second cluster's port");
	ok(ends_with(t.cluster.datadir, "/data2"), "second cluster's datadir");
	is_str(t.title.cluster_name, "16/two", "cluster_name from the title");
	is_int(t.cluster.owner, geteuid() == 0 ? 1234 : getuid(), "owner is the postmaster's uid");
	pgkg_classify(procroot, 102, &t);
	is_int(t.cluster.pf.port, 5432, "first cluster's backend still on 5432");
	check_kind(250, PGKG_KIND_POSTMASTER, 250, "RPM postmaster named postmaster");
	check_kind(251, PGKG_KIND_WALWRITER, 250, "its walwriter");
}

static void test_not_protected(void)
{
	struct pgkg_target t;
	struct pgkg_cluster c;

	is_int(pgkg_classify(procroot, 300, &t), 0, "bash child of a postmaster");
	is_int(t.kind, PGKG_KIND_NONE, "non-server comm is NONE");
	is_str(t.st.comm, "bash", "comm read");
	is_int(t.st.uid, (uid_t)-1, "fast path: no stat() beyond the stat read");
	is_int(t.cluster.postmaster, 0, "no cluster for NONE");

	is_int(pgkg_classify(procroot, 301, &t), 0, "comm with ') '");
	is_str(t.st.comm, "a) b", "comm with ') ' read through classify");
	is_int(t.kind, PGKG_KIND_NONE, "and it is NONE");

	check_kind(400, PGKG_KIND_NONE, 0, "postgres with a stale pid file");
	is_int(pgkg_probe_postmaster(procroot, 400, &c), 0, "probe: stale pid file says no");
	check_unverified_child(401, "child of a postgres with a stale pid file");

	check_kind(601, PGKG_KIND_NONE, 0, "single-user postgres under bash");
	is_int(pgkg_probe_postmaster(procroot, 601, &c), 0, "probe: negative line 1 says no");

	is_int(pgkg_classify(procroot, 4242, &t), -ESRCH, "gone pid");
	is_int(pgkg_classify(procroot, 800, &t), -ESRCH, "pid dir without files");
	is_int(pgkg_classify(procroot, 0, &t), -ESRCH, "pid 0");
	is_int(pgkg_classify(procroot, -5, &t), -ESRCH, "negative pid");
}

static void test_kingbase(void)
{
	struct pgkg_target t;

	pgkg_classify(procroot, 500, &t);
	is_int(t.kind, PGKG_KIND_POSTMASTER, "kingbase postmaster");
	is_str(t.cluster.pidfile_name, "kingbase.pid", "found through kingbase.pid");
	is_int(t.cluster.pf.port, 54321, "kingbase port");
	check_kind(501, PGKG_KIND_CHECKPOINTER, 500, "kingbase checkpointer");
}

static void test_nspid(void)
{
	struct pgkg_target t;
	struct pgkg_cluster c;

	check_kind(700, PGKG_KIND_POSTMASTER, 700, "postmaster in a container (pid file says 1)");
	pgkg_classify(procroot, 700, &t);
	is_int(t.cluster.pf.pid, 1, "pid file line 1 is the namespace pid");
	check_kind(701, PGKG_KIND_CLIENT_BACKEND, 700, "backend in a container");
	check_kind(702, PGKG_KIND_NONE, 0, "container pid file naming another namespace pid");
	is_int(pgkg_probe_postmaster(procroot, 703, &c), 1, "nested namespaces: innermost NSpid");
}

static void test_server_pid(void)
{
	struct pgkg_target t;

	pgkg_classify(procroot, 701, &t);
	is_int(t.pid, 701, "container backend: host pid kept");
	is_int(t.ns_pid, 30, "container backend: the pid its server knows (NSpid in the postmaster's namespace)");
	pgkg_classify(procroot, 700, &t);
	is_int(t.ns_pid, 1, "container postmaster: namespace pid 1");
	pgkg_classify(procroot, 102, &t);
	is_int(t.ns_pid, 102, "host backend: the same pid");
	pgkg_classify(procroot, 300, &t);
	is_int(t.ns_pid, 300, "not protected: ns_pid is the pid");
}

static void test_orphans(void)
{
	struct pgkg_target t;

	check_kind(960, PGKG_KIND_ORPHAN, 950, "orphaned client backend (postmaster gone)");
	pgkg_classify(procroot, 960, &t);
	is_int(t.title.kind, PGKG_KIND_CLIENT_BACKEND, "orphan keeps its title's kind");
	is_str(t.title.user, "app", "orphan's title user");
	ok(ends_with(t.cluster.datadir, "/dataA"), "orphan's data directory is its cwd");
	is_int(t.cluster.pf.port, 5440, "orphan's pid file read");
	check_kind(961, PGKG_KIND_ORPHAN, 950, "orphaned autovacuum worker with cluster_name");
	check_kind(962, PGKG_KIND_ORPHAN, 600, "pid file names a pid reused by a non-postmaster");
	check_kind(963, PGKG_KIND_ORPHAN, 100, "pid file names another cluster's postmaster");
	check_kind(964, PGKG_KIND_NONE, 0, "its postmaster is alive: not an orphan");
	check_kind(965, PGKG_KIND_NONE, 0, "postmaster command line, stale pid file: not an orphan");
	check_kind(966, PGKG_KIND_NONE, 0, "containerised process: not judged from the host");
	check_kind(967, PGKG_KIND_NONE, 0, "no pid file in its cwd: not an orphan");
	check_unverified_child(968, "parent is a live server process: not an orphan");
	ok(!pgkg_kind_is_backend(PGKG_KIND_ORPHAN), "orphan is not in the backend set");
	ok(PGKG_KINDS_ANY & PGKG_KIND_BIT(PGKG_KIND_ORPHAN), "orphan is in any");
	is_int(pgkg_kinds_from_name("orphan", 6), PGKG_KIND_BIT(PGKG_KIND_ORPHAN), "kind name orphan");
}

static void test_read_helpers(void)
{
	char comm[16], title[64];

	is_int(pgkg_read_comm(procroot, 100, comm), 0, "read_comm");
	is_str(comm, "postgres", "comm without newline");
	is_int(pgkg_read_comm(procroot, 4242, comm), -ESRCH, "read_comm of a gone pid");
	is_int(pgkg_read_title(procroot, 102, title, sizeof(title)),
	       (long long)strlen("postgres: app prod [local] idle"), "read_title stops at NUL padding");
	is_str(title, "postgres: app prod [local] idle", "title text");
	is_int(pgkg_read_title(procroot, 102, title, 9), 8, "read_title bounded by cap");
	is_int(pgkg_read_title(procroot, 4242, title, sizeof(title)), -ESRCH, "read_title gone");
}

/* The real /proc: this test program itself. */
static void test_real_proc(void)
{
	struct pgkg_procstat st;
	struct pgkg_target t;
	char title[256];

	is_int(pgkg_read_stat("/proc", getpid(), &st), 0, "real /proc/self stat");
	is_int(st.pid, getpid(), "real pid");
	is_int(st.ppid, getppid(), "real ppid");
	is_int(st.uid, geteuid(), "real uid");
	ok(st.starttime > 0, "real starttime %llu", st.starttime);
	is_int(pgkg_classify("/proc", getpid(), &t), 0, "classify self");
	is_int(t.kind, PGKG_KIND_NONE, "this test is not PostgreSQL");
	ok(pgkg_read_title("/proc", getpid(), title, sizeof(title)) > 0, "real title");
}

/*
 * Permission denied: as another uid, the cwd of root's processes is not
 * readable (EACCES).  A server-named child of a server-named parent we
 * cannot check is UNKNOWN_CHILD + unverified (fail closed).
 */
static void test_denied(void)
{
	const char *d = make_datadir("data10", "postmaster.pid", pidfile_text(900, 5439));
	int fds[2], res[8] = {0};
	pid_t child;

	if (geteuid() != 0) {
		for (int i = 0; i < 8; i++)
			ok(1, "# SKIP permission test needs root to drop privileges");
		return;
	}
	make_proc(900, "postgres", 1, "postgres -D /data10", d);
	make_proc(901, "postgres", 900, "postgres: app prod [local] idle", d);
	make_proc(902, "bash", 900, "bash", d);
	make_proc(903, "postgres", 900, "postgres: checkpointer ", root);	/* readable cwd */
	chmod(d, 0700);
	if (pipe(fds) < 0 || (child = fork()) < 0)
		die("pipe/fork");
	if (child == 0) {
		struct pgkg_cluster c;
		struct pgkg_target t;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		res[0] = pgkg_probe_postmaster(procroot, 900, &c);
		res[1] = pgkg_classify(procroot, 901, &t);
		res[2] = (int)t.kind * 10 + t.unverified;
		pgkg_classify(procroot, 900, &t);
		res[3] = (int)t.kind * 10 + t.unverified;
		res[4] = pgkg_classify(procroot, 902, &t);
		res[5] = (int)t.kind;
		res[6] = pgkg_classify(procroot, 903, &t);
		res[7] = (int)t.kind * 10 + t.unverified;
		if (write(fds[1], res, sizeof(res)) != (ssize_t)sizeof(res))
			_exit(4);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], res, sizeof(res)) != (ssize_t)sizeof(res))
		res[0] = 12345;
	close(fds[0]);
	waitpid(child, NULL, 0);
	is_int(res[0], -EACCES, "probe of an unreadable cwd: -EACCES");
	is_int(res[1], 0, "classify of its child returns 0");
	is_int(res[2], PGKG_KIND_UNKNOWN_CHILD * 10 + 1, "child: unknown-child, unverified");
	is_int(res[3], PGKG_KIND_UNKNOWN_CHILD * 10 + 1, "the postmaster itself: unverified, not NONE");
	is_int(res[4], 0, "non-server child still classified");
	is_int(res[5], PGKG_KIND_NONE, "non-server child is NONE without any permission");
	is_int(res[6], 0, "classify of a child whose own cwd is readable");
	is_int(res[7], PGKG_KIND_UNKNOWN_CHILD * 10 + 1, "unverified because of the parent alone");
}

int main(void)
{
	plan(11 + 27 + 25 + 29	/* server_names, parse_stat, parse_status, parse_pidfile */
	     + 15 + 45 + 22 + 26 + 7 + 14 + 5 + 43	/* postmaster .. orphans (fixture tree) */
	     + 7 + 18 + 8 + 8);	/* read_helpers, read_status, real_proc, denied */
	make_root();
	test_server_names();
	test_parse_stat();
	test_parse_status();
	test_parse_pidfile();
	build_tree();
	test_postmaster();
	test_children();
	test_two_clusters();
	test_not_protected();
	test_kingbase();
	test_nspid();
	test_server_pid();
	test_orphans();
	test_read_helpers();
	test_read_status();
	test_real_proc();
	test_denied();
	remove_root();
	return done_testing();
}
