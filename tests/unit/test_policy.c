/*
 * test_policy.c - the policy language, the loader and the decision (policy.h).
 *
 *   test_policy [TESTDIR]     TESTDIR: the fixtures (default $PGKG_TESTDIR or tests/policy)
 *
 * Table-driven: tests/policy/valid/ *.conf must parse (and *.decisions say what
 * they decide), tests/policy/invalid/ *.conf must fail with exactly the
 * errors in *.expect.  Trust and include tests build real files in a mkdtemp
 * directory; the owner tests need root and are skipped otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/ptrace.h>

#include "guard.h"
#include "policy.h"
#include "tap.h"

#define MAX_ERRS 512

static struct pgkg_policy P;
static const char *testdir;
static char tmpdir[256];

/* ---- helpers ---- */

static struct {
	int n;
	char line[MAX_ERRS][700];
} E;

static void collect(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx;
	if (E.n < MAX_ERRS)
		snprintf(E.line[E.n], sizeof(E.line[0]), "%s:%d: %s", file, line, msg);
	E.n++;
}

static int has_error(const char *want)
{
	for (int i = 0; i < E.n && i < MAX_ERRS; i++) {
		if (strcmp(E.line[i], want) == 0)
			return 1;
	}
	return 0;
}

static void show_errors(void)
{
	for (int i = 0; i < E.n && i < MAX_ERRS; i++)
		diag("  %s", E.line[i]);
}

static int parse(const char *name, const char *text)
{
	pgkg_policy_init(&P);
	E.n = 0;
	return pgkg_policy_parse(&P, name, text, strlen(text), collect, NULL);
}

static int load(const char *path, uid_t trusted)
{
	E.n = 0;
	return pgkg_policy_load(&P, path, trusted, collect, NULL);
}

static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

static char *path_in(const char *dir, const char *name)
{
	static char buf[8][1024];
	static int k;
	char *p = buf[k++ % 8];

	if (snprintf(p, sizeof(buf[0]), "%s/%s", dir, name) >= (int)sizeof(buf[0]))
		abort();
	return p;
}

/* Write a file in tmpdir with exactly this mode (umask does not apply). */
static char *put_file(const char *name, const char *text, mode_t mode)
{
	char *path = path_in(tmpdir, name);
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		diag("cannot write %s: %s", path, strerror(errno));
	if (fd >= 0) {
		fchmod(fd, mode);
		close(fd);
	}
	return path;
}

static char *put_dir(const char *name, mode_t mode)
{
	char *path = path_in(tmpdir, name);

	mkdir(path, 0700);
	chmod(path, mode);
	return path;
}

static void make_link(const char *target, const char *path)
{
	unlink(path);
	if (symlink(target, path) < 0)
		diag("symlink %s: %s", path, strerror(errno));
}

static struct pgkg_caller caller(pid_t pid, uid_t uid, const char *comm)
{
	struct pgkg_caller c;

	memset(&c, 0, sizeof(c));
	c.pid = pid;
	c.uid = uid;
	c.gid = uid;
	if (snprintf(c.comm, sizeof(c.comm), "%s", comm) >= (int)sizeof(c.comm))
		diag("comm %s cut to %s", comm, c.comm);
	return c;
}

static struct pgkg_target T;

static void decide(const struct pgkg_caller *c, enum pgkg_kind kind, int sig,
		   struct pgkg_decision *d)
{
	memset(&T, 0, sizeof(T));
	T.pid = 4242;
	T.kind = kind;
	pgkg_decide(&P, c, &T, sig, d);
}

static enum pgkg_action act(pid_t pid, const char *comm, enum pgkg_kind kind, int sig)
{
	struct pgkg_caller c = caller(pid, 1000, comm);
	struct pgkg_decision d;

	decide(&c, kind, sig, &d);
	return d.action;
}

static int sig_of(const char *name)
{
	pgkg_sigset s = pgkg_signals_from_name(name, strlen(name));

	return s ? __builtin_ctzll(s) + 1 : -1;
}

static int kind_of(const char *name)
{
	for (int k = 0; k < PGKG_KIND__COUNT; k++) {
		if (strcmp(pgkg_kind_name((enum pgkg_kind)k), name) == 0)
			return k;
	}
	return -1;
}

static int action_of(const char *name)
{
	for (int a = PGKG_ALLOW; a <= PGKG_CANCEL; a++) {
		if (strcmp(pgkg_action_name((enum pgkg_action)a), name) == 0)
			return a;
	}
	return -1;
}

static int popcount(pgkg_sigset s)
{
	return __builtin_popcountll(s);
}

/* ---- signals ---- */

static const char *const kill_forms[] = {"KILL", "SIGKILL", "kill", "sigkill", "Kill", "9", "09"};

static void test_signal_names(void)
{
	const char *why;
	pgkg_sigset set;

	for (size_t i = 0; i < sizeof(kill_forms) / sizeof(kill_forms[0]); i++)
		is_int(pgkg_signals_from_name(kill_forms[i], strlen(kill_forms[i])),
		       PGKG_SIGBIT(SIGKILL), "signal name %s is KILL", kill_forms[i]);
	is_int(pgkg_signals_from_name("stop", 4), pgkg_sigset_stop(), "stop (lower case) is the set");
	is_int(pgkg_signals_from_name("STOP", 4), PGKG_SIGBIT(SIGSTOP), "STOP is SIGSTOP alone");
	is_int(pgkg_signals_from_name("sigstop", 7), PGKG_SIGBIT(SIGSTOP), "sigstop is SIGSTOP alone");
	is_int(pgkg_signals_from_name("fatal", 5), pgkg_sigset_fatal(), "fatal is the set");
	is_int(pgkg_signals_from_name("FATAL", 5), 0, "FATAL is not a name (sets are lower case)");
	is_int(pgkg_signals_from_name("*", 1), ~(pgkg_sigset)0, "* is 1..64");
	is_int(popcount(pgkg_sigset_fatal()), 48, "fatal has 48 signals: 15 classic and default-terminate ones, and 32..64");
	ok((pgkg_sigset_fatal() & PGKG_SIGBIT(SIGIO)) != 0, "fatal includes IO (a backend dies of it: crash-restart)");
	ok((pgkg_sigset_fatal() & PGKG_SIGBIT(64)) != 0, "fatal includes RTMAX");
	ok(!(pgkg_sigset_fatal() & (PGKG_SIGBIT(SIGTERM) | PGKG_SIGBIT(SIGHUP) | PGKG_SIGBIT(SIGUSR1) | PGKG_SIGBIT(SIGPWR))),
	   "fatal excludes what PostgreSQL handles or ignores");
	is_int(popcount(pgkg_sigset_stop()), 4, "stop has 4 signals");
	ok(!(pgkg_sigset_fatal() & PGKG_SIGBIT(SIGTERM)) && !(pgkg_sigset_fatal() & PGKG_SIGBIT(SIGINT)),
	   "TERM and INT are not fatal");
	is_int(pgkg_signals_from_name("IOT", 3), PGKG_SIGBIT(SIGABRT), "alias IOT");
	is_int(pgkg_signals_from_name("CLD", 3), PGKG_SIGBIT(SIGCHLD), "alias CLD");

	/* signal 0 can never be named */
	ok(pgkg_signals_parse("0", 1, &set, &why) < 0 && why && strstr(why, "signal 0"),
	   "0 is refused with a reason");
	is_int(pgkg_signals_from_name("00", 2), 0, "00 is refused");
	is_int(pgkg_signals_from_name("SIG0", 4), 0, "SIG0 is refused");
	is_int(pgkg_signals_from_name("65", 2), 0, "65 is refused");
	is_int(pgkg_signals_from_name("-1", 2), 0, "-1 is refused");
	is_int(pgkg_signals_from_name("", 0), 0, "empty is refused");
	is_int(pgkg_signals_from_name("SIG", 3), 0, "SIG alone is refused");
	is_int(pgkg_signals_from_name("9 ", 2), 0, "trailing space is refused");
	ok(pgkg_signals_parse("KILLL", 5, &set, &why) < 0 && why == NULL, "unknown name: no reason");
}

static void test_rtmin(void)
{
	int lo = SIGRTMIN, hi = SIGRTMAX;
	char scratch[16];

#ifdef __GLIBC__
	is_int(lo, 34, "glibc reports SIGRTMIN 34 (32 and 33 are its own)");
#endif
	is_int(hi, 64, "SIGRTMAX is 64");
	is_int(sig_of("RTMIN"), lo, "RTMIN is the C library's SIGRTMIN");
	is_int(sig_of("SIGRTMIN"), lo, "SIGRTMIN too");
	is_int(sig_of("rtmin+1"), lo + 1, "rtmin+1");
	is_int(sig_of("RTMAX"), hi, "RTMAX");
	is_int(sig_of("RTMAX-2"), hi - 2, "RTMAX-2");
	is_int(sig_of("RTMIN+0"), lo, "RTMIN+0");
	is_int(pgkg_signals_from_name("RTMIN-1", 7), 0, "RTMIN-1 refused");
	is_int(pgkg_signals_from_name("RTMAX+1", 7), 0, "RTMAX+1 refused");
	ok(sig_of("RTMAX-30") == lo || lo != 34, "RTMAX-30 is RTMIN");
	is_int(pgkg_signals_from_name("RTMAX-31", 8) & PGKG_SIGBIT(33), 0, "RTMAX-31 never reaches 33");
	is_int(sig_of("32"), 32, "32 can be named by number");
	is_str(pgkg_signal_name(32, scratch, sizeof(scratch)), "32", "name of 32 is its number");
	is_str(pgkg_signal_name(lo, scratch, sizeof(scratch)), "RTMIN", "name of SIGRTMIN");
	is_str(pgkg_signal_name(lo + 15, scratch, sizeof(scratch)), "RTMIN+15", "RTMIN+15 (bash style)");
	is_str(pgkg_signal_name(hi - 14, scratch, sizeof(scratch)), "RTMAX-14", "RTMAX-14 (bash style)");
	is_str(pgkg_signal_name(hi, scratch, sizeof(scratch)), "RTMAX", "name of SIGRTMAX");
	is_str(pgkg_signal_name(SIGKILL, scratch, sizeof(scratch)), "KILL", "name of 9");
	ok(pgkg_signal_name(0, scratch, sizeof(scratch)) == NULL, "no name for 0");
	ok(pgkg_signal_name(65, scratch, sizeof(scratch)) == NULL, "no name for 65");
	ok(pgkg_signal_name(-9, scratch, sizeof(scratch)) == NULL, "no name for -9");
	ok(pgkg_signal_name(lo + 1, scratch, 4) == NULL, "NULL when scratch is too small");
	for (int sig = 1; sig <= 64; sig++) {
		const char *name = pgkg_signal_name(sig, scratch, sizeof(scratch));
		if (!name || sig_of(name) != sig) {
			ok(0, "signal %d round-trips through its name %s", sig, name ? name : "(null)");
			return;
		}
	}
	ok(1, "every signal 1..64 round-trips through its name");
}

static void test_action_names(void)
{
	is_str(pgkg_action_name(PGKG_ALLOW), "allow", "action allow");
	is_str(pgkg_action_name(PGKG_BLOCK), "block", "action block");
	is_str(pgkg_action_name(PGKG_TERMINATE), "terminate", "action terminate");
	is_str(pgkg_action_name(PGKG_CANCEL), "cancel", "action cancel");
	is_str(pgkg_action_name((enum pgkg_action)42), "unknown", "action out of range");
}

/* ---- the shipped default ---- */

static const struct {
	const char *sig;
	enum pgkg_kind kind;
	pid_t pid;
	const char *comm;
	enum pgkg_action want;
} default_table[] = {
	{"KILL", PGKG_KIND_CLIENT_BACKEND, 700, "bash", PGKG_TERMINATE},
	{"QUIT", PGKG_KIND_CLIENT_BACKEND, 700, "bash", PGKG_TERMINATE},
	{"SEGV", PGKG_KIND_WALSENDER, 700, "bash", PGKG_TERMINATE},
	{"KILL", PGKG_KIND_AUTOVACUUM_LAUNCHER, 700, "bash", PGKG_TERMINATE},
	{"KILL", PGKG_KIND_BACKGROUND_WORKER, 700, "bash", PGKG_TERMINATE},
	{"KILL", PGKG_KIND_POSTMASTER, 700, "bash", PGKG_BLOCK},
	{"KILL", PGKG_KIND_POSTMASTER, 700, "pg_ctl", PGKG_BLOCK},
	{"QUIT", PGKG_KIND_POSTMASTER, 700, "pg_ctl", PGKG_ALLOW},
	{"QUIT", PGKG_KIND_POSTMASTER, 700, "bash", PGKG_BLOCK},
	{"ABRT", PGKG_KIND_POSTMASTER, 700, "bash", PGKG_BLOCK},
	{"TERM", PGKG_KIND_POSTMASTER, 700, "bash", PGKG_ALLOW},
	{"INT", PGKG_KIND_POSTMASTER, 700, "bash", PGKG_ALLOW},
	{"HUP", PGKG_KIND_POSTMASTER, 700, "bash", PGKG_ALLOW},
	{"USR1", PGKG_KIND_POSTMASTER, 700, "bash", PGKG_ALLOW},
	{"TSTP", PGKG_KIND_POSTMASTER, 700, "bash", PGKG_BLOCK},
	{"KILL", PGKG_KIND_POSTMASTER, 1, "systemd", PGKG_ALLOW},
	{"STOP", PGKG_KIND_CLIENT_BACKEND, 1, "systemd", PGKG_ALLOW},
	{"SEGV", PGKG_KIND_CHECKPOINTER, 1, "init", PGKG_ALLOW},
	{"KILL", PGKG_KIND_POSTMASTER, 2, "pid1", PGKG_BLOCK},
	{"STOP", PGKG_KIND_CLIENT_BACKEND, 700, "bash", PGKG_BLOCK},
	{"TTIN", PGKG_KIND_WALWRITER, 700, "bash", PGKG_BLOCK},
	{"STOP", PGKG_KIND_UNKNOWN_CHILD, 700, "bash", PGKG_BLOCK},
	{"TERM", PGKG_KIND_CLIENT_BACKEND, 700, "bash", PGKG_ALLOW},
	{"INT", PGKG_KIND_WALSENDER, 700, "bash", PGKG_ALLOW},
	{"HUP", PGKG_KIND_AUTOVACUUM_WORKER, 700, "bash", PGKG_ALLOW},
	{"CONT", PGKG_KIND_CLIENT_BACKEND, 700, "bash", PGKG_ALLOW},
	{"RTMIN", PGKG_KIND_CLIENT_BACKEND, 700, "bash", PGKG_TERMINATE},
	{"KILL", PGKG_KIND_CHECKPOINTER, 700, "bash", PGKG_BLOCK},
	{"QUIT", PGKG_KIND_CHECKPOINTER, 700, "bash", PGKG_BLOCK},
	{"INT", PGKG_KIND_CHECKPOINTER, 700, "bash", PGKG_BLOCK},
	{"KILL", PGKG_KIND_WALWRITER, 700, "bash", PGKG_BLOCK},
	{"QUIT", PGKG_KIND_WALWRITER, 700, "bash", PGKG_BLOCK},
	{"KILL", PGKG_KIND_BACKGROUND_WRITER, 700, "bash", PGKG_BLOCK},
	{"QUIT", PGKG_KIND_BACKGROUND_WRITER, 700, "bash", PGKG_BLOCK},
	{"TERM", PGKG_KIND_STARTUP, 700, "bash", PGKG_BLOCK},
	/* measured on 13-18 (docs/AUX-SIGNALS.md): TERM/INT that only restart or do nothing */
	{"TERM", PGKG_KIND_WALRECEIVER, 700, "repmgr", PGKG_ALLOW},
	{"INT", PGKG_KIND_WALRECEIVER, 700, "bash", PGKG_ALLOW},
	{"TERM", PGKG_KIND_WALWRITER, 700, "bash", PGKG_ALLOW},
	{"TERM", PGKG_KIND_BACKGROUND_WRITER, 700, "bash", PGKG_ALLOW},
	{"TERM", PGKG_KIND_CHECKPOINTER, 700, "bash", PGKG_ALLOW},
	{"INT", PGKG_KIND_STARTUP, 700, "bash", PGKG_ALLOW},
	{"TERM", PGKG_KIND_IO_WORKER, 700, "bash", PGKG_ALLOW},
	{"TERM", PGKG_KIND_WALSUMMARIZER, 700, "bash", PGKG_ALLOW},
	{"TERM", PGKG_KIND_ARCHIVER, 700, "bash", PGKG_ALLOW},
	{"INT", PGKG_KIND_LOGGER, 700, "bash", PGKG_ALLOW},
	{"KILL", PGKG_KIND_WALRECEIVER, 700, "repmgr", PGKG_BLOCK},
	{"QUIT", PGKG_KIND_WALRECEIVER, 700, "bash", PGKG_BLOCK},
	{"QUIT", PGKG_KIND_ARCHIVER, 700, "bash", PGKG_BLOCK},
	{"KILL", PGKG_KIND_STARTUP, 700, "bash", PGKG_BLOCK},
	{"KILL", PGKG_KIND_IO_WORKER, 700, "bash", PGKG_BLOCK},
	{"STOP", PGKG_KIND_WALRECEIVER, 700, "bash", PGKG_BLOCK},
	{"HUP", PGKG_KIND_CHECKPOINTER, 700, "bash", PGKG_ALLOW},
	{"USR1", PGKG_KIND_CHECKPOINTER, 700, "bash", PGKG_ALLOW},
	{"KILL", PGKG_KIND_UNKNOWN_CHILD, 700, "bash", PGKG_BLOCK},
	{"TERM", PGKG_KIND_UNKNOWN_CHILD, 700, "bash", PGKG_ALLOW},
	{"KILL", PGKG_KIND_ORPHAN, 700, "bash", PGKG_TERMINATE},
	{"SEGV", PGKG_KIND_ORPHAN, 700, "bash", PGKG_TERMINATE},
	{"STOP", PGKG_KIND_ORPHAN, 700, "bash", PGKG_BLOCK},
	{"TERM", PGKG_KIND_ORPHAN, 700, "bash", PGKG_ALLOW},
	{"KILL", PGKG_KIND_NONE, 700, "bash", PGKG_ALLOW},
	{"STOP", PGKG_KIND_NONE, 700, "bash", PGKG_ALLOW},
	{"SEGV", PGKG_KIND_NONE, 1, "systemd", PGKG_ALLOW},
};

static void check_default_table(const char *what)
{
	for (size_t i = 0; i < sizeof(default_table) / sizeof(default_table[0]); i++) {
		enum pgkg_action got = act(default_table[i].pid, default_table[i].comm,
					   default_table[i].kind, sig_of(default_table[i].sig));
		ok(got == default_table[i].want, "%s: %s to %s from %s (pid %d) => %s (got %s)", what,
		   default_table[i].sig, pgkg_kind_name(default_table[i].kind), default_table[i].comm,
		   (int)default_table[i].pid, pgkg_action_name(default_table[i].want),
		   pgkg_action_name(got));
	}
}

static void test_default(void)
{
	struct pgkg_caller c = caller(700, 1000, "bash");
	struct pgkg_decision d;
	char dir[512];
	int n;

	pgkg_policy_init(&P);
	E.n = 0;
	n = pgkg_policy_load_default_report(&P, collect, NULL);
	is_int(n, 0, "built-in default: no errors");
	show_errors();
	ok(!P.broken, "built-in default: not broken");
	is_str(P.path, "(built-in default)", "built-in default: path");
	is_int(P.nrules, 14, "built-in default: 14 rules");
	is_str(pgkg_policy_str(&P, P.rules[0].file), "(built-in default)", "rules say where they come from");
	is_int(P.mode, PGKG_MODE_ENFORCE, "built-in default: mode enforce");
	check_default_table("default");

	decide(&c, PGKG_KIND_CLIENT_BACKEND, SIGKILL, &d);
	is_int(d.timeout_ms, 5000, "KILL to a backend: timeout 5000");
	ok(d.rule && !d.report_only && !d.policy_broken, "KILL to a backend: from a rule, enforced");
	decide(&c, PGKG_KIND_POSTMASTER, SIGKILL, &d);
	ok(d.rule && strstr(pgkg_policy_str(&P, d.rule->message), "pg_ctl stop"),
	   "KILL to the postmaster: the rule's message");
	int refused_kind = -1;
	for (int k = 0; k < PGKG_KIND__COUNT && refused_kind < 0; k++) {
		decide(&c, (enum pgkg_kind)k, 0, &d);
		if (d.action != PGKG_ALLOW)
			refused_kind = k;
	}
	is_int(refused_kind, -1, "signal 0 is allowed to every kind (else: the first kind refused)");
	is_int(pgkg_policy_load_default(&P), 0, "pgkg_policy_load_default: no errors");

	/* The same text parsed as the installed file (include_dir resolves next to it). */
	snprintf(dir, sizeof(dir), "%s/etc-pgkillguard", tmpdir);
	mkdir(dir, 0755);
	n = parse(path_in(dir, "pgkillguard.conf"), pgkg_default_policy_text);
	is_int(n, 0, "shipped file: no errors");
	is_int(P.nrules, 14, "shipped file: 14 rules");
	check_default_table("shipped");
}

/* ---- table-driven fixtures ---- */

static int list_fixtures(const char *dir, char names[][256], int max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) && n < max) {
		size_t len = strlen(e->d_name);
		if (len > 5 && strcmp(e->d_name + len - 5, ".conf") == 0)
			snprintf(names[n++], 256, "%s", e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, 256, (int (*)(const void *, const void *))strcmp);
	return n;
}

static FILE *open_sidecar(const char *dir, const char *conf, const char *ext)
{
	char path[1024];

	if (snprintf(path, sizeof(path), "%s/%.*s%s", dir, (int)(strlen(conf) - 5), conf, ext) >=
	    (int)sizeof(path))
		abort();
	return fopen(path, "r");
}

/* "SIG KIND PID UID GIDS COMM ACTION [report] [timeout=MS] [line=N]" */
static void check_decision_line(const char *fixture, int lineno, char *line)
{
	char sig[32], kind[64], gids[128], comm[32], action[32], opt[3][32];
	int pid, uid, k, a, s, nf;
	struct pgkg_caller c;
	struct pgkg_decision d;
	int want_report = 0, want_timeout = -1, want_line = -1;

	nf = sscanf(line, "%31s %63s %d %d %127s %31s %31s %31s %31s %31s", sig, kind, &pid, &uid,
		    gids, comm, action, opt[0], opt[1], opt[2]);
	s = sig_of(sig);
	k = kind_of(kind);
	a = action_of(action);
	if (nf < 7 || s < 0 || k < 0 || a < 0) {
		ok(0, "%s:%d: bad decision line", fixture, lineno);
		return;
	}
	for (int i = 0; i < nf - 7; i++) {
		if (strcmp(opt[i], "report") == 0)
			want_report = 1;
		else if (sscanf(opt[i], "timeout=%d", &want_timeout) != 1 &&
			 sscanf(opt[i], "line=%d", &want_line) != 1)
			ok(0, "%s:%d: unknown word %s", fixture, lineno, opt[i]);
	}
	c = caller(pid, (uid_t)uid, comm);
	c.ngroups = 0;
	for (char *g = strtok(gids, ","); g; g = strtok(NULL, ",")) {
		if (g == gids)
			c.gid = (gid_t)atoi(g);
		c.groups[c.ngroups++] = (gid_t)atoi(g);
	}
	decide(&c, (enum pgkg_kind)k, s, &d);
	ok(d.action == (enum pgkg_action)a && d.report_only == want_report &&
	   (want_timeout < 0 || d.timeout_ms == (uint32_t)want_timeout) &&
	   (want_line < 0 || (d.rule ? d.rule->line : 0) == want_line) && !d.policy_broken,
	   "%s:%d: %s to %s from %s uid %d => %s%s (got %s%s, rule line %d, timeout %u)", fixture,
	   lineno, sig, kind, comm, uid, action, want_report ? " (report)" : "",
	   pgkg_action_name(d.action), d.report_only ? " (report)" : "", d.rule ? d.rule->line : 0,
	   d.timeout_ms);
}

static void check_decisions(const char *dir, const char *conf)
{
	FILE *f = open_sidecar(dir, conf, ".decisions");
	char line[512];
	int lineno = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] != '#' && line[0] != '\n')
			check_decision_line(conf, lineno, line);
	}
	fclose(f);
}

static void test_route(void)
{
	struct pgkg_caller c = caller(700, 1000, "bash");
	struct pgkg_decision d;

	is_int(parse("route.conf", "KILL client-backend terminate route=sql\n"
				   "QUIT client-backend terminate route=signal\n"
				   "ABRT client-backend terminate route=auto\n"
				   "SEGV client-backend terminate\n"
				   "INT  walsender      cancel    route=signal\n"
				   "KILL orphan         terminate route=signal timeout=100\n"), 0,
	       "route=sql|signal|auto parse");
	show_errors();
	decide(&c, PGKG_KIND_CLIENT_BACKEND, SIGKILL, &d);
	is_int(d.route, PGKG_ROUTE_SQL, "route=sql reaches the decision");
	decide(&c, PGKG_KIND_CLIENT_BACKEND, SIGQUIT, &d);
	is_int(d.route, PGKG_ROUTE_SIGNAL, "route=signal reaches the decision");
	decide(&c, PGKG_KIND_CLIENT_BACKEND, SIGABRT, &d);
	is_int(d.route, PGKG_ROUTE_AUTO, "route=auto reaches the decision");
	decide(&c, PGKG_KIND_CLIENT_BACKEND, SIGSEGV, &d);
	is_int(d.route, PGKG_ROUTE_AUTO, "no route= means auto");
	decide(&c, PGKG_KIND_WALSENDER, SIGINT, &d);
	ok(d.action == PGKG_CANCEL && d.route == PGKG_ROUTE_SIGNAL, "cancel with route=signal");
	decide(&c, PGKG_KIND_ORPHAN, SIGKILL, &d);
	ok(d.action == PGKG_TERMINATE && d.route == PGKG_ROUTE_SIGNAL && d.timeout_ms == 100,
	   "terminate an orphan by the direct route");
	is_str(pgkg_route_name(PGKG_ROUTE_SIGNAL), "signal", "route name signal");
	is_str(pgkg_route_name(PGKG_ROUTE_SQL), "sql", "route name sql");
	is_str(pgkg_route_name(PGKG_ROUTE_AUTO), "auto", "route name auto");

	is_int(parse("bad.conf", "KILL client-backend terminate route=kill\n"), 1, "route=kill is an error");
	ok(E.n == 1 && strstr(E.line[0], "bad.conf:1: route must be auto, sql or signal, not \"kill\""),
	   "route error says what is allowed");
	is_int(parse("bad.conf", "KILL client-backend block route=signal\n"), 1,
	       "route= on block is an error");
	ok(E.n == 1 && strstr(E.line[0], "route") && strstr(E.line[0], "only applies to terminate and cancel"),
	   "route= only for terminate and cancel");
	is_int(parse("bad.conf", "KILL checkpointer terminate route=signal\n"), 1,
	       "route=signal does not open auxiliary kinds to terminate");
	is_int(parse("bad.conf", "KILL client-backend terminate route=sql route=signal\n"), 1,
	       "duplicate route is an error");
}

/* The decision lines of conf's .decisions file, as check_decisions reads them. */
static int count_decisions(const char *dir, const char *conf)
{
	FILE *f = open_sidecar(dir, conf, ".decisions");
	char line[512];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += line[0] != '#' && line[0] != '\n';
	fclose(f);
	return n;
}

/* How many tests the fixture files call for: counted before any runs. */
static int fixture_tests(void)
{
	static char names[128][256];
	char dir[1024];
	int n, tests = 0;

	snprintf(dir, sizeof(dir), "%s/valid", testdir);
	n = list_fixtures(dir, names, 128);
	for (int i = 0; i < n; i++)	/* parses, then one test per decision line */
		tests += 1 + count_decisions(dir, names[i]);
	snprintf(dir, sizeof(dir), "%s/invalid", testdir);
	n = list_fixtures(dir, names, 128);
	if (n > 0)	/* errors; .expect exists; the errors in order; first_error */
		tests += 4 * n;
	return tests;
}

static void test_valid_fixtures(void)
{
	static char names[128][256], passwd[1024], group[1024];
	char dir[1024];
	int n;

	snprintf(dir, sizeof(dir), "%s/valid", testdir);
	n = list_fixtures(dir, names, 128);
	ok(n > 5, "found the valid fixtures in %s", dir);
	snprintf(passwd, sizeof(passwd), "%s", path_in(testdir, "accounts/passwd"));
	snprintf(group, sizeof(group), "%s", path_in(testdir, "accounts/group"));
	pgkg_policy_set_account_files(passwd, group);
	for (int i = 0; i < n; i++) {
		size_t len;
		char *text = read_text(path_in(dir, names[i]), &len);
		int errs;

		pgkg_policy_init(&P);
		E.n = 0;
		errs = text ? pgkg_policy_parse(&P, path_in(dir, names[i]), text, len, collect, NULL) : -1;
		ok(errs == 0 && !P.broken, "valid/%s parses with no error", names[i]);
		show_errors();
		check_decisions(dir, names[i]);
		free(text);
	}
	pgkg_policy_set_account_files(NULL, NULL);
}

/* Remove every occurrence of prefix from s (in place). */
static void strip_prefix(char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	char *p;

	while ((p = strstr(s, prefix)))
		memmove(p, p + n, strlen(p + n) + 1);
}

static void check_expected(const char *dir, const char *conf)
{
	FILE *f = open_sidecar(dir, conf, ".expect");
	char line[700], prefix[1100];
	int i = 0, same = 1;

	snprintf(prefix, sizeof(prefix), "%s/", dir);
	if (!ok(f != NULL, "invalid/%s has a .expect file", conf))
		return;
	for (int k = 0; k < E.n && k < MAX_ERRS; k++)
		strip_prefix(E.line[k], prefix);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (i >= E.n || strcmp(E.line[i], line) != 0) {
			diag("want: %s", line);
			diag("got:  %s", i < E.n ? E.line[i] : "(nothing)");
			same = 0;
		}
		i++;
	}
	fclose(f);
	ok(same && i == E.n, "invalid/%s: the %d expected errors, in order (got %d)", conf, i, E.n);
	if (!(same && i == E.n))
		show_errors();
	strip_prefix(P.first_error, prefix);
	is_str(P.first_error, E.n ? E.line[0] : "", "invalid/%s: first_error", conf);
}

static void test_invalid_fixtures(void)
{
	static char names[128][256];
	char dir[1024];
	int n;

	snprintf(dir, sizeof(dir), "%s/invalid", testdir);
	n = list_fixtures(dir, names, 128);
	ok(n > 5, "found the invalid fixtures in %s", dir);
	for (int i = 0; i < n; i++) {
		size_t len;
		char *text = read_text(path_in(dir, names[i]), &len);
		int errs;

		pgkg_policy_init(&P);
		E.n = 0;
		errs = text ? pgkg_policy_parse(&P, path_in(dir, names[i]), text, len, collect, NULL) : 0;
		ok(errs > 0 && P.broken && P.nerrors == errs, "invalid/%s: %d errors, broken", names[i], errs);
		check_expected(dir, names[i]);
		free(text);
	}
}

/* ---- trust ---- */

static void expect_one_error(int n, const char *want, const char *what)
{
	ok(n == 1 && E.n == 1 && has_error(want) && P.broken, "%s: %s", what, want);
	if (!(n == 1 && E.n == 1 && has_error(want)))
		show_errors();
}

static void test_trust(void)
{
	uid_t me = geteuid();
	char want[1200], *good, *f;
	int n;

	good = put_file("good.conf", "KILL postmaster block\n", 0644);
	n = load(good, me);
	ok(n == 0 && !P.broken && P.nrules == 1, "a root-owned 0644 file loads");
	is_str(P.path, good, "path is the file");
	is_str(pgkg_policy_str(&P, P.rules[0].file), good, "rule->file is the file");
	put_file("ro.conf", "KILL postmaster block\n", 0400);
	ok(load(path_in(tmpdir, "ro.conf"), me) == 0, "a 0400 file loads");

	f = put_file("gw.conf", "KILL postmaster block\n", 0664);
	snprintf(want, sizeof(want), "%s:0: is group-writable", f);
	expect_one_error(load(f, me), want, "group-writable");
	is_int(P.nrules, 0, "an untrusted file is not parsed");
	is_str(P.first_error, want, "first_error");

	f = put_file("ww.conf", "KILL postmaster block\n", 0646);
	snprintf(want, sizeof(want), "%s:0: is world-writable", f);
	expect_one_error(load(f, me), want, "world-writable");

	f = put_file("aw.conf", "KILL postmaster block\n", 0666);
	is_int(load(f, me), 2, "0666: both problems reported");

	f = path_in(tmpdir, "link.conf");
	make_link(good, f);
	snprintf(want, sizeof(want), "%s:0: is a symbolic link", f);
	expect_one_error(load(f, me), want, "symlink");

	f = put_dir("adir.conf", 0755);
	snprintf(want, sizeof(want), "%s:0: is not a regular file", f);
	expect_one_error(load(f, me), want, "directory");

	f = path_in(tmpdir, "fifo.conf");
	unlink(f);
	mkfifo(f, 0644);
	snprintf(want, sizeof(want), "%s:0: is not a regular file", f);
	expect_one_error(load(f, me), want, "fifo (opened without blocking)");

	f = put_file("big.conf", "", 0644);
	if (truncate(f, 2 * PGKG_MAX_FILE) < 0)
		diag("truncate: %s", strerror(errno));
	snprintf(want, sizeof(want), "%s:0: is larger than 1048576 bytes", f);
	expect_one_error(load(f, me), want, "file larger than PGKG_MAX_FILE");

	/* ENOENT: p untouched, so the caller can fall back on the built-in default */
	pgkg_policy_init(&P);
	P.nrules = 77;
	strcpy(P.path, "sentinel");
	is_int(load(path_in(tmpdir, "missing.conf"), me), -ENOENT, "missing file: -ENOENT");
	ok(P.nrules == 77 && strcmp(P.path, "sentinel") == 0 && E.n == 0, "missing file: p untouched");
	f = path_in(tmpdir, "nodir/x.conf");
	is_int(load(f, me), -ENOENT, "missing directory: -ENOENT");
	snprintf(want, sizeof(want), "%s:0: cannot be opened: a path component is not a directory",
		 path_in(good, "x"));
	expect_one_error(load(path_in(good, "x"), me), want, "path through a file");
}

static void test_trust_owner(void)
{
	char want[1200], *f;

	if (geteuid() != 0) {
		for (int i = 0; i < 3; i++)
			ok(1, "# SKIP owner tests need root (chown)");
		return;
	}
	f = put_file("owned.conf", "KILL postmaster block\n", 0644);
	if (chown(f, 1001, 1001) < 0)
		diag("chown: %s", strerror(errno));
	snprintf(want, sizeof(want), "%s:0: is owned by uid 1001, not root", f);
	expect_one_error(load(f, 0), want, "wrong owner");
	is_int(load(f, 1001), 0, "owned by the trusted uid: fine");
	snprintf(want, sizeof(want), "%s:0: is owned by uid 1001, not root or uid 1002", f);
	expect_one_error(load(f, 1002), want, "wrong owner, another trusted uid");
}

static void test_unreadable(void)
{
	char want[1200], *f = put_file("secret.conf", "KILL postmaster block\n", 0600);
	pid_t pid;
	int status = -1;

	snprintf(want, sizeof(want), "%s:0: cannot be opened: permission denied", f);
	if (geteuid() != 0) {
		chmod(f, 0);
		expect_one_error(load(f, geteuid()), want, "unreadable");
		return;
	}
	chmod(tmpdir, 0711);	/* let nobody reach the file, not read it */
	pid = fork();
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		_exit(load(f, 0) == 1 && E.n == 1 && has_error(want) && P.broken ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	chmod(tmpdir, 0700);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "unreadable (as uid 65534): %s", want);
}

/* ---- includes ---- */

static void test_includes(void)
{
	char want[1200], *top, text[4096];
	int n;

	put_dir("inc", 0755);
	put_dir("inc/sub", 0755);
	put_file("inc/sub/a.conf", "include b.conf\nKILL walsender block\n", 0644);
	put_file("inc/sub/b.conf", "KILL checkpointer block\n", 0644);
	snprintf(text, sizeof(text), "KILL archiver block\ninclude sub/a.conf\ninclude %s\nKILL logger block\n",
		 path_in(tmpdir, "inc/abs.conf"));
	put_file("inc/abs.conf", "KILL startup block\n", 0644);
	top = put_file("inc/top.conf", text, 0644);
	n = load(top, geteuid());
	ok(n == 0 && P.nrules == 5, "relative and absolute includes: 5 rules, no error");
	show_errors();
	if (P.nrules == 5) {
		is_str(pgkg_policy_str(&P, P.rules[1].file), path_in(tmpdir, "inc/sub/b.conf"),
		       "include resolves relative to the including file (nested)");
		ok(P.rules[0].line == 1 && P.rules[2].line == 2 && P.rules[4].line == 4 &&
		   P.rules[4].kinds == PGKG_KIND_BIT(PGKG_KIND_LOGGER),
		   "rules keep file order around includes");
		is_str(pgkg_policy_str(&P, P.rules[3].file), path_in(tmpdir, "inc/abs.conf"),
		       "absolute include");
	}

	top = put_file("inc/missing.conf", "KILL archiver block\ninclude nope.conf\n", 0644);
	snprintf(want, sizeof(want), "%s:2: cannot include \"%s\": no such file", top,
		 path_in(tmpdir, "inc/nope.conf"));
	expect_one_error(load(top, geteuid()), want, "missing include FILE is an error");
	is_int(P.nrules, 1, "the rest of the file is still parsed");

	top = put_file("inc/self.conf", "include self.conf\n", 0644);
	snprintf(want, sizeof(want), "%s:1: include loop: \"%s\" is already being read", top, top);
	expect_one_error(load(top, geteuid()), want, "a file including itself");

	put_file("inc/loop-a.conf", "KILL archiver block\ninclude loop-b.conf\n", 0644);
	put_file("inc/loop-b.conf", "include loop-a.conf\n", 0644);
	snprintf(want, sizeof(want), "%s:1: include loop: \"%s\" is already being read",
		 path_in(tmpdir, "inc/loop-b.conf"), path_in(tmpdir, "inc/loop-a.conf"));
	expect_one_error(load(path_in(tmpdir, "inc/loop-a.conf"), geteuid()), want, "include loop a -> b -> a");

	top = put_file("inc/twice.conf", "include abs.conf\ninclude abs.conf\n", 0644);
	ok(load(top, geteuid()) == 0 && P.nrules == 2, "the same file twice (no loop) is fine");

	/* depth: d0 includes d1 ... includes d9 */
	for (int i = 0; i <= 9; i++) {
		char name[64], body[128];
		snprintf(name, sizeof(name), "inc/d%d.conf", i);
		snprintf(body, sizeof(body), "KILL archiver block\ninclude d%d.conf\n", i + 1);
		put_file(name, body, 0644);
	}
	snprintf(want, sizeof(want), "%s:2: includes nested too deeply (limit 8)",
		 path_in(tmpdir, "inc/d8.conf"));
	expect_one_error(load(path_in(tmpdir, "inc/d0.conf"), geteuid()), want, "nesting deeper than 8");
	is_int(P.nrules, 9, "files at depth 0..8 are parsed");

	text[0] = '\0';
	for (int i = 0; i < 70; i++)
		strcat(text, "include abs.conf\n");
	top = put_file("inc/many.conf", text, 0644);
	snprintf(want, sizeof(want), "%s:64: too many policy files (limit 64)", top);
	n = load(top, geteuid());
	ok(n == 7 && has_error(want) && P.nrules == 63, "more than 64 files: an error per extra include");

	top = put_file("inc/gw-inc.conf", "include gw.conf\n", 0644);
	put_file("inc/gw.conf", "KILL archiver block\n", 0620);
	snprintf(want, sizeof(want), "%s:0: is group-writable", path_in(tmpdir, "inc/gw.conf"));
	expect_one_error(load(top, geteuid()), want, "an included file gets the trust check");

	make_link("abs.conf", path_in(tmpdir, "inc/abs-link.conf"));
	top = put_file("inc/link-inc.conf", "include abs-link.conf\n", 0644);
	snprintf(want, sizeof(want), "%s:0: is a symbolic link", path_in(tmpdir, "inc/abs-link.conf"));
	expect_one_error(load(top, geteuid()), want, "an included symlink is refused");
}

static void test_include_dir(void)
{
	static const char *const order[] = {"10-a.conf", "20-b.conf", "B.conf", "a.conf"};
	char want[1200], *top, body[256];
	int n;

	put_dir("d", 0755);
	put_dir("d/policy.d", 0755);
	for (int i = 3; i >= 0; i--) {
		snprintf(body, sizeof(body), "KILL archiver block message=%s\n", order[i]);
		put_file(path_in("d/policy.d", order[i]), body, 0644);
	}
	put_file("d/policy.d/.hidden.conf", "garbage that would not parse\n", 0644);
	put_file("d/policy.d/notes.txt", "garbage that would not parse\n", 0644);
	put_file("d/policy.d/x.conf.bak", "garbage that would not parse\n", 0644);
	put_file("d/policy.d/.conf", "garbage that would not parse\n", 0644);
	top = put_file("d/top.conf", "include_dir policy.d\nKILL postmaster block\n", 0644);
	n = load(top, geteuid());
	ok(n == 0 && P.nrules == 5, "include_dir: 4 files, others ignored, no error");
	show_errors();
	for (int i = 0; i < 4; i++)
		is_str(P.nrules == 5 ? pgkg_policy_str(&P, P.rules[i].message) : NULL, order[i],
		       "include_dir: file %d in byte order", i);

	top = put_file("d/nodir.conf", "include_dir no-such.d\nKILL postmaster block\n", 0644);
	ok(load(top, geteuid()) == 0 && P.nrules == 1, "a missing include_dir is not an error");

	top = put_file("d/filedir.conf", "include_dir top.conf\n", 0644);
	snprintf(want, sizeof(want), "%s:0: is not a directory", path_in(tmpdir, "d/top.conf"));
	expect_one_error(load(top, geteuid()), want, "include_dir of a file");

	put_dir("d/gw.d", 0775);
	top = put_file("d/gwdir.conf", "include_dir gw.d\n", 0644);
	snprintf(want, sizeof(want), "%s:0: is group-writable", path_in(tmpdir, "d/gw.d"));
	expect_one_error(load(top, geteuid()), want, "a group-writable include_dir");

	make_link("policy.d", path_in(tmpdir, "d/link.d"));
	top = put_file("d/linkdir.conf", "include_dir link.d\n", 0644);
	snprintf(want, sizeof(want), "%s:0: is a symbolic link", path_in(tmpdir, "d/link.d"));
	expect_one_error(load(top, geteuid()), want, "a symlinked include_dir");

	put_dir("d/bad.d", 0755);
	put_file("d/bad.d/1.conf", "KILL archiver explode\n", 0644);
	put_file("d/bad.d/2.conf", "KILL archiver block\n", 0664);
	top = put_file("d/bad.conf", "include_dir bad.d\n", 0644);
	n = load(top, geteuid());
	snprintf(want, sizeof(want), "%s:1: unknown action \"explode\" (allow, block, terminate or cancel)",
		 path_in(tmpdir, "d/bad.d/1.conf"));
	ok(n == 2 && has_error(want), "errors inside include_dir files name the file and line");

	put_dir("d/many.d", 0755);
	for (int i = 0; i < 70; i++) {
		char name[64];
		snprintf(name, sizeof(name), "d/many.d/%02d.conf", i);
		put_file(name, "KILL archiver block\n", 0644);
	}
	top = put_file("d/many.conf", "include_dir many.d\n", 0644);
	snprintf(want, sizeof(want), "%s:0: has more than 64 *.conf files", path_in(tmpdir, "d/many.d"));
	expect_one_error(load(top, geteuid()), want, "a directory with too many files");
}

/* The shipped file's include_dir policy.d lets fleet additions come first. */
static void test_default_with_policy_d(void)
{
	char *dir = put_dir("etc-pgkillguard", 0755);
	struct pgkg_caller c = caller(700, 1000, "bash");
	struct pgkg_decision d;

	if (geteuid() != 0) {	/* files named by parsed text must be owned by root */
		for (int i = 0; i < 3; i++)
			ok(1, "# SKIP policy.d next to the shipped text needs root-owned files");
		return;
	}
	put_dir("etc-pgkillguard/policy.d", 0755);
	put_file("etc-pgkillguard/policy.d/10-local.conf", "KILL client-backend block message=local\n", 0644);
	is_int(parse(path_in(dir, "pgkillguard.conf"), pgkg_default_policy_text), 0,
	       "shipped text with a policy.d next to it: no error");
	decide(&c, PGKG_KIND_CLIENT_BACKEND, SIGKILL, &d);
	ok(d.action == PGKG_BLOCK && d.rule && d.rule->line == 1, "policy.d rules come before the shipped rules");
	decide(&c, PGKG_KIND_POSTMASTER, SIGKILL, &d);
	is_int(d.action, PGKG_BLOCK, "the shipped rules still apply");
}

/* ---- broken policies ---- */

static void test_broken(void)
{
	struct pgkg_caller c = caller(700, 1000, "bash");
	struct pgkg_caller init = caller(1, 0, "systemd");
	struct pgkg_decision d;

	parse("broken.conf", "* any allow\nKILL postmaster explode\n");
	ok(P.broken && P.nrules == 1, "an error makes the policy broken (valid rules kept)");
	is_str(P.first_error, "broken.conf:2: unknown action \"explode\" (allow, block, terminate or cancel)",
	       "first_error is FILE:LINE: message");
	decide(&c, PGKG_KIND_CLIENT_BACKEND, SIGKILL, &d);
	ok(d.action == PGKG_BLOCK && d.policy_broken && !d.rule && !d.report_only,
	   "broken: KILL to a backend is blocked (fail closed), rules ignored");
	is_int(act(700, "bash", PGKG_KIND_POSTMASTER, SIGSTOP), PGKG_BLOCK, "broken: STOP to postmaster blocked");
	is_int(act(700, "bash", PGKG_KIND_CHECKPOINTER, SIGQUIT), PGKG_BLOCK, "broken: QUIT to checkpointer blocked");
	is_int(act(700, "bash", PGKG_KIND_UNKNOWN_CHILD, SIGSEGV), PGKG_BLOCK, "broken: SEGV to unknown child blocked");
	decide(&init, PGKG_KIND_POSTMASTER, SIGKILL, &d);
	is_int(d.action, PGKG_BLOCK, "broken: even PID 1's KILL is blocked");
	decide(&c, PGKG_KIND_CLIENT_BACKEND, SIGTERM, &d);
	ok(d.action == PGKG_ALLOW && d.policy_broken, "broken: TERM allowed (fail open), marked broken");
	is_int(act(700, "bash", PGKG_KIND_POSTMASTER, SIGHUP), PGKG_ALLOW, "broken: HUP to postmaster allowed");
	is_int(act(700, "bash", PGKG_KIND_WALSENDER, SIGUSR1), PGKG_ALLOW, "broken: USR1 allowed");
	decide(&c, PGKG_KIND_NONE, SIGKILL, &d);
	ok(d.action == PGKG_ALLOW && !d.policy_broken, "broken: KILL to a non-PostgreSQL process allowed");
	decide(&c, PGKG_KIND_POSTMASTER, 0, &d);
	is_int(d.action, PGKG_ALLOW, "broken: signal 0 allowed");
	decide(&c, PGKG_KIND_POSTMASTER, 65, &d);
	is_int(d.action, PGKG_ALLOW, "signal 65: allowed (the kernel refuses it)");

	parse("report.conf", "mode report\nKILL any explode\n");
	decide(&c, PGKG_KIND_CLIENT_BACKEND, SIGKILL, &d);
	ok(d.action == PGKG_BLOCK && !d.report_only, "broken report-mode policy: still blocks");

	pgkg_policy_init(&P);
	P.broken = true;
	is_int(act(700, "bash", PGKG_KIND_CLIENT_BACKEND, SIGKILL), PGKG_BLOCK, "untrusted (broken, no rules): blocks KILL");
}

/* ---- force-kill and ptrace rules (issue 12) ---- */

static enum pgkg_action scope_act(uid_t uid, enum pgkg_kind kind, enum pgkg_scope scope,
				  int *line)
{
	struct pgkg_caller c = caller(700, uid, "bash");
	struct pgkg_decision d;

	memset(&T, 0, sizeof(T));
	T.pid = 4242;
	T.kind = kind;
	pgkg_decide_scope(&P, &c, &T, scope, &d);
	*line = d.rule ? d.rule->line : 0;
	return d.action;
}

static void test_scopes(void)
{
	int line;

	pgkg_policy_set_account_files(NULL, NULL);
	parse("scopes.conf", "force-kill client-backend allow user=1001\n"
			     "ptrace checkpointer block\n"
			     "ptrace any allow user=1002\n"
			     "ptrace any block\n"
			     "* any allow\n");
	ok(!P.broken && P.nrules == 5, "scopes.conf parses: 5 rules");
	is_int(scope_act(1001, PGKG_KIND_CLIENT_BACKEND, PGKG_SCOPE_FORCE_KILL, &line), PGKG_ALLOW,
	       "force-kill: the rule allows uid 1001 on a client backend");
	is_int(line, 1, "force-kill: decided by line 1");
	is_int(scope_act(1003, PGKG_KIND_CLIENT_BACKEND, PGKG_SCOPE_FORCE_KILL, &line), PGKG_BLOCK,
	       "force-kill: no matching rule (another user) is a refusal");
	is_int(line, 0, "force-kill refusal: no rule");
	is_int(scope_act(1001, PGKG_KIND_CHECKPOINTER, PGKG_SCOPE_FORCE_KILL, &line), PGKG_BLOCK,
	       "force-kill: another kind is refused, and `* any allow` does not count");
	is_int(scope_act(1002, PGKG_KIND_CHECKPOINTER, PGKG_SCOPE_PTRACE, &line), PGKG_BLOCK,
	       "ptrace: the first ptrace rule decides (checkpointer blocked)");
	is_int(scope_act(1002, PGKG_KIND_CLIENT_BACKEND, PGKG_SCOPE_PTRACE, &line), PGKG_ALLOW,
	       "ptrace: uid 1002 may attach to a backend");
	is_int(scope_act(1003, PGKG_KIND_CLIENT_BACKEND, PGKG_SCOPE_PTRACE, &line), PGKG_BLOCK,
	       "ptrace: others may not (line 4)");
	is_int(line, 4, "ptrace: decided by line 4");
	is_int(act(700, "bash", PGKG_KIND_CLIENT_BACKEND, SIGKILL), PGKG_ALLOW,
	       "signals: force-kill/ptrace rules are skipped (KILL decided by `* any allow`)");
	parse("none.conf", "* any allow\n");
	is_int(scope_act(1001, PGKG_KIND_CLIENT_BACKEND, PGKG_SCOPE_PTRACE, &line), PGKG_ALLOW,
	       "ptrace without rules: attaching allowed");
	is_int(scope_act(0, PGKG_KIND_CLIENT_BACKEND, PGKG_SCOPE_FORCE_KILL, &line), PGKG_BLOCK,
	       "force-kill without rules: refused, even for root");
	is_int(scope_act(0, PGKG_KIND_NONE, PGKG_SCOPE_PTRACE, &line), PGKG_ALLOW,
	       "ptrace of a non-PostgreSQL process: allowed");
	pgkg_policy_init(&P);
	P.broken = true;
	is_int(scope_act(1001, PGKG_KIND_CLIENT_BACKEND, PGKG_SCOPE_FORCE_KILL, &line), PGKG_BLOCK,
	       "broken policy: force-kill refused");
	is_int(scope_act(1001, PGKG_KIND_CLIENT_BACKEND, PGKG_SCOPE_PTRACE, &line), PGKG_ALLOW,
	       "broken policy: attaching allowed (no signal)");

	is_int(pgkg_ptrace_class(PTRACE_ATTACH, 0), PGKG_PTRACE_ATTACH, "ptrace class: ATTACH");
	is_int(pgkg_ptrace_class(PTRACE_SEIZE, 0), PGKG_PTRACE_ATTACH, "ptrace class: SEIZE");
	is_int(pgkg_ptrace_class(PTRACE_KILL, 0), PGKG_PTRACE_SIGNAL, "ptrace class: KILL");
	is_int(pgkg_ptrace_class(PTRACE_CONT, SIGSEGV), PGKG_PTRACE_SIGNAL, "ptrace class: CONT SEGV");
	is_int(pgkg_ptrace_class(PTRACE_DETACH, SIGKILL), PGKG_PTRACE_SIGNAL, "ptrace class: DETACH KILL");
	is_int(pgkg_ptrace_class(PTRACE_SYSCALL, SIGQUIT), PGKG_PTRACE_SIGNAL, "ptrace class: SYSCALL QUIT");
	is_int(pgkg_ptrace_class(PTRACE_SYSEMU, SIGABRT), PGKG_PTRACE_SIGNAL, "ptrace class: SYSEMU ABRT");
	is_int(pgkg_ptrace_class(PTRACE_CONT, SIGTERM), PGKG_PTRACE_OTHER, "ptrace class: CONT TERM passes");
	is_int(pgkg_ptrace_class(PTRACE_CONT, 0), PGKG_PTRACE_OTHER, "ptrace class: CONT 0 passes");
	is_int(pgkg_ptrace_class(PTRACE_PEEKDATA, SIGKILL), PGKG_PTRACE_OTHER, "ptrace class: PEEKDATA passes");
	is_int(pgkg_ptrace_class(PTRACE_GETREGS, 9), PGKG_PTRACE_OTHER, "ptrace class: GETREGS passes");
	is_int(pgkg_ptrace_class(PTRACE_CONT, 65), PGKG_PTRACE_OTHER, "ptrace class: CONT 65 (invalid) passes");
}

/* ---- user= with the real /etc/passwd, and without callback ---- */

static void test_real_accounts(void)
{
	struct pgkg_caller root = caller(700, 0, "bash"), other = caller(700, 54321, "bash");
	struct pgkg_decision d;

	is_int(parse("real.conf", "KILL any allow user=root\nTERM any allow user=@root\n* any block\n"), 0,
	       "user=root and @root parse");
	decide(&root, PGKG_KIND_POSTMASTER, SIGKILL, &d);
	ok(d.action == PGKG_ALLOW && d.rule == &P.rules[0], "user=root matches uid 0 (/etc/passwd)");
	decide(&other, PGKG_KIND_POSTMASTER, SIGKILL, &d);
	is_int(d.action, PGKG_BLOCK, "user=root does not match uid 54321");
	decide(&root, PGKG_KIND_POSTMASTER, SIGTERM, &d);
	ok(d.action == PGKG_ALLOW && d.rule == &P.rules[1], "@root matches gid 0 (/etc/group)");
	other.groups[0] = 0;
	other.ngroups = 1;
	decide(&other, PGKG_KIND_POSTMASTER, SIGTERM, &d);
	ok(d.action == PGKG_ALLOW, "@root matches a supplementary group 0");
	other.ngroups = 1000;	/* nonsense count: clamped, no overrun */
	decide(&other, PGKG_KIND_POSTMASTER, SIGTERM, &d);
	is_int(d.action, PGKG_ALLOW, "ngroups out of range is clamped");

	pgkg_policy_set_account_files("/nonexistent/passwd", "/nonexistent/group");
	decide(&root, PGKG_KIND_POSTMASTER, SIGKILL, &d);
	is_int(d.action, PGKG_BLOCK, "unreadable passwd: names never match");
	pgkg_policy_set_account_files(NULL, NULL);

	pgkg_policy_init(&P);
	is_int(pgkg_policy_parse(&P, "quiet.conf", "bogus\n", 6, NULL, NULL), 1, "no callback: errors still counted");
	is_str(P.first_error, "quiet.conf:1: unknown keyword \"bogus\"", "no callback: first_error recorded");
	is_int(pgkg_policy_parse(&P, "quiet2.conf", "bogus2\n", 7, NULL, NULL), 1, "a second parse adds");
	ok(P.nerrors == 2 && strstr(P.first_error, "quiet.conf:1"), "first_error keeps the first");
}

/* ---- hostile input ---- */

static char *big(size_t n)
{
	char *s = malloc(n + 1);

	s[n] = '\0';
	return s;
}

static void test_hostile(void)
{
	char *s, *f;
	size_t len;
	int n;

	is_int(parse("empty.conf", ""), 0, "empty text: no error");
	is_int(P.nrules, 0, "empty text: no rule");

	s = big(PGKG_MAX_FILE);
	memset(s, 'a', PGKG_MAX_FILE);
	n = parse("long.conf", s);
	ok(n == 1 && has_error("long.conf:1: line longer than 4096 bytes"), "1 MiB single line: one error");
	f = put_file("long.conf", s, 0644);
	n = load(f, geteuid());
	ok(n == 1 && E.n == 1 && strstr(E.line[0], ":1: line longer than 4096 bytes"), "1 MiB single line from a file");
	free(s);

	s = big(200000);
	memset(s, 'x', 200000);
	memcpy(s + 100000, "\nKILL postmaster block\n", 23);
	s[100023] = '\0';
	n = parse("long2.conf", s);
	ok(n == 1 && P.nrules == 1 && P.rules[0].line == 2, "a long line is skipped, the next one parsed");

	memset(s, 'x', 4200);
	memcpy(s, "KILL postmaster block message=", 30);
	s[4096] = '\n';
	s[4097] = '\0';
	ok(parse("max.conf", s) == 0 && P.nrules == 1, "a line of exactly 4096 bytes is fine");
	s[4096] = 'x';
	s[4097] = '\n';
	s[4098] = '\0';
	ok(parse("max1.conf", s) == 1 && has_error("max1.conf:1: line longer than 4096 bytes"), "4097 bytes is too long");
	free(s);

	{
		static const char text[] = "KILL postmaster block\n\0\0\0\nTERM postmaster block\n";
		pgkg_policy_init(&P);
		E.n = 0;
		n = pgkg_policy_parse(&P, "nul.conf", text, sizeof(text) - 1, collect, NULL);
		ok(n == 1 && has_error("nul.conf:2: NUL byte in line") && P.nrules == 2, "NUL bytes: an error, no crash");
	}

	len = 12 * 100000;
	s = big(len);
	for (size_t i = 0; i < 100000; i++)
		memcpy(s + 12 * i, "9 any block\n", 12);
	n = parse("many.conf", s);
	ok(P.nrules == PGKG_MAX_RULES && has_error("many.conf:257: too many rules (limit 256)"),
	   "100000 rules: too many rules (limit 256), no crash");
	ok(has_error("many.conf:87382: the file is larger than 1048576 bytes") && n == 2,
	   "100000 rules: larger than 1 MiB, reported at its line");
	free(s);
	s = big(12 * 300);
	for (size_t i = 0; i < 300; i++)
		memcpy(s + 12 * i, "9 any block\n", 12);
	ok(parse("300.conf", s) == 1 && has_error("300.conf:257: too many rules (limit 256)"),
	   "300 rules: one error");
	free(s);

	/* 100 rules with 1000-byte messages overflow the 64 KiB pool */
	s = big(100 * 1100);
	s[0] = '\0';
	for (int i = 0; i < 100; i++) {
		char line[1100];
		snprintf(line, sizeof(line), "KILL postmaster block message=%0999d\n", i);
		strcat(s, line);
	}
	n = parse("pool.conf", s);
	ok(n > 0 && P.pool_used <= PGKG_POOL_SIZE && has_error("pool.conf:66: too much text in the policy (string pool limit 65536 bytes)"),
	   "string pool overflow: an error (%d errors, %u bytes used)", n, P.pool_used);
	is_int(P.nrules, 65, "rules up to the full pool are kept");
	free(s);

	/* binary garbage: a fixed pseudo-random sequence */
	len = 256 * 1024;
	s = big(len);
	{
		uint32_t x = 12345;
		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			s[i] = (char)(x >> 16);
		}
	}
	pgkg_policy_init(&P);
	E.n = 0;
	n = pgkg_policy_parse(&P, "garbage.bin", s, len, collect, NULL);
	ok(n > 100 && P.broken, "binary garbage: %d errors, broken, no crash", n);
	f = put_file("garbage.conf", "", 0644);
	{
		FILE *g = fopen(f, "wb");
		fwrite(s, 1, len, g);
		fclose(g);
	}
	ok(load(f, geteuid()) > 100 && P.broken, "binary garbage from a file: errors, no crash");
	free(s);

	s = big(5000);
	memset(s, 'Z', 4000);
	strcpy(s + 4000, " postmaster block\n");
	ok(parse("word.conf", s) == 1 && strlen(E.line[0]) < 120 && strstr(E.line[0], "...\""),
	   "a long bad word is cut in the message");
	free(s);
}

/* ---- stack use ---- */

#if defined(__SANITIZE_ADDRESS__)
#define NO_STACK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_STACK_CHECK 1
#endif
#endif

#ifndef NO_STACK_CHECK
#define PAINT (64 * 1024)

/* Paints a little more than used_stack() reads, whatever their frame sizes. */
static __attribute__((noinline)) void paint_stack(void)
{
	char a[PAINT + 4096];

	memset(a, 0x5a, sizeof(a));
	__asm__ volatile("" : : "r"(a) : "memory");
}

/* How deep below our caller's frame the stack was written since paint_stack(). */
static __attribute__((noinline)) size_t used_stack(void)
{
	char a[PAINT];
	size_t i = 0;

	__asm__ volatile("" : "=m"(a) : "r"(a) : "memory");
	while (i < PAINT && a[i] == 0x5a)
		i++;
	return PAINT - i;
}

static void measure_stack(const char *top)
{
	struct pgkg_caller c = caller(7, 4321, "bash");
	struct pgkg_decision d;
	size_t used;

	paint_stack();
	load(top, geteuid());
	used = used_stack();
	ok(E.n == 5 && used < 16 * 1024, "deep includes use %zu bytes of stack (< 16 KiB)", used);
	parse("u.conf", "KILL any allow user=nobody-at-all,@nogroup\n");
	T.kind = PGKG_KIND_POSTMASTER;
	paint_stack();
	pgkg_decide(&P, &c, &T, SIGKILL, &d);
	used = used_stack();
	ok(used < 4 * 1024, "a decision reading /etc/passwd uses %zu bytes of stack", used);
}
#else
static void measure_stack(const char *top)
{
	ok(load(top, geteuid()) == 5, "deep includes (stack not measured under ASan)");
	ok(1, "# SKIP the decision's stack is not measured under ASan");
}
#endif

static void test_stack(void)
{
	char body[256];

	/* an 8-deep chain, an include_dir at every level, errors at the bottom */
	put_dir("st", 0755);
	for (int i = 0; i < 8; i++) {
		char name[64];
		snprintf(name, sizeof(name), "st/s%d.d", i);
		put_dir(name, 0755);
		snprintf(name, sizeof(name), "st/s%d.d/x.conf", i);
		snprintf(body, sizeof(body), "include_dir ../s%d.d\nKILL archiver block message=\"a b\"\n", i + 1);
		put_file(name, i < 7 ? body : "KILLL any explode timeout=0 user=@-x program=0123456789abcdef\n", 0644);
	}
	put_file("st/top.conf", "include_dir s0.d\n", 0644);
	measure_stack(path_in(tmpdir, "st/top.conf"));
}

int main(int argc, char **argv)
{
	const char *env = getenv("PGKG_TESTDIR");
	const char *tmp = getenv("TMPDIR");

	testdir = argc > 1 ? argv[1] : env && *env ? env : "tests/policy";
	snprintf(tmpdir, sizeof(tmpdir), "%s/pgkg-policy-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	plan((int)(sizeof(kill_forms) / sizeof(kill_forms[0])) + 23	/* signal_names */
#ifdef __GLIBC__
	     + 1	/* rtmin: glibc's SIGRTMIN */
#endif
	     + 23 + 5	/* rtmin, action_names */
	     + 13 + 2 * (int)(sizeof(default_table) / sizeof(default_table[0]))	/* default */
	     + 16 + 1 + 1 + fixture_tests()	/* route; valid, invalid: found, then per file */
	     + 17 + 3 + 1 + 14 + 11 + 3	/* trust, trust_owner, unreadable, includes, include_dir, policy.d */
	     + 15 + 28 + 11 + 16 + 2);	/* broken, scopes, real_accounts, hostile, stack */
	diag("fixtures in %s, scratch files in %s", testdir, tmpdir);

	test_signal_names();
	test_rtmin();
	test_action_names();
	test_default();
	test_route();
	test_valid_fixtures();
	test_invalid_fixtures();
	test_trust();
	test_trust_owner();
	test_unreadable();
	test_includes();
	test_include_dir();
	test_default_with_policy_d();
	test_broken();
	test_scopes();
	test_real_accounts();
	test_hostile();
	test_stack();

	if (!tap_failed) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove %s", tmpdir);
	} else {
		diag("scratch files kept in %s", tmpdir);
	}
	return done_testing();
}
