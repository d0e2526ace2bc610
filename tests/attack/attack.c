/*
 * attack.c - the attacker programs of issue 9: each tries to deliver a
 * signal the enforced guard must not let through, and prints one line:
 * "NAME: ok" when the kernel reported the signal sent (the attack may
 * have worked), or "NAME: ERRNO-NAME" (refused).  Exit 0 after printing.
 * Run as a non-root user inside `pgkillguard exec` or a setuid
 * pgkillguard-shell (tests/integration/72-attacks.sh).
 *
 *   attack procfs-fd PROCDIR PID SIG
 *        F1: pidfd_send_signal on PROCDIR/PID opened as a directory, where
 *        PROCDIR is another procfs mount (the supervisor used to resolve it
 *        by path, find nothing, and send the signal with its own rights)
 *   attack userns-procfs PID SIG
 *        F1 as found: unshare(CLONE_NEWUSER|CLONE_NEWNS), bind-mount /proc
 *        elsewhere, then as procfs-fd; prints "unshare: ERRNO" when refused
 *   attack nondumpable PID SIG
 *        F2: PR_SET_DUMPABLE 0, then pidfd_send_signal on a pidfd of PID
 *   attack fdrace PID SIG MS
 *        F2: for MS milliseconds, a second thread closes fd N and dup2()s a
 *        pidfd of PID onto it, while the main thread keeps calling
 *        pidfd_send_signal(N, SIG); prints how many calls were answered ok
 *   attack setown-high PID
 *        F3: fcntl(fd, F_SETOWN | 1<<32, PID) and ioctl(fd, FIOSETOWN |
 *        1<<32, &PID) on an O_ASYNC pipe, then a write: SIGIO to PID
 *   attack pgrp-pidfd LEADER SIG
 *        F4: pidfd_send_signal(pidfd(LEADER), SIG, NULL,
 *        PIDFD_SIGNAL_PROCESS_GROUP): the kernel signals LEADER's whole group
 *   attack pgrp-exited SIG
 *        R1-7: a process group whose leader has exited (its member lives on):
 *        pidfd_send_signal(pidfd(leader), SIG, NULL, PIDFD_SIGNAL_PROCESS_GROUP)
 *        still reaches the member; prints the answer and whether the member
 *        was hit ("member: alive|signalled")
 *   attack clone-userns
 *        unshare(CLONE_NEWUSER), clone(CLONE_NEWUSER) and clone3: what a
 *        session may do with user namespaces
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1U << 2)
#endif

static const char *err_name(int e)
{
	switch (e) {
	case 0: return "ok";
	case EPERM: return "EPERM";
	case ESRCH: return "ESRCH";
	case EBADF: return "EBADF";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case EFAULT: return "EFAULT";
	case EACCES: return "EACCES";
	default: return strerror(e);
	}
}

static int report(const char *what, long r)
{
	printf("%s: %s\n", what, err_name(r < 0 ? errno : 0));
	fflush(stdout);
	return 0;
}

static long send_fd(int fd, int sig, unsigned flags)
{
	return syscall(SYS_pidfd_send_signal, fd, sig, NULL, flags);
}

static int procfs_fd(const char *procdir, const char *pid, int sig)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", procdir, pid);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY)) < 0)
		return report("open", -1);
	return report("procfs-fd", send_fd(fd, sig, 0));
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int userns_procfs(const char *pid, int sig)
{
	char map[64], dir[] = "/tmp/pgkg-attack.XXXXXX";
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return report("unshare", -1);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	write_file("/proc/self/setgroups", "deny");
	write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	write_file("/proc/self/gid_map", map);
	if (!mkdtemp(dir) || mount("/proc", dir, NULL, MS_BIND | MS_REC, NULL) < 0)
		return report("bind-mount", -1);
	return procfs_fd(dir, pid, sig);
}

static int nondumpable(pid_t pid, int sig)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		return report("pidfd_open", -1);
	prctl(PR_SET_DUMPABLE, 0);
	return report("nondumpable", send_fd(fd, sig, 0));
}

/* ---- fdrace ---- */

static atomic_int stop_race;
static int race_fd, race_pidfd;

static void *swapper(void *arg)
{
	struct timespec ts = {0, 150 * 1000};	/* a few hundred microseconds */

	while (!atomic_load(&stop_race)) {
		close(race_fd);
		nanosleep(&ts, NULL);
		dup2(race_pidfd, race_fd);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static int fdrace(pid_t pid, int sig, long ms)
{
	struct timespec t0, now;
	pthread_t t;
	long ok = 0, calls = 0;

	if ((race_pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		return report("pidfd_open", -1);
	race_fd = race_pidfd + 10;
	dup2(race_pidfd, race_fd);
	pthread_create(&t, NULL, swapper, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		calls++;
		if (send_fd(race_fd, sig, 0) == 0)
			ok++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 < ms);
	atomic_store(&stop_race, 1);
	pthread_join(t, NULL);
	printf("fdrace: %ld of %ld calls ok\n", ok, calls);
	return 0;
}

/* ---- setown-high ---- */

static int setown_high(pid_t pid)
{
	int p[2], q[2];
	int owner = pid;

	if (pipe(p) < 0 || pipe(q) < 0)
		return report("pipe", -1);
	fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK);
	fcntl(p[1], F_SETFL, O_ASYNC | O_NONBLOCK);
	report("fcntl-setown-high",
	       syscall(SYS_fcntl, p[1], (long)F_SETOWN | (1L << 32), (long)pid));
	fcntl(q[1], F_SETFL, O_ASYNC | O_NONBLOCK);
	report("ioctl-fiosetown-high",
	       syscall(SYS_ioctl, q[1], (long)FIOSETOWN | (1L << 32), (long)&owner));
	/* writing wakes the read ends' owners, if any was set */
	if (write(p[1], "x", 1) < 0 || write(q[1], "x", 1) < 0)
		perror("write");
	usleep(100000);
	return 0;
}

static int pgrp_pidfd(pid_t leader, int sig)
{
	int fd = (int)syscall(SYS_pidfd_open, leader, 0);

	if (fd < 0)
		return report("pidfd_open", -1);
	return report("pgrp-pidfd", send_fd(fd, sig, PIDFD_SIGNAL_PROCESS_GROUP));
}

/* Alive: /proc/PID/stat exists and its state is not Z (not our child:
 * nobody here can wait for it). */
static bool proc_alive(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	char *q;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return false;
	q = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	return q && q[1] && q[2] != 'Z';
}

static int pgrp_exited(int sig)
{
	int p[2], fd, status;
	pid_t leader, member = 0;
	long r;

	if (pipe(p) < 0)
		return report("pipe", -1);
	if ((leader = fork()) == 0) {
		setpgid(0, 0);
		if ((member = fork()) == 0) {
			for (;;)
				pause();
		}
		if (write(p[1], &member, sizeof(member)) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	if (read(p[0], &member, sizeof(member)) != sizeof(member))
		return report("read", -1);
	fd = (int)syscall(SYS_pidfd_open, leader, 0);
	kill(leader, SIGKILL);
	waitpid(leader, &status, 0);	/* the leader is gone, its group is not */
	r = send_fd(fd, sig, PIDFD_SIGNAL_PROCESS_GROUP);
	report("pgrp-exited", r);
	usleep(200000);
	printf("member: %s\n", proc_alive(member) ? "alive" : "signalled");
	kill(member, SIGKILL);
	return 0;
}

static int child_exit(void *arg)
{
	_exit(0);
}

static int clone_userns(void)
{
	static char stack[64 * 1024];
	struct clone_args ca = {.flags = 0, .exit_signal = SIGCHLD};
	long r;
	pid_t c;

	report("unshare-userns", unshare(CLONE_NEWUSER));
	c = clone(child_exit, stack + sizeof(stack), CLONE_NEWUSER | SIGCHLD, NULL);
	report("clone-userns", c);
	if (c > 0)
		waitpid(c, NULL, 0);
	r = syscall(SYS_clone3, &ca, sizeof(ca));
	if (r == 0)
		_exit(0);
	report("clone3", r);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	if (!strcmp(m, "procfs-fd") && argc == 5)
		return procfs_fd(argv[2], argv[3], atoi(argv[4]));
	if (!strcmp(m, "userns-procfs") && argc == 4)
		return userns_procfs(argv[2], atoi(argv[3]));
	if (!strcmp(m, "nondumpable") && argc == 4)
		return nondumpable(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(m, "fdrace") && argc == 5)
		return fdrace(atoi(argv[2]), atoi(argv[3]), atol(argv[4]));
	if (!strcmp(m, "setown-high") && argc == 3)
		return setown_high(atoi(argv[2]));
	if (!strcmp(m, "pgrp-pidfd") && argc == 4)
		return pgrp_pidfd(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(m, "pgrp-exited") && argc == 3)
		return pgrp_exited(atoi(argv[2]));
	if (!strcmp(m, "clone-userns") && argc == 2)
		return clone_userns();
	fprintf(stderr, "usage: see tests/attack/attack.c\n");
	return 2;
}
