/*
 * supervise.h - the seccomp user-notification front-end.
 */
#ifndef PGKG_SUPERVISE_H
#define PGKG_SUPERVISE_H

#include <stdbool.h>

struct pgkg_exec_opts {
	const char *policy_path;	/* NULL: the system policy */
	const char *path;		/* program to run; NULL: cmd[0], searched in PATH */
	bool no_new_privs;		/* needed unless we hold CAP_SYS_ADMIN */
	/* login-shell mode: become the invoking user in the child, before the filter */
	int (*drop_to_user)(void *ctx);
	void *drop_ctx;
};

/* Run cmd under the filter and supervise it; returns the exit status to use. */
int pgkg_supervise(char **cmd, const struct pgkg_exec_opts *o);
int pgkg_cmd_exec(int argc, char **argv);

#endif
