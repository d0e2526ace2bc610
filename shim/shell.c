/*
 * shell.c - guarded login shells: `pgkillguard-shell` (set with chsh) and
 * `pgkillguard shell`.
 *
 * Starts the account's real shell, as the administrator configured it in
 * SYSCONFDIR/pgkillguard/login-shell (default /bin/bash), under the
 * enforced guard.
 *
 *  1. Installed setuid root (the recommended set-up for automation accounts):
 *     the supervisor runs as another account than the user (root until the
 *     shell is started, then a system account: shim/actas.c), so the guarded
 *     user can neither signal nor ptrace it; the child becomes the invoking user (initgroups, setresgid,
 *     setresuid) before the filter is loaded, and no_new_privs stays off, so
 *     sudo and su work inside and everything they start remains guarded.
 *     The environment chooses nothing in this mode: system policy, system
 *     shell configuration.
 *  2. Not setuid: the supervisor is the user, no_new_privs is set (sudo
 *     stops elevating inside the session).
 *  3. Called as a login shell (argv[0] starts with '-'), the real shell is
 *     started as a login shell too; other arguments (sshd's -c COMMAND)
 *     pass through unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "supervise.h"
#include "util.h"

#define LOGIN_SHELL_CONF PGKG_SYSCONFDIR "/pgkillguard/login-shell"
#define DEFAULT_SHELL "/bin/bash"

struct identity {
	uid_t uid;
	gid_t gid;
	char name[256];
};

/* The first non-comment line of the root-owned configuration file. */
static bool configured_shell(char *buf, size_t cap)
{
	int fd = open(LOGIN_SHELL_CONF, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char text[1024];
	ssize_t n;

	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		die("%s must be a regular file owned by root and writable by root alone",
		    LOGIN_SHELL_CONF);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		line += strspn(line, " \t");
		line[strcspn(line, " \t#")] = '\0';
		if (*line) {
			pgkg_strlcpy(buf, line, cap);
			return true;
		}
	}
	return false;
}

static void real_shell(char *buf, size_t cap)
{
	const char *env = getauxval(AT_SECURE) ? NULL : getenv("PGKILLGUARD_LOGIN_SHELL");

	if (env && *env)
		pgkg_strlcpy(buf, env, cap);
	else if (!configured_shell(buf, cap))
		pgkg_strlcpy(buf, DEFAULT_SHELL, cap);
	if (buf[0] != '/' || access(buf, X_OK) < 0)
		die("the configured login shell %s is not an executable absolute path", buf);
}

static int become_user(void *ctx)
{
	const struct identity *id = ctx;

	if (initgroups(id->name, id->gid) < 0 || setresgid(id->gid, id->gid, id->gid) < 0 ||
	    setresuid(id->uid, id->uid, id->uid) < 0)
		return -1;
	return geteuid() == id->uid && getegid() == id->gid ? 0 : -1;
}

int pgkg_login_shell(int argc, char **argv)
{
	static char shell[PATH_MAX], arg0[PATH_MAX + 1];
	static struct identity id;
	struct pgkg_exec_opts o = {.path = shell};
	bool login = argv[0][0] == '-';
	char **cmd = calloc((size_t)argc + 1, sizeof(*cmd));

	if (!cmd)
		die("out of memory");
	real_shell(shell, sizeof(shell));
	snprintf(arg0, sizeof(arg0), "%s%s", login ? "-" : "", basename(shell));
	cmd[0] = arg0;
	for (int i = 1; i < argc; i++)
		cmd[i] = argv[i];
	if (geteuid() == 0 && getuid() != 0) {
		struct passwd *pw = getpwuid(getuid());
		if (!pw)
			die("uid %u has no account", (unsigned)getuid());
		id.uid = pw->pw_uid;
		id.gid = pw->pw_gid;
		pgkg_strlcpy(id.name, pw->pw_name, sizeof(id.name));
		o.drop_to_user = become_user;
		o.drop_ctx = &id;
	} else {
		o.no_new_privs = geteuid() != 0;
		if (!getauxval(AT_SECURE) && getenv("PGKILLGUARD_POLICY") && *getenv("PGKILLGUARD_POLICY"))
			o.policy_path = getenv("PGKILLGUARD_POLICY");
	}
	int status = pgkg_supervise(cmd, &o);
	free(cmd);
	return status;
}
