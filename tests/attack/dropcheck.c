/*
 * dropcheck.c - what a supervisor started as root can still do once it has
 * given up root (shim/actas.c), shown with the real code: a bug of the kind
 * of issue 9's F1 (the supervisor signalling with its own credentials) must
 * not reach a root-owned process, nor another user's.
 *
 *   dropcheck ROOTVICTIM USERVICTIM UID GID
 *
 * Run as root.  Prints one line per attempt, "NAME: ok|ERRNO", and the
 * supervisor's uids and capability sets; the test script checks them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "actas.h"
#include "procfs.h"

static void report(const char *what, long r)
{
	printf("%s: %s\n", what, r < 0 ? (errno == EPERM ? "EPERM" : strerror(errno)) : "ok");
}

struct target {
	pid_t pid;
	int sig;
};

static int kill_it(void *p)
{
	const struct target *t = p;
	long r = syscall(SYS_kill, t->pid, t->sig);

	return r < 0 ? -errno : 0;
}

static void act(const char *what, const struct pgkg_creds *who, pid_t pid, int sig)
{
	struct target t = {pid, sig};
	int r = pgkg_act_as(who, false, kill_it, &t);

	printf("%s: %s\n", what, r == 0 ? "ok" : r == -EPERM ? "EPERM" : strerror(-r));
}

int main(int argc, char **argv)
{
	struct pgkg_creds user, self;
	pid_t root_victim, user_victim;
	int r;

	if (argc != 5)
		return 2;
	root_victim = atoi(argv[1]);
	user_victim = atoi(argv[2]);
	pgkg_creds_of_account((uid_t)atoi(argv[3]), (gid_t)atoi(argv[4]), &user);
	if ((r = pgkg_drop_privileges()) < 0) {
		printf("drop: %s\n", strerror(-r));
		return 1;
	}
	if (pgkg_read_creds("/proc", getpid(), &self) == 0)
		printf("uids: %u %u %u capeff: %llx\n", self.uid[0], self.uid[1], self.uid[2],
		       self.cap_eff);
	/* F1's kind: the supervisor's own credentials, signal 0 and SIGTERM */
	report("own-creds-probe-root", syscall(SYS_kill, root_victim, 0));
	report("own-creds-kill-root", syscall(SYS_kill, root_victim, 15));
	report("own-creds-kill-user", syscall(SYS_kill, user_victim, 15));
	int pfd = (int)syscall(SYS_pidfd_open, root_victim, 0);
	report("own-creds-pidfd-root", syscall(SYS_pidfd_send_signal, pfd, 15, NULL, 0));
	/* acting as the user: root's process stays out of reach, the user's own is not */
	act("as-user-kill-root", &user, root_victim, 15);
	act("as-user-kill-user", &user, user_victim, 15);
	return 0;
}
