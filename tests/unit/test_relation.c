/*
 * test_relation.c - trust by relationship (issue 10): from= and program=
 * in the grammar and the decision, and pgkg_read_caller_relation() on a
 * fixture /proc tree (parent, PID 1 of the pid namespace, service cgroup).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "tap.h"

static struct pgkg_policy P;
static char root[256];
static int nerr;
static char first[512];

static void collect(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx;
	if (!nerr++)
		snprintf(first, sizeof(first), "%s:%d: %s", file, line, msg);
}

static int parse(const char *text)
{
	pgkg_policy_init(&P);
	nerr = 0;
	first[0] = '\0';
	return pgkg_policy_parse(&P, "t.conf", text, strlen(text), collect, NULL);
}

static enum pgkg_action act(const struct pgkg_caller *c, enum pgkg_kind kind, int sig)
{
	static struct pgkg_target t;
	struct pgkg_decision d;

	memset(&t, 0, sizeof(t));
	t.pid = 4242;
	t.kind = kind;
	pgkg_decide(&P, c, &t, sig, &d);
	return d.action;
}

static struct pgkg_caller who(pid_t pid, const char *comm, const struct pgkg_caller_rel *rel)
{
	struct pgkg_caller c;

	memset(&c, 0, sizeof(c));
	c.pid = pid;
	c.uid = c.gid = 1000;
	snprintf(c.comm, sizeof(c.comm), "%s", comm);
	c.rel = rel;
	return c;
}

static void test_grammar(void)
{
	is_int(parse("* any allow from=manager\n"), 0, "from=manager parses");
	is_int(parse("KILL postmaster allow from=parent,nsinit,cgroup\n"), 0,
	       "from=parent,nsinit,cgroup parses");
	is_int(parse("KILL any allow from=cgroup:/system.slice/patroni*.service\n"), 0,
	       "from=cgroup:/GLOB parses");
	is_int(parse("QUIT postmaster allow program=/usr/lib/postgresql/*/bin/pg_ctl\n"), 0,
	       "program=/absolute/path longer than 15 bytes parses");
	is_int(parse("KILL any allow from=patroni\n"), 1, "from=patroni is an error");
	is_str(first,
	       "t.conf:1: bad from item \"patroni\" (manager, parent, nsinit, cgroup or "
	       "cgroup:/PATTERN)",
	       "from=patroni: the message names the valid items");
	ok(P.broken && P.nrules == 0, "a rule with a bad from= is dropped, the policy broken");
	is_int(parse("KILL any allow from=cgroup:\n"), 1, "from=cgroup: without a pattern is an error");
	is_int(parse("KILL any allow from=cgroup:relative\n"), 1,
	       "from=cgroup:PATTERN must start with / or *");
	is_int(parse("KILL any allow from=parent from=cgroup\n"), 1, "from= twice is an error");
	is_int(parse("KILL any allow from=\n"), 1, "empty from= is an error");
	is_int(parse("KILL any allow from=parent,,cgroup\n"), 1, "empty item in from= is an error");
}

static void test_decide(void)
{
	struct pgkg_caller_rel none = {"/usr/bin/bash", "/user.slice/user-0.slice/session-3.scope", 0};
	struct pgkg_caller_rel parent = {"/usr/bin/pg_autoctl", "/", PGKG_REL_PARENT};
	struct pgkg_caller_rel svc = {"/usr/bin/python3.11", "/system.slice/patroni.service",
				      PGKG_REL_CGROUP};
	struct pgkg_caller_rel init = {"/usr/lib/systemd/systemd", "/init.scope", PGKG_REL_NSINIT};
	struct pgkg_caller_rel pgctl = {"/usr/lib/postgresql/15/bin/pg_ctl", "/", 0};
	struct pgkg_caller_rel noexe = {"", "/", 0};
	struct pgkg_caller c;

	parse("* any allow from=manager\n"
	      "QUIT postmaster allow program=pg_ctl\n"
	      "KILL walwriter allow from=cgroup:/system.slice/patroni*\n"
	      "STOP any allow program=/usr/lib/postgresql/*/bin/pg_ctl\n"
	      "fatal,stop any block\n");
	is_int(P.nrules, 5, "relation policy: 5 rules");
	c = who(700, "bash", &none);
	is_int(act(&c, PGKG_KIND_POSTMASTER, SIGKILL), PGKG_BLOCK,
	       "a DBA in a login session: KILL to the postmaster blocked");
	c = who(700, "patroni", &none);
	is_int(act(&c, PGKG_KIND_POSTMASTER, SIGKILL), PGKG_BLOCK,
	       "comm patroni (PR_SET_NAME) outside the cgroup gains nothing");
	c = who(700, "pg_ctl", &none);
	is_int(act(&c, PGKG_KIND_POSTMASTER, SIGQUIT), PGKG_BLOCK,
	       "comm pg_ctl (PR_SET_NAME) with exe bash: QUIT still blocked");
	c = who(700, "pg_ctl", &noexe);
	is_int(act(&c, PGKG_KIND_POSTMASTER, SIGQUIT), PGKG_BLOCK,
	       "comm pg_ctl with an unreadable exe: QUIT blocked (no trust)");
	c = who(700, "pg_ctl", &pgctl);
	is_int(act(&c, PGKG_KIND_POSTMASTER, SIGQUIT), PGKG_ALLOW,
	       "exe .../bin/pg_ctl: QUIT to the postmaster allowed");
	c = who(700, "x", &pgctl);
	is_int(act(&c, PGKG_KIND_POSTMASTER, SIGQUIT), PGKG_ALLOW,
	       "exe .../bin/pg_ctl renamed to x: still pg_ctl (the exe counts, not comm)");
	is_int(act(&c, PGKG_KIND_CLIENT_BACKEND, SIGSTOP), PGKG_ALLOW,
	       "program=/usr/lib/postgresql/*/bin/pg_ctl matches the exe path");
	c = who(700, "pg_autoctl", &parent);
	is_int(act(&c, PGKG_KIND_POSTMASTER, SIGQUIT), PGKG_ALLOW,
	       "the postmaster's parent: QUIT allowed (from=manager)");
	c = who(700, "patroni", &svc);
	is_int(act(&c, PGKG_KIND_CLIENT_BACKEND, SIGKILL), PGKG_ALLOW,
	       "a process of the service cgroup: KILL to a backend allowed");
	is_int(act(&c, PGKG_KIND_POSTMASTER, SIGSTOP), PGKG_ALLOW,
	       "a process of the service cgroup: STOP to the postmaster allowed");
	c = who(1, "systemd", &init);
	is_int(act(&c, PGKG_KIND_CHECKPOINTER, SIGKILL), PGKG_ALLOW,
	       "PID 1 of the postmaster's pid namespace: KILL allowed");
	c = who(700, "bash", NULL);
	is_int(act(&c, PGKG_KIND_POSTMASTER, SIGKILL), PGKG_BLOCK,
	       "no relation facts: from= never matches");

	parse("KILL walwriter allow from=cgroup:/system.slice/patroni*\n"
	      "fatal any block\n");
	svc.rel = 0;	/* in the cgroup named by the glob, not the postmaster's */
	c = who(700, "python3", &svc);
	is_int(act(&c, PGKG_KIND_WALWRITER, SIGKILL), PGKG_ALLOW,
	       "from=cgroup:/GLOB matches the caller's cgroup path");
	is_int(act(&c, PGKG_KIND_CHECKPOINTER, SIGKILL), PGKG_BLOCK,
	       "from=cgroup:/GLOB: only for the rule's kinds");
	c = who(700, "python3", &none);
	is_int(act(&c, PGKG_KIND_WALWRITER, SIGKILL), PGKG_BLOCK,
	       "from=cgroup:/GLOB: another cgroup does not match");
}

/* force-kill and ptrace rules honour from= as signal rules do (a scope rule
 * with from= never matches a caller without that relation). */
static void test_scope(void)
{
	struct pgkg_caller_rel none = {"/usr/bin/gdb", "/user.slice/user-0.slice/session-3.scope", 0};
	struct pgkg_caller_rel svc = {"/usr/bin/python3.11", "/system.slice/patroni.service",
				      PGKG_REL_CGROUP};
	static struct pgkg_target t;
	struct pgkg_decision d;
	struct pgkg_caller c;

	is_int(parse("ptrace any allow from=manager\n"
		     "ptrace any block\n"
		     "force-kill client-backend allow from=cgroup\n"), 0,
	       "ptrace and force-kill rules with from= parse");
	memset(&t, 0, sizeof(t));
	t.pid = 4242;
	t.kind = PGKG_KIND_CLIENT_BACKEND;
	c = who(700, "gdb", &none);
	pgkg_decide_scope(&P, &c, &t, PGKG_SCOPE_PTRACE, &d);
	is_int(d.action, PGKG_BLOCK, "ptrace from a login session: from=manager does not match");
	pgkg_decide_scope(&P, &c, &t, PGKG_SCOPE_FORCE_KILL, &d);
	is_int(d.action, PGKG_BLOCK, "force-kill from a login session: from=cgroup does not match");
	c = who(700, "gdb", NULL);
	pgkg_decide_scope(&P, &c, &t, PGKG_SCOPE_PTRACE, &d);
	is_int(d.action, PGKG_BLOCK, "ptrace without relation facts: from= never matches");
	c = who(700, "python3", &svc);
	pgkg_decide_scope(&P, &c, &t, PGKG_SCOPE_PTRACE, &d);
	is_int(d.action, PGKG_ALLOW, "ptrace from the service cgroup: from=manager matches");
	pgkg_decide_scope(&P, &c, &t, PGKG_SCOPE_FORCE_KILL, &d);
	is_int(d.action, PGKG_ALLOW, "force-kill from the service cgroup: from=cgroup matches");
}

static void test_cgroup_kinds(void)
{
	ok(!pgkg_cgroup_is_service("/"), "the root cgroup is not a service cgroup");
	ok(!pgkg_cgroup_is_service(""), "an unknown cgroup is not a service cgroup");
	ok(!pgkg_cgroup_is_service("/user.slice/user-1000.slice/session-4.scope"),
	   "a login session scope is not a service cgroup");
	ok(!pgkg_cgroup_is_service("/user.slice/user-1000.slice/user@1000.service/app.slice/x.service"),
	   "a unit of a user's own manager is not a service cgroup");
	ok(!pgkg_cgroup_is_service("/user-7.slice"), "a user slice is not a service cgroup");
	ok(pgkg_cgroup_is_service("/system.slice/postgresql@15-main.service"),
	   "a system service is a service cgroup");
	ok(pgkg_cgroup_is_service("/kubepods.slice/kubepods-pod1.slice/cri-containerd-ab.scope"),
	   "a container scope is a service cgroup");
	ok(pgkg_cgroup_is_service("/pgkg-test/patroni"), "a test-made cgroup is a service cgroup");
	ok(pgkg_glob_match("a*b?d", 5, "aXXbcd"), "glob: * and ?");
	ok(!pgkg_glob_match("a*b?d", 5, "aXXbd"), "glob: ? needs one byte");
	ok(pgkg_glob_match("*", 1, "/x/y"), "glob: * crosses /");
}

/* ---- a fixture /proc ---- */

static void put(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0)
		diag("cannot write %s", path);
	if (f)
		fclose(f);
}

static void link_(const char *rel, const char *target)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (symlink(target, path) < 0)
		diag("symlink %s: %s", path, strerror(errno));
}

/* pid with parent ppid, innermost NSpid nspid, pid namespace ns, cgroup cg. */
static void proc(int pid, int ppid, int nspid, const char *ns, const char *cg, const char *exe)
{
	char d[512], text[512];

	snprintf(d, sizeof(d), "%s/%d", root, pid);
	mkdir(d, 0755);
	snprintf(d, sizeof(d), "%s/%d/ns", root, pid);
	mkdir(d, 0755);
	snprintf(text, sizeof(text), "%d (x) S %d %d %d 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n",
		 pid, ppid, pid, pid, 1000 + pid);
	snprintf(d, sizeof(d), "%d/stat", pid);
	put(d, text);
	snprintf(text, sizeof(text), "Name:\tx\nNSpid:\t%d\t%d\n", pid, nspid);
	snprintf(d, sizeof(d), "%d/status", pid);
	put(d, text);
	snprintf(text, sizeof(text), "12:pids:/\n0::%s\n", cg);
	snprintf(d, sizeof(d), "%d/cgroup", pid);
	put(d, text);
	snprintf(d, sizeof(d), "%d/ns/pid", pid);
	link_(d, ns);
	snprintf(d, sizeof(d), "%d/exe", pid);
	link_(d, exe);
}

static void test_procfs(void)
{
	struct pgkg_cluster cl;
	struct pgkg_caller_rel r;

	snprintf(root, sizeof(root), "/tmp/pgkg-rel-XXXXXX");
	if (!mkdtemp(root)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	proc(100, 90, 100, "pid:[1]", "/svc/patroni.service", "/usr/lib/postgresql/15/bin/postgres");
	proc(90, 1, 90, "pid:[1]", "/", "/usr/bin/pg_autoctl");
	proc(91, 1, 91, "pid:[1]", "/svc/patroni.service", "/usr/bin/python3.11");
	proc(92, 1, 92, "pid:[1]", "/user.slice/user-0.slice/session-1.scope", "/usr/bin/bash");
	proc(1, 0, 1, "pid:[1]", "/init.scope", "/usr/lib/systemd/systemd");
	proc(200, 201, 7, "pid:[2]", "/svc/other.service", "/usr/bin/dumb-init");
	proc(201, 1, 1, "pid:[2]", "/svc/other.service", "/usr/bin/dumb-init");
	proc(300, 1, 300, "pid:[1]", "/", "/usr/bin/python3.11");	/* the root cgroup */
	proc(301, 1, 301, "pid:[1]", "/", "/usr/bin/bash");

	memset(&cl, 0, sizeof(cl));
	cl.postmaster = 100;
	cl.pm_starttime = 1100;
	is_int(pgkg_read_caller_relation(root, 90, &cl, &r), 0, "relation of the parent: read");
	is_int(r.rel, PGKG_REL_PARENT, "pg_autoctl is the postmaster's parent");
	is_str(r.exe, "/usr/bin/pg_autoctl", "the caller's exe");
	pgkg_read_caller_relation(root, 91, &cl, &r);
	is_int(r.rel, PGKG_REL_CGROUP, "a process of the postmaster's service cgroup");
	is_str(r.cgroup, "/svc/patroni.service", "the caller's cgroup2 path");
	pgkg_read_caller_relation(root, 92, &cl, &r);
	is_int(r.rel, 0, "a login session: no relation");
	pgkg_read_caller_relation(root, 1, &cl, &r);
	is_int(r.rel, PGKG_REL_NSINIT, "PID 1 of the postmaster's pid namespace");
	pgkg_read_caller_relation(root, 201, &cl, &r);
	is_int(r.rel, 0, "PID 1 of another pid namespace: no relation");

	cl.postmaster = 200;
	cl.pm_starttime = 1200;
	pgkg_read_caller_relation(root, 201, &cl, &r);
	is_int(r.rel, PGKG_REL_PARENT | PGKG_REL_NSINIT | PGKG_REL_CGROUP,
	       "a container's init: parent, PID 1 of the namespace, same cgroup");
	pgkg_read_caller_relation(root, 1, &cl, &r);
	is_int(r.rel, 0, "the host's PID 1 is not PID 1 of the container's namespace");

	proc(400, 1, 400, "pid:[1]", "/", "/usr/lib/postgresql/15/bin/postgres");
	cl.postmaster = 400;
	cl.pm_starttime = 1400;
	pgkg_read_caller_relation(root, 300, &cl, &r);
	is_int(r.rel, 0, "both in the root cgroup: no relation (the root cgroup is the whole host)");

	/* Orphans of a dead postmaster (500 is gone): the relation to the orphan itself. */
	proc(501, 1, 501, "pid:[1]", "/svc/patroni.service", "/usr/lib/postgresql/15/bin/postgres");
	proc(502, 1, 502, "pid:[1]", "/", "/usr/lib/postgresql/15/bin/postgres");
	cl.postmaster = 500;
	cl.pm_starttime = 1500;
	is_int(pgkg_read_caller_relation(root, 91, &cl, &r), -ESRCH,
	       "an orphan's postmaster is gone: no relation through it");
	is_int(r.rel, 0, "... and no relation bits");
	is_int(pgkg_read_caller_relation_orphan(root, 91, 501, &r), 0, "relation to an orphan: read");
	is_int(r.rel, PGKG_REL_CGROUP, "a process of the orphan's service cgroup (Patroni's KILL sweep)");
	pgkg_read_caller_relation(root, 92, &cl, &r);
	pgkg_read_caller_relation_orphan(root, 92, 501, &r);
	is_int(r.rel, 0, "a login session: no relation to the orphan");
	pgkg_read_caller_relation(root, 300, &cl, &r);
	pgkg_read_caller_relation_orphan(root, 300, 502, &r);
	is_int(r.rel, 0, "an orphan in the root cgroup: no relation (the whole host)");
	pgkg_read_caller_relation(root, 1, &cl, &r);
	pgkg_read_caller_relation_orphan(root, 1, 502, &r);
	is_int(r.rel, PGKG_REL_NSINIT, "PID 1 of the orphan's pid namespace");
	pgkg_read_caller_relation(root, 91, &cl, &r);
	is_int(pgkg_read_caller_relation_orphan(root, 91, 599, &r), -ESRCH, "an orphan that is gone");
	is_int(r.rel, 0, "... no relation bits");

	cl.pm_starttime = 999;
	is_int(pgkg_read_caller_relation(root, 1, &cl, &r), -ESRCH,
	       "a postmaster pid now used by another process: no relation");
	is_int(r.rel, 0, "... and no relation bits");

	if (!tap_failed) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			diag("could not remove %s", root);
	}
}

int main(void)
{
	plan(67);	/* grammar, decide, scope, cgroup kinds, /proc fixtures */
	test_grammar();
	test_decide();
	test_scope();
	test_cgroup_kinds();
	test_procfs();
	return done_testing();
}
