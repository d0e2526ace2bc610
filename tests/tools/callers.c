/*
 * callers.c - awkward callers of kill() and odd targets, for the reliability
 * tests (tests/integration/82-hostile-targets.sh, 83-callers.sh).  Each mode
 * prints one line per call, "NAME ok" or "NAME ERRNO-NAME", then a summary;
 * exit 0 when every call that should succeed did.
 *
 *   callers handler SIG PID1 PID2    kill(PID1) in main while a timer's signal
 *                                    handler kills PID2 (async-signal context,
 *                                    re-entering the library)
 *   callers threads SIG PID...       one thread per PID, all released at once
 *   callers vfork SIG PID1 PID2      a vfork() child kills PID1 and _exits; then
 *                                    the parent opens a file and kills PID2; the
 *                                    file must still be open afterwards
 *   callers nostderr SIG PID1 PID2   fd 2 closed; two kills; fd 2 must still be
 *                                    free afterwards (the library took no fd 0-2)
 *   callers dlopen LIB SIG PID       kill() from LIB loaded with dlopen(): how a
 *                                    setuid program (where glibc ignores
 *                                    LD_PRELOAD paths) runs the library's code
 *   callers flood SIG PID N          N calls in a row (each refused): logging
 *                                    must never block; prints the time taken
 *   callers fakepm DIR TITLE         a fake postmaster: comm "postgres", writes
 *                                    DIR/postmaster.pid naming itself, forks a child
 *                                    (comm "postgres", title TITLE) and a second
 *                                    child that exits at once and is never
 *                                    reaped (a zombie); prints
 *                                    "PM CHILD ZOMBIE", then sleeps until killed
 *   callers spawner DIR N            a fake postmaster (as fakepm) that forks N
 *                                    short-lived children named postgres, about
 *                                    one a millisecond, and prints each pid
 *   callers stalefd pidfd|procfd SIG PID
 *                                    take a pidfd (or, as killall, an open
 *                                    /proc/PID directory) on PID, print "ready",
 *                                    wait until PID has exited, then signal
 *                                    through the fd: ESRCH, whoever holds the
 *                                    pid number by then
 *   callers sigio PID SIG            make the kernel send SIG to PID by proxy:
 *                                    F_SETOWN + F_SETSIG + O_ASYNC on a pipe, then
 *                                    write to it (no kill-family call at all; the
 *                                    reproducer for SECURITY.md "signals by proxy",
 *                                    run by hand: it does crash a backend)
 *   callers killpids SIG             kill every pid read from stdin (targets that
 *                                    exit while they are classified); counts the
 *                                    answers: ok, ESRCH, EPERM, anything else
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "?";
}

static int report(const char *name, int r, int e)
{
	printf("%s %s\n", name, r == 0 ? "ok" : ename(e));
	fflush(stdout);
	return r == 0;
}

static int num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "callers: not a number: %s\n", s);
		exit(2);
	}
	return (int)v;
}

/* ---- handler ---- */

static volatile sig_atomic_t h_done, h_ret, h_errno;
static pid_t h_pid;
static int h_sig;

static void on_alarm(int signo)
{
	int saved = errno;

	(void)signo;
	h_ret = kill(h_pid, h_sig);
	h_errno = errno;
	h_done = 1;
	errno = saved;
}

static int mode_handler(int sig, pid_t p1, pid_t p2)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	struct itimerval it = {.it_value = {.tv_usec = 3000}};
	int good, r, e;

	h_pid = p2;
	h_sig = sig;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	r = kill(p1, sig);
	e = errno;
	for (int i = 0; i < 1000 && !h_done; i++)
		usleep(10000);
	good = report("main", r, e);
	if (!h_done) {
		printf("handler did-not-run\n");
		return 1;
	}
	good &= report("handler", h_ret, h_errno);
	return good ? 0 : 1;
}

/* ---- threads ---- */

struct job {
	pid_t pid;
	int sig, ret, err;
};

static pthread_barrier_t barrier;

static void *thread_kill(void *arg)
{
	struct job *j = arg;

	pthread_barrier_wait(&barrier);
	j->ret = kill(j->pid, j->sig);
	j->err = errno;
	return NULL;
}

static int mode_threads(int sig, int n, char **pids)
{
	pthread_t th[MAX_THREADS];
	struct job jobs[MAX_THREADS];
	int good = 1;

	if (n > MAX_THREADS)
		n = MAX_THREADS;
	pthread_barrier_init(&barrier, NULL, (unsigned)n);
	for (int i = 0; i < n; i++) {
		jobs[i] = (struct job){.pid = num(pids[i]), .sig = sig};
		if (pthread_create(&th[i], NULL, thread_kill, &jobs[i]) != 0) {
			printf("pthread_create failed\n");
			return 1;
		}
	}
	for (int i = 0; i < n; i++) {
		char name[32];
		pthread_join(th[i], NULL);
		snprintf(name, sizeof(name), "thread%d", i);
		good &= report(name, jobs[i].ret, jobs[i].err);
	}
	printf("threads %d %s\n", n, good ? "all-ok" : "some-failed");
	return good ? 0 : 1;
}

/* ---- vfork ---- */

/* Is fd open on the same file as st? */
static int same_file(int fd, const struct stat *st)
{
	struct stat now;

	return fstat(fd, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino;
}

static int mode_vfork(int sig, pid_t p1, pid_t p2)
{
	struct stat st;
	int status, fd, good, r, e;
	pid_t child = vfork();

	if (child == 0)
		_exit(kill(p1, sig) == 0 ? 0 : 10 + (errno & 0x7f));
	if (child < 0 || waitpid(child, &status, 0) < 0) {
		printf("vfork failed\n");
		return 1;
	}
	good = report("child", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1,
		      WIFEXITED(status) && WEXITSTATUS(status) >= 10 ? WEXITSTATUS(status) - 10 : 0);
	/* the lowest free fd: the one the child's helper socket had, if any */
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		printf("open failed\n");
		return 1;
	}
	r = kill(p2, sig);
	e = errno;
	good &= report("parent", r, e);
	printf("fd%d %s\n", fd, same_file(fd, &st) ? "intact" : "lost");
	return good && same_file(fd, &st) ? 0 : 1;
}

/* ---- nostderr ---- */

static int mode_nostderr(int sig, pid_t p1, pid_t p2)
{
	int good, r, e, fd;

	close(2);
	r = kill(p1, sig);
	e = errno;
	good = report("first", r, e);
	r = kill(p2, sig);
	e = errno;
	good &= report("second", r, e);
	fd = open("/dev/null", O_RDONLY);
	printf("next-fd %d\n", fd);
	return good && fd == 2 ? 0 : 1;
}

/* ---- dlopen ---- */

static int mode_dlopen(const char *lib, int sig, pid_t pid)
{
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	int (*fn)(pid_t, int);
	int r;

	if (!h) {
		printf("dlopen %s\n", dlerror());
		return 2;
	}
	*(void **)&fn = dlsym(h, "kill");
	if (!fn || (void *)fn == (void *)kill) {
		printf("dlsym: no kill of its own in %s\n", lib);
		return 2;
	}
	printf("secure %s\n", getuid() != geteuid() ? "setuid" : "no");
	r = fn(pid, sig);
	return report("kill", r, errno) ? 0 : 1;
}

/* ---- flood ---- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int mode_flood(int sig, pid_t pid, int n)
{
	long long t0 = now_ms();
	int refused = 0, other = 0;

	for (int i = 0; i < n; i++) {
		if (kill(pid, sig) < 0 && errno == EPERM)
			refused++;
		else
			other++;
	}
	printf("flood %d refused %d other %d ms %lld\n", n, refused, other, now_ms() - t0);
	return other == 0 ? 0 : 1;
}

/* ---- fake postmasters ---- */

/* Overwrite our argv area (all of it): /proc/PID/cmdline shows the title. */
static void set_title(int argc, char **argv, const char *title)
{
	size_t room = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) - argv[0]);
	char copy[512];

	snprintf(copy, sizeof(copy), "%s", title);	/* title lives in that area too */
	memset(argv[0], 0, room);
	snprintf(argv[0], room, "%s", copy);
}

/* Become a postmaster as the guard sees one: comm postgres, cwd DIR, and
 * DIR/postmaster.pid naming us. */
static int become_postmaster(const char *dir)
{
	FILE *f;

	if (chdir(dir) < 0) {
		perror(dir);
		return -1;
	}
	prctl(PR_SET_NAME, "postgres", 0, 0, 0);
	if (!(f = fopen("postmaster.pid", "w")))
		return -1;
	fprintf(f, "%d\n%s\n%lld\n5432\n%s\n\n  1 2\nready   \n", (int)getpid(), dir,
		(long long)time(NULL), dir);
	return fclose(f);
}

static int mode_fakepm(int argc, char **argv, const char *dir, const char *title)
{
	pid_t child, zombie;

	if (become_postmaster(dir) < 0)
		return 2;
	child = fork();
	if (child == 0) {
		set_title(argc, argv, title);
		for (;;)
			pause();
	}
	zombie = fork();
	if (zombie == 0)
		_exit(0);
	printf("%d %d %d\n", (int)getpid(), (int)child, (int)zombie);
	fflush(stdout);
	for (;;)
		pause();
}

static int mode_spawner(const char *dir, int n)
{
	if (become_postmaster(dir) < 0)
		return 2;
	for (int i = 0; i < n; i++) {
		pid_t c = fork();

		if (c == 0) {
			usleep((useconds_t)(rand() % 3000));
			_exit(0);
		}
		printf("%d\n", (int)c);
		fflush(stdout);
		usleep(1000);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	while (wait(NULL) > 0)
		;
	return 0;
}

static int mode_killpids(int sig)
{
	int ok = 0, gone = 0, refused = 0, other = 0, pid;

	while (scanf("%d", &pid) == 1) {
		if (kill(pid, sig) == 0)
			ok++;
		else if (errno == ESRCH)
			gone++;
		else if (errno == EPERM)
			refused++;
		else
			other++;
	}
	printf("killpids ok %d gone %d refused %d other %d\n", ok, gone, refused, other);
	return other == 0 ? 0 : 1;
}

/* ---- a pidfd (or /proc/PID fd) that outlived its process ---- */

static int mode_stalefd(const char *kind, int sig, pid_t pid)
{
	char path[64];
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0), fd = pfd;
	struct pollfd p = {.fd = pfd, .events = POLLIN};

	if (pfd < 0) {
		printf("pidfd_open %s\n", ename(errno));
		return 2;
	}
	if (!strcmp(kind, "procfd")) {
		snprintf(path, sizeof(path), "/proc/%d", (int)pid);
		if ((fd = open(path, O_RDONLY | O_DIRECTORY)) < 0) {
			printf("open %s\n", ename(errno));
			return 2;
		}
	}
	printf("ready\n");
	fflush(stdout);
	if (poll(&p, 1, 30000) != 1) {
		printf("still running\n");
		return 2;
	}
	usleep(300000);		/* and reaped by its parent: the pid is free for reuse */
	int r = (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);

	return report("stale", r, errno) ? 1 : 0;
}

/* ---- a signal sent by the kernel on our behalf ---- */

static int mode_sigio(pid_t pid, int sig)
{
	int p[2];

	if (pipe(p) < 0 || fcntl(p[0], F_SETOWN, pid) < 0 || fcntl(p[0], F_SETSIG, sig) < 0 ||
	    fcntl(p[0], F_SETFL, O_ASYNC) < 0) {
		printf("setup %s\n", ename(errno));
		return 2;
	}
	if (write(p[1], "x", 1) != 1) {
		printf("write %s\n", ename(errno));
		return 2;
	}
	printf("sent\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	if (!strcmp(m, "handler") && argc == 5)
		return mode_handler(num(argv[2]), num(argv[3]), num(argv[4]));
	if (!strcmp(m, "threads") && argc >= 4)
		return mode_threads(num(argv[2]), argc - 3, argv + 3);
	if (!strcmp(m, "vfork") && argc == 5)
		return mode_vfork(num(argv[2]), num(argv[3]), num(argv[4]));
	if (!strcmp(m, "nostderr") && argc == 5)
		return mode_nostderr(num(argv[2]), num(argv[3]), num(argv[4]));
	if (!strcmp(m, "dlopen") && argc == 5)
		return mode_dlopen(argv[2], num(argv[3]), num(argv[4]));
	if (!strcmp(m, "flood") && argc == 5)
		return mode_flood(num(argv[2]), num(argv[3]), num(argv[4]));
	if (!strcmp(m, "fakepm") && argc == 4)
		return mode_fakepm(argc, argv, argv[2], argv[3]);
	if (!strcmp(m, "spawner") && argc == 4)
		return mode_spawner(argv[2], num(argv[3]));
	if (!strcmp(m, "stalefd") && argc == 5)
		return mode_stalefd(argv[2], num(argv[3]), num(argv[4]));
	if (!strcmp(m, "sigio") && argc == 4)
		return mode_sigio(num(argv[2]), num(argv[3]));
	if (!strcmp(m, "killpids") && argc == 3)
		return mode_killpids(num(argv[2]));
	fprintf(stderr, "usage: see the top of tests/tools/callers.c\n");
	return 2;
}
