/*
 * cli.c - `pgkillguard`: entry point, help, version, die() helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "enable.h"
#include "guard.h"
#include "supervise.h"

static const char usage[] =
	"Usage: pgkillguard COMMAND [ARGS]\n"
	"\n"
	"Keeps kill -9 and friends from crashing PostgreSQL: kill-family calls aimed at\n"
	"a postmaster's children are rewritten into pg_terminate_backend() or blocked,\n"
	"as the policy says.  Everything else passes untouched.\n"
	"\n"
	"Commands:\n"
	"  explain [-s SIG] [--policy FILE] [-p PROGRAM | --caller PID] [--json] [-w COLUMNS] [PID...]\n"
	"        Show each PID's cluster, kind and what the policy decides for it,\n"
	"        without sending anything.  With no PID, a table of every postmaster\n"
	"        and child on this host, wrapped to the terminal (-w, --width COLUMNS;\n"
	"        0 or piped: no limit).  -s limits the decision to one signal; -p names\n"
	"        the calling program the rules see (default: the parent, your shell);\n"
	"        --caller decides for that process (exe, cgroup, relation: from=);\n"
	"        --json prints the same as one JSON document, for tools.\n"
	"  exec [--policy FILE] -- COMMAND [ARG...]\n"
	"        Run COMMAND under the enforced guard: a seccomp filter hands every\n"
	"        kill-family system call to this supervisor, so static binaries, Go\n"
	"        programs and raw system calls are checked too.  Not run as root,\n"
	"        it sets no_new_privs: sudo cannot elevate inside.  Exit status and\n"
	"        signals of COMMAND are passed through.\n"
	"  shell [ARG...]\n"
	"        Start the account's real shell (" PGKG_SYSCONFDIR "/pgkillguard/login-shell,\n"
	"        default /bin/bash) under the enforced guard.  For guarded accounts,\n"
	"        set the login shell to pgkillguard-shell (see README.md).\n"
	"  force-kill [-s SIG] [--yes] [--policy FILE] PID\n"
	"        Break-glass: send SIG (default KILL) to a PostgreSQL process with\n"
	"        your own credentials, past the guard.  Only when a policy rule\n"
	"        `force-kill KINDS allow user=...` allows it for you.  Shows the\n"
	"        blast radius (crash-restart, sessions dropped) first, asks for yes\n"
	"        on the terminal (--yes for scripts; no terminal and no --yes:\n"
	"        refused), audits at alert severity.  Exit 0 sent, 1 refused.\n"
	"  check [FILE]\n"
	"        Validate a policy file (default " PGKG_POLICY_PATH ").\n"
	"        Prints FILE:LINE: message for every error; exit 0 valid, 1 not.\n"
	"  enable --system | --login-shells [--group GROUP] [--library PATH] [--root DIR]\n"
	"        Turn the library on: --system adds it to /etc/ld.so.preload (every\n"
	"        process), --login-shells writes /etc/profile.d/pgkillguard.sh\n"
	"        (interactive login shells, of GROUP only if given).  First loads the\n"
	"        library into a test process and checks the policy; files are\n"
	"        replaced atomically, other ld.so.preload entries kept.\n"
	"  disable --system | --login-shells | --all [--root DIR]\n"
	"        Remove only pgkillguard's entries; works with the library gone.\n"
	"  status [--library PATH] [--root DIR]\n"
	"        What is enabled where, and whether each file named exists; exit 1\n"
	"        if a preloaded file is missing.  --root DIR: work on the files under\n"
	"        DIR (also PGKILLGUARD_ROOT) instead of /.\n"
	"  --help, --version\n"
	"\n"
	"To guard a login shell, preload the library in it:\n"
	"  export LD_PRELOAD=libpgkillguard.so\n"
	"Environment (ignored in setuid programs): PGKILLGUARD_POLICY=FILE,\n"
	"PGKILLGUARD_HELPER=PATH (this command, for rewrites), PGKILLGUARD_SYSLOG=SOCKET.\n";

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);	/* argv[0] is the subcommand */
} commands[] = {
	{"explain", pgkg_cmd_explain},
	{"check", pgkg_cmd_check},
	{"force-kill", pgkg_cmd_force_kill},
	{"exec", pgkg_cmd_exec},
	{"shell", pgkg_login_shell},
	{"enable", pgkg_cmd_enable},
	{"disable", pgkg_cmd_disable},
	{"status", pgkg_cmd_status},
	{"__preload-test", pgkg_preload_test_main},	/* internal: enable's load test */
	{"__rewrite-helper", pgkg_helper_main},		/* internal: the library's helper */
};

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("pgkillguard %s\n", PGKG_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(cmd, commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	}
	fputs(usage, stderr);
	return 2;
}
