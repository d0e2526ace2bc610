/*
 * forcekill.c - `pgkillguard force-kill [-s SIG] [--yes] [--policy FILE] PID`:
 * the deliberate break-glass for the rare backend that nothing else ends.
 *
 *  1. The policy MUST allow it for the caller: a `force-kill KINDS allow`
 *     rule matching the target's kind and the caller (user=, program=).
 *     No such rule: refused.  It is the only documented way around the
 *     guard besides editing the policy.
 *  2. The price is stated before anyone pays it: what the target is, what it
 *     runs, that the cluster crash-restarts and how many sessions it drops.
 *  3. It asks on the terminal and needs the answer "yes"; --yes for scripts.
 *     Without a terminal and without --yes it refuses.
 *  4. The audit line goes out at LOG_ALERT before the signal does.
 *  5. The signal is the caller's own: this command runs with the caller's
 *     credentials (never setuid) and makes a raw kill(2), so the preload
 *     library does not judge it a second time, and the kernel decides
 *     permission.  The target is checked to be the same process (start
 *     time) just before.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "guard.h"
#include "rawsys.h"

static const char procroot[] = "/proc";
static struct pgkg_policy policy;	/* big: static */
static struct pgkg_target target;

struct fk_opts {
	int sig;
	bool yes;
	const char *policy_path;
	pid_t pid;
};

static void usage_die(void)
{
	die("usage: pgkillguard force-kill [-s SIG] [--yes] [--policy FILE] PID");
}

static int parse_sig(const char *s)
{
	pgkg_sigset set = pgkg_signals_from_name(s, strlen(s));

	if (!set || (set & (set - 1)))
		die("force-kill: -s %s: not a single signal name or number", s);
	return __builtin_ctzll(set) + 1;
}

static void parse_args(int argc, char **argv, struct fk_opts *o)
{
	long long v = 0;
	int i;

	o->sig = SIGKILL;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--yes") || !strcmp(argv[i], "-y"))
			o->yes = true;
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			o->sig = parse_sig(argv[++i]);
		else if (!strcmp(argv[i], "--policy") && i + 1 < argc)
			o->policy_path = argv[++i];
		else if (!strcmp(argv[i], "--"))
			{ i++; break; }
		else
			usage_die();
	}
	if (i != argc - 1 || pgkg_parse_ll(argv[i], strlen(argv[i]), 1, INT32_MAX, &v) < 0)
		usage_die();
	o->pid = (pid_t)v;
	if (!o->policy_path && !getauxval(AT_SECURE))
		o->policy_path = getenv("PGKILLGUARD_POLICY");
	if (o->policy_path && !o->policy_path[0])
		o->policy_path = NULL;
}

static void fill_caller(struct pgkg_caller *c)
{
	c->pid = getpid();
	c->uid = getuid();
	c->gid = getgid();
	c->ngroups = getgroups((int)(sizeof(c->groups) / sizeof(c->groups[0])), c->groups);
	if (c->ngroups < 0)
		c->ngroups = 0;
	if (pgkg_read_comm(procroot, c->pid, c->comm) < 0)
		snprintf(c->comm, sizeof(c->comm), "pgkillguard");
}

static const char *sig_name(int sig)
{
	static char scratch[16];
	const char *n = pgkg_signal_name(sig, scratch, sizeof(scratch));

	return n ? n : "?";
}

static void say(const char *text)
{
	pgkg_say(2, text);
}

/* The audit line (LOG_ALERT when the signal goes out). */
static void audit(const struct pgkg_caller *c, const struct fk_opts *o, const char *result,
		  int dropped, int severity)
{
	const char *log = getauxval(AT_SECURE) ? NULL : getenv("PGKILLGUARD_SYSLOG");
	char line[1200];
	struct pgkg_buf b;

	pgkg_buf_init(&b, line, sizeof(line));
	pgkg_buf_puts(&b, "caller=");
	pgkg_buf_putl(&b, c->pid);
	pgkg_buf_puts(&b, " user=");
	pgkg_put_user(&b, c->uid);
	pgkg_buf_puts(&b, " tty=");
	pgkg_put_tty(&b, procroot, c->pid);
	pgkg_buf_puts(&b, " program=pgkillguard call=force-kill signal=");
	pgkg_buf_puts(&b, sig_name(o->sig));
	pgkg_buf_puts(&b, " target=");
	pgkg_buf_putl(&b, o->pid);
	pgkg_buf_puts(&b, " kind=");
	pgkg_buf_puts(&b, pgkg_kind_name(target.kind));
	pgkg_buf_puts(&b, " cluster=");
	pgkg_buf_put_printable(&b, target.cluster.datadir[0] ? target.cluster.datadir : "?");
	pgkg_buf_puts(&b, " action=force-kill result=");
	pgkg_buf_puts(&b, result);
	if (dropped != -1) {
		pgkg_buf_puts(&b, " price=crash-restart sessions_dropped=");
		if (dropped >= 0)
			pgkg_buf_putl(&b, dropped);
		else
			pgkg_buf_puts(&b, "all");
	}
	pgkg_syslog(log && *log ? log : "/dev/log", severity, c->pid, line);
}

static int refuse(const struct pgkg_caller *c, const struct fk_opts *o,
		  const struct pgkg_decision *d)
{
	char line[1024];
	struct pgkg_buf b;

	pgkg_buf_init(&b, line, sizeof(line));
	pgkg_buf_puts(&b, "force-kill ");
	pgkg_buf_putl(&b, o->pid);
	pgkg_buf_puts(&b, " (");
	pgkg_describe_target(&b, &target);
	pgkg_buf_puts(&b, ") refused: ");
	if (d->policy_broken) {
		pgkg_buf_puts(&b, "the policy is broken (");
		pgkg_buf_puts(&b, policy.first_error[0] ? policy.first_error : policy.path);
		pgkg_buf_putc(&b, ')');
	} else if (d->rule) {
		pgkg_buf_puts(&b, "blocked by ");
		pgkg_buf_puts(&b, pgkg_policy_str(&policy, d->rule->file));
		pgkg_buf_putc(&b, ':');
		pgkg_buf_putl(&b, d->rule->line);
		if (d->rule->message) {
			pgkg_buf_puts(&b, "; ");
			pgkg_buf_puts(&b, pgkg_policy_str(&policy, d->rule->message));
		}
	} else {
		pgkg_buf_puts(&b, "no rule of ");
		pgkg_buf_puts(&b, policy.path);
		pgkg_buf_puts(&b, " allows it for you (a policy line such as `force-kill backend "
				  "allow user=@dba-oncall` does)");
	}
	say(line);
	audit(c, o, "refused", -1, LOG_WARNING);
	return 1;
}

/* What it costs, said before it is paid.  Returns the sessions dropped. */
static int show_blast_radius(const struct fk_opts *o)
{
	char line[2048], title[256];
	struct pgkg_buf b;
	int dropped = -1;

	pgkg_buf_init(&b, line, sizeof(line));
	pgkg_buf_puts(&b, "force-kill: SIG");
	pgkg_buf_puts(&b, sig_name(o->sig));
	pgkg_buf_puts(&b, " to ");
	pgkg_buf_putl(&b, o->pid);
	pgkg_buf_puts(&b, " (");
	pgkg_describe_target(&b, &target);
	pgkg_buf_puts(&b, ")");
	if (pgkg_read_title(procroot, o->pid, title, sizeof(title)) > 0) {
		pgkg_buf_puts(&b, ", title: ");
		pgkg_buf_put_printable(&b, title);
	}
	say(line);
	pgkg_buf_init(&b, line, sizeof(line));
	pgkg_buf_puts(&b, "blast radius: ");
	if (target.kind == PGKG_KIND_POSTMASTER) {
		pgkg_buf_puts(&b, "this is the postmaster: its children are orphaned, no new "
				  "connections are accepted, asynchronously committed transactions "
				  "can be lost, and pg_ctl start fails until every child has exited");
	} else if (pgkg_guard_crashes_cluster(&target, o->sig)) {
		dropped = pgkg_guard_put_price(&b, procroot, &target);
	} else {
		pgkg_buf_puts(&b, "SIG");
		pgkg_buf_puts(&b, sig_name(o->sig));
		pgkg_buf_puts(&b, " is not fatal to this process: no crash-restart");
	}
	say(line);
	return dropped;
}

/* true when the caller typed "yes" on the terminal. */
static bool confirmed(const struct fk_opts *o)
{
	char answer[16];
	FILE *tty;
	bool yes;

	if (o->yes)
		return true;
	if (!isatty(STDIN_FILENO) || !(tty = fopen("/dev/tty", "r+"))) {
		say("force-kill: no terminal to confirm on; nothing was sent (use --yes in scripts)");
		return false;
	}
	fprintf(tty, "Send SIG%s to %d? Type yes to confirm: ", sig_name(o->sig), (int)o->pid);
	fflush(tty);
	yes = fgets(answer, sizeof(answer), tty) && !strcmp(answer, "yes\n");
	fclose(tty);
	if (!yes)
		say("force-kill: not confirmed; nothing was sent");
	return yes;
}

/* Seccomp: 2 in our status: a filter (such as pgkillguard exec's) sees our kill(2). */
static bool under_seccomp_filter(void)
{
	struct pgkg_status st;

	return pgkg_read_status_file("/proc/self/status", PGKG_STATUS_SECCOMP, &st) == 0 &&
	       (st.have & PGKG_STATUS_SECCOMP) && st.seccomp == 2;
}

/* Still the process we classified?  (pid reuse between the check and now) */
static bool same_process(pid_t pid)
{
	struct pgkg_procstat st;

	return pgkg_read_stat(procroot, pid, &st) == 0 && st.starttime == target.st.starttime &&
	       st.state != 'Z';
}

int pgkg_cmd_force_kill(int argc, char **argv)
{
	struct fk_opts o = {0};
	struct pgkg_caller caller = {0};
	struct pgkg_decision d;
	char line[512];
	struct pgkg_buf b;
	int dropped;
	long r;

	parse_args(argc, argv, &o);
	if (pgkg_classify(procroot, o.pid, &target) < 0)
		die("force-kill: %d: no such process", (int)o.pid);
	if (target.kind == PGKG_KIND_NONE)
		die("force-kill: %d is not a PostgreSQL cluster process; use kill", (int)o.pid);
	fill_caller(&caller);
	pgkg_policy_load_named(&policy, o.policy_path, getuid(), NULL, NULL);
	pgkg_decide_scope(&policy, &caller, &target, PGKG_SCOPE_FORCE_KILL, &d);
	if (d.action != PGKG_ALLOW)
		return refuse(&caller, &o, &d);
	dropped = show_blast_radius(&o);
	if (!confirmed(&o)) {
		audit(&caller, &o, "not-confirmed", -1, LOG_NOTICE);
		return 1;
	}
	if (!same_process(o.pid))
		die("force-kill: %d has exited meanwhile; nothing was sent", (int)o.pid);
	audit(&caller, &o, "sent", dropped, LOG_ALERT);
	r = pgkg_raw(SYS_kill, o.pid, o.sig, 0, 0);
	pgkg_buf_init(&b, line, sizeof(line));
	pgkg_buf_puts(&b, "force-kill: ");
	if (r < 0) {
		pgkg_buf_puts(&b, "kill failed: ");
		pgkg_buf_puts(&b, strerror((int)-r));
		if (under_seccomp_filter())
			pgkg_buf_puts(&b, " (this process runs under a seccomp filter, e.g. "
					  "pgkillguard exec or a guarded account, whose supervisor "
					  "judges this kill like any other)");
		say(line);
		audit(&caller, &o, "failed", -1, LOG_ALERT);
		return 1;
	}
	pgkg_buf_puts(&b, "sent SIG");
	pgkg_buf_puts(&b, sig_name(o.sig));
	pgkg_buf_puts(&b, " to ");
	pgkg_buf_putl(&b, o.pid);
	if (under_seccomp_filter())
		pgkg_buf_puts(&b, " (kill(2) returned success; this process runs under a seccomp "
				  "filter: if pgkillguard exec's supervisor answered it, its own "
				  "line says what it did instead)");
	say(line);
	return 0;
}
