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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "guard.h"

static const char procroot[] = "/proc";
static const int overview_signals[] = {SIGKILL, SIGQUIT, SIGTERM, SIGINT, SIGHUP, SIGSTOP};

/* Both are big: static, not on the stack. */
static struct pgkg_policy policy;
static struct pgkg_target target;

struct explain_opts {
	const char *policy_path;
	int sig;		/* 0: the overview set */
	struct pgkg_caller caller;
	bool relation;		/* read the caller's exe, cgroup and relation per target */
};

static struct pgkg_caller_rel relation;

static void print_error(void *ctx, const char *file, int line, const char *msg)
{
	int *count = ctx;

	fprintf(stderr, "%s:%d: %s\n", file, line, msg);
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

/* --caller PID: that process's real uid, gid, groups and comm. */
static void read_caller(struct pgkg_caller *c, const char *arg)
{
	char path[64], line[1024];
	long long pid;
	FILE *f;

	if (pgkg_parse_ll(arg, strlen(arg), 1, INT32_MAX, &pid) < 0)
		die("--caller %s: not a process id", arg);
	memset(c, 0, sizeof(*c));
	c->pid = (pid_t)pid;
	snprintf(path, sizeof(path), "%s/%lld/status", procroot, pid);
	f = fopen(path, "re");
	if (!f)
		die_errno("--caller %lld", pid);
	while (fgets(line, sizeof(line), f)) {
		unsigned a;
		if (sscanf(line, "Uid: %u", &a) == 1)
			c->uid = a;
		else if (sscanf(line, "Gid: %u", &a) == 1)
			c->gid = a;
		else if (strncmp(line, "Groups:", 7) == 0) {
			char *p = line + 7, *e;
			while (c->ngroups < (int)(sizeof(c->groups) / sizeof(c->groups[0]))) {
				unsigned long v = strtoul(p, &e, 10);
				if (e == p)
					break;
				c->groups[c->ngroups++] = (gid_t)v;
				p = e;
			}
		}
	}
	fclose(f);
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
		c.rel = &relation;
	}
	return &c;
}

static void print_relation(const struct explain_opts *o, const struct pgkg_target *t)
{
	const struct pgkg_caller *c = caller_for(o, t);

	if (!c->rel)
		return;
	printf("  caller %d (exe %s, cgroup %s):", (int)c->pid, relation.exe[0] ? relation.exe : "?",
	       relation.cgroup[0] ? relation.cgroup : "?");
	if (relation.rel & PGKG_REL_PARENT)
		printf(" the postmaster's parent;");
	if (relation.rel & PGKG_REL_NSINIT)
		printf(" PID 1 of the postmaster's pid namespace;");
	if (relation.rel & PGKG_REL_CGROUP)
		printf(" in the postmaster's service cgroup;");
	printf(relation.rel ? " from=manager matches\n"
			    : " not a manager of this cluster (from= rules do not match)\n");
}

static const char *describe(const struct pgkg_target *t)
{
	static char line[1024];
	struct pgkg_buf b;

	pgkg_buf_init(&b, line, sizeof(line));
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
	if (d.action == PGKG_TERMINATE)
		printf(" (pg_terminate_backend, waits up to %u ms for the exit)", d.timeout_ms);
	if (d.report_only)
		printf(" [report mode: let through]");
	if (d.policy_broken)
		printf(" [policy broken: failing closed]");
	else if (d.rule)
		printf("  [%s:%d]", pgkg_policy_str(&policy, d.rule->file), d.rule->line);
	else
		printf("  [no rule matches]");
	putchar('\n');
}

static void print_cluster(const struct pgkg_cluster *c)
{
	struct passwd *pw = getpwuid(c->owner);

	printf("  cluster %s: postmaster %d, port %d, socket %s, owner %s, status %s\n", c->datadir,
	       c->postmaster, c->pf.port, c->pf.sockdir[0] ? c->pf.sockdir : "(none)",
	       pw ? pw->pw_name : "?", c->pf.status[0] ? c->pf.status : "?");
}

static int explain_pid(const struct explain_opts *o, const char *arg)
{
	long long pid;

	if (pgkg_parse_ll(arg, strlen(arg), 1, INT32_MAX, &pid) < 0) {
		warnx("%s: not a process id", arg);
		return 1;
	}
	if (pgkg_classify(procroot, (pid_t)pid, &target) < 0) {
		printf("%lld: no such process\n", pid);
		return 1;
	}
	if (target.kind == PGKG_KIND_NONE) {
		printf("%lld: %s (%s): signals pass untouched\n", pid,
		       pgkg_kind_label(PGKG_KIND_NONE), target.st.comm);
		return 0;
	}
	printf("%lld: %s\n", pid, describe(&target));
	print_cluster(&target.cluster);
	print_relation(o, &target);
	if (o->sig) {
		print_decision(o, &target, o->sig, true);
		return 0;
	}
	for (size_t i = 0; i < sizeof(overview_signals) / sizeof(overview_signals[0]); i++)
		print_decision(o, &target, overview_signals[i], true);
	return 0;
}

static void overview_line(const struct explain_opts *o, const struct pgkg_target *t)
{
	printf("    %-7d %-60.60s", t->pid, describe(t));
	if (o->sig) {
		print_decision(o, t, o->sig, false);
	} else {
		for (size_t i = 0; i < sizeof(overview_signals) / sizeof(overview_signals[0]); i++)
			print_decision(o, t, overview_signals[i], false);
	}
	putchar('\n');
}

/* Every server-named process, grouped under its postmaster. */
static int explain_all(const struct explain_opts *o)
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
		print_cluster(&c);
		if (pgkg_classify(procroot, (pid_t)pid, &target) == 0)
			overview_line(o, &target);
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
			overview_line(o, &target);
		}
		if (d2)
			closedir(d2);
	}
	closedir(d);
	if (!clusters)
		printf("no PostgreSQL postmaster found on this host (or none readable by you)\n");
	return 0;
}

int pgkg_cmd_explain(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"signal", required_argument, NULL, 's'},
		{"policy", required_argument, NULL, 'P'},
		{"program", required_argument, NULL, 'p'},
		{"caller", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	struct explain_opts o = {0};
	const char *program = NULL, *caller = NULL;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "+s:p:c:", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o.sig = parse_signal(optarg); break;
		case 'P': o.policy_path = optarg; break;
		case 'p': program = optarg; break;
		case 'c': caller = optarg; break;
		default: die("usage: pgkillguard explain [-s SIG] [--policy FILE] [-p PROGRAM | --caller PID] [PID...]");
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
	pgkg_guard_load_policy(&policy, o.policy_path, getuid(), print_error, NULL);
	printf("policy: %s%s%s\n", policy.path, policy.mode == PGKG_MODE_REPORT ? " (report mode)" : "",
	       policy.broken ? " (BROKEN: fatal and stop signals to PostgreSQL are blocked)" : "");
	printf("caller: %s%d, program %s, uid %u\n", caller ? "process " : "your shell ",
	       (int)o.caller.pid, o.caller.comm, (unsigned)o.caller.uid);
	if (optind == argc)
		return explain_all(&o);
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
	pgkg_guard_load_policy(&policy, path, getuid(), print_error, &errors);
	if (policy.broken || policy.nerrors || errors) {
		fprintf(stderr, "%s: invalid (%d error%s): at run time, fatal and stop signals to "
				"PostgreSQL processes are blocked until this is fixed\n",
			policy.path[0] ? policy.path : path, policy.nerrors ? policy.nerrors : errors,
			(policy.nerrors ? policy.nerrors : errors) == 1 ? "" : "s");
		return 1;
	}
	printf("%s: OK (%u rules, mode %s)\n", policy.path, policy.nrules,
	       policy.mode == PGKG_MODE_REPORT ? "report" : "enforce");
	return 0;
}
