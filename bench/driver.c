/*
 * driver.c - `pgkg-bench`: the timing half of `make bench` (bench/run.sh
 * does the rest).  Nothing here links libpq or the guard: it measures
 * them from the outside, the way a user meets them.
 *
 *   pgkg-bench kill [--sig N] [--calls N] [--batches N] [--warmup N]
 *                   [--lib LIB] [--exec PGKILLGUARD]
 *       Time kill(TARGET, SIG) in a tight loop in worker processes, one per
 *       arm: "plain" (no preload), "preload" (LD_PRELOAD=LIB) and "exec"
 *       (PGKILLGUARD exec -- worker).  TARGET is a child of this process
 *       sitting in pause() (comm "pgkg-bench-tgt", so not a server name),
 *       ignoring SIGTERM, the default signal: `kill PID` as people type it.
 *       Batches are interleaved across the arms (the arm that goes first
 *       rotates), the first --warmup batches of each arm are thrown away.
 *       Prints, per arm:  arm=NAME median_ns=X min_ns=X max_ns=X batches=N calls=N
 *       and for the other arms:  extra_ns=X (median minus plain's median).
 *
 *   pgkg-bench gone [--timeout-ms N] [--user NAME] [--set NAME=VALUE]...
 *                   [--unset NAME]... [--log FILE] PID[,PID...] -- CMD [ARGS...]
 *       Pin every PID with a pidfd, start CMD (as NAME, with the environment
 *       changes, its output appended to FILE), and time until every PID has
 *       exited and until CMD exits.
 *       Prints:  gone_ms=X exit_ms=X status=N left=N
 *       Exit 0 when all PIDs were gone before the timeout, 1 otherwise.
 *
 * All times are CLOCK_MONOTONIC.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define MAX_ARMS 3
#define MAX_BATCHES 1000
#define MAX_PIDS 4096
#define MAX_ENV_EDITS 32

extern char **environ;

static const char *self_path;

static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...)
{
	va_list ap;

	fputs("pgkg-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		die("bad %s: '%s' (want %ld..%ld)", what, s, lo, hi);
	return v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t r = read(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* ---- environment edits for the processes we start ---- */

struct env_edits {
	const char *set[MAX_ENV_EDITS];		/* "NAME=VALUE" */
	const char *unset[MAX_ENV_EDITS];	/* "NAME" */
	int nset, nunset;
};

static void env_set(struct env_edits *e, const char *assign)
{
	if (!strchr(assign, '=') || e->nset == MAX_ENV_EDITS)
		die("bad or too many --set: %s", assign);
	e->set[e->nset++] = assign;
}

static void env_unset(struct env_edits *e, const char *name)
{
	if (e->nunset == MAX_ENV_EDITS)
		die("too many --unset");
	e->unset[e->nunset++] = name;
}

/* In a child, before execve. */
static void env_apply(const struct env_edits *e)
{
	for (int i = 0; i < e->nunset; i++)
		unsetenv(e->unset[i]);
	for (int i = 0; i < e->nset; i++)
		putenv((char *)e->set[i]);
}

/* ---- kill: per-call cost in a tight loop ---- */

struct arm {
	const char *name;
	pid_t pid;
	int to, from;	/* pipes to and from the worker */
	double per_call[MAX_BATCHES];
	int n;
};

static __attribute__((noreturn)) void target_main(void)
{
	prctl(PR_SET_NAME, "pgkg-bench-tgt", 0, 0, 0);
	signal(SIGTERM, SIG_IGN);
	for (;;)
		pause();
}

/* Worker: for every byte read on stdin, time `calls` kill()s, write the ns. */
static int worker_main(int argc, char **argv)
{
	if (argc != 4)
		die("usage: __kill-worker PID SIG CALLS");
	pid_t pid = (pid_t)num(argv[1], 1, INT32_MAX, "pid");
	int sig = (int)num(argv[2], 0, 64, "signal");
	long calls = num(argv[3], 1, 100000000, "calls");
	char c;

	while (read_full(0, &c, 1) == 0) {
		uint64_t t0 = mono_ns();
		int bad = 0;
		for (long i = 0; i < calls; i++)
			bad |= kill(pid, sig);
		uint64_t ns = mono_ns() - t0;
		if (bad)
			ns = 0;	/* the call failed: the parent reports it */
		if (write(1, &ns, sizeof(ns)) != (ssize_t)sizeof(ns))
			return 1;
	}
	return 0;
}

static void start_arm(struct arm *a, char **argv, const struct env_edits *env)
{
	int to[2], from[2];

	if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	a->pid = fork();
	if (a->pid < 0)
		die("fork: %s", strerror(errno));
	if (a->pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		env_apply(env);
		execv(argv[0], argv);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	a->to = to[1];
	a->from = from[0];
}

/* One batch on one arm: per-call ns, or -1 when the worker failed. */
static double run_batch(struct arm *a, long calls)
{
	uint64_t ns;
	char c = 'g';

	if (write(a->to, &c, 1) != 1 || read_full(a->from, &ns, sizeof(ns)) < 0 || ns == 0)
		return -1;
	return (double)ns / (double)calls;
}

static void stop_arm(struct arm *a)
{
	int status;

	close(a->to);
	close(a->from);
	waitpid(a->pid, &status, 0);
}

static void report_arms(struct arm *arms, int narms, long calls)
{
	double med[MAX_ARMS];

	for (int i = 0; i < narms; i++) {
		struct arm *a = &arms[i];
		if (a->n == 0) {
			printf("arm=%s failed=1\n", a->name);
			continue;
		}
		med[i] = median(a->per_call, a->n);	/* sorts: [0] is min */
		printf("arm=%s median_ns=%.1f min_ns=%.1f max_ns=%.1f batches=%d calls=%ld", a->name,
		       med[i], a->per_call[0], a->per_call[a->n - 1], a->n, calls);
		if (i > 0 && arms[0].n)
			printf(" extra_ns=%.1f", med[i] - med[0]);
		putchar('\n');
	}
}

struct kill_opts {
	long calls, batches, warmup;
	int sig;
	const char *lib, *exec_path;
};

static void kill_options(int argc, char **argv, struct kill_opts *o)
{
	*o = (struct kill_opts){.calls = 20000, .batches = 15, .warmup = 3, .sig = SIGTERM};
	for (int i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			die("kill: %s needs a value", k);
		if (!strcmp(k, "--sig"))
			o->sig = (int)num(v, 0, 64, "--sig");
		else if (!strcmp(k, "--calls"))
			o->calls = num(v, 1, 100000000, "--calls");
		else if (!strcmp(k, "--batches"))
			o->batches = num(v, 1, MAX_BATCHES, "--batches");
		else if (!strcmp(k, "--warmup"))
			o->warmup = num(v, 0, 100, "--warmup");
		else if (!strcmp(k, "--lib"))
			o->lib = v;
		else if (!strcmp(k, "--exec"))
			o->exec_path = v;
		else
			die("kill: unknown option %s", k);
	}
}

/* The target: a sleeping child that ignores SIGTERM from its first instant. */
static pid_t start_target(void)
{
	signal(SIGTERM, SIG_IGN);	/* inherited across fork */
	pid_t target = fork();
	if (target < 0)
		die("fork: %s", strerror(errno));
	if (target == 0)
		target_main();
	signal(SIGTERM, SIG_DFL);
	return target;
}

/* Batches in turn on every arm, the arm going first rotating. */
static void run_batches(struct arm *arms, int narms, const struct kill_opts *o)
{
	for (long b = 0; b < o->warmup + o->batches; b++) {
		for (int k = 0; k < narms; k++) {
			struct arm *a = &arms[(b + k) % narms];
			double v = run_batch(a, o->calls);
			if (v >= 0 && b >= o->warmup && a->n < MAX_BATCHES)
				a->per_call[a->n++] = v;
		}
	}
}

static int cmd_kill(int argc, char **argv)
{
	struct kill_opts o;
	struct arm arms[MAX_ARMS] = {{.name = "plain"}};
	struct env_edits plain_env = {0}, lib_env = {0};
	char lib_assign[4096], pidarg[16], sigarg[16], callsarg[24];
	int narms = 1;

	kill_options(argc, argv, &o);
	pid_t target = start_target();
	snprintf(pidarg, sizeof(pidarg), "%d", (int)target);
	snprintf(sigarg, sizeof(sigarg), "%d", o.sig);
	snprintf(callsarg, sizeof(callsarg), "%ld", o.calls);
	char *worker[] = {(char *)self_path, (char *)"__kill-worker", pidarg, sigarg, callsarg, NULL};
	char *exec_worker[] = {(char *)o.exec_path, (char *)"exec", (char *)"--", (char *)self_path,
			       (char *)"__kill-worker", pidarg, sigarg, callsarg, NULL};

	env_unset(&plain_env, "LD_PRELOAD");
	start_arm(&arms[0], worker, &plain_env);
	if (o.lib) {
		snprintf(lib_assign, sizeof(lib_assign), "LD_PRELOAD=%s", o.lib);
		env_set(&lib_env, lib_assign);
		arms[narms].name = "preload";
		start_arm(&arms[narms++], worker, &lib_env);
	}
	if (o.exec_path) {
		arms[narms].name = "exec";
		start_arm(&arms[narms++], exec_worker, &plain_env);
	}
	run_batches(arms, narms, &o);
	for (int i = 0; i < narms; i++)
		stop_arm(&arms[i]);
	kill(target, SIGKILL);
	waitpid(target, NULL, 0);
	report_arms(arms, narms, o.calls);
	return 0;
}

/* ---- gone: from the start of a command until the targets have exited ---- */

static int parse_pids(const char *list, int *fds)
{
	char *copy = strdup(list), *save = NULL;
	int n = 0;

	if (!copy)
		die("out of memory");
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n == MAX_PIDS)
			die("too many pids");
		pid_t pid = (pid_t)num(t, 1, INT32_MAX, "pid");
		long fd = syscall(SYS_pidfd_open, pid, 0);
		if (fd < 0)
			die("pidfd_open(%d): %s", (int)pid, strerror(errno));
		fds[n++] = (int)fd;
	}
	free(copy);
	return n;
}

static void become(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw)
		die("no user %s", user);
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0)
		die("cannot become %s: %s", user, strerror(errno));
	if (chdir("/") < 0)
		die("chdir /: %s", strerror(errno));
}

/* In the child: stdout and stderr appended to path. */
static void to_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		die("%s: %s", path, strerror(errno));
	close(fd);
}

/* Poll the pidfds still open until each is readable; -1 closes them. */
static int wait_all_gone(int *fds, int n, uint64_t deadline)
{
	struct pollfd p[MAX_PIDS];
	int left = n;

	while (left > 0) {
		int k = 0;
		for (int i = 0; i < n; i++) {
			if (fds[i] >= 0)
				p[k++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
		}
		uint64_t now = mono_ns();
		if (now >= deadline)
			break;
		int r = poll(p, (nfds_t)k, (int)((deadline - now) / 1000000 + 1));
		if (r < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (int j = 0; j < k && r > 0; j++) {
			if (!p[j].revents)
				continue;
			for (int i = 0; i < n; i++) {
				if (fds[i] == p[j].fd) {
					close(fds[i]);
					fds[i] = -1;
					left--;
				}
			}
		}
	}
	return left;
}

static int cmd_gone(int argc, char **argv)
{
	long timeout_ms = 10000;
	const char *user = NULL, *log = NULL;
	struct env_edits env = {0};
	static int fds[MAX_PIDS];
	int i = 1, status = 0;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0 && argv[i][2]; i += 2) {
		if (i + 1 >= argc)
			die("gone: %s needs a value", argv[i]);
		if (!strcmp(argv[i], "--timeout-ms"))
			timeout_ms = num(argv[i + 1], 1, 3600000, "--timeout-ms");
		else if (!strcmp(argv[i], "--user"))
			user = argv[i + 1];
		else if (!strcmp(argv[i], "--set"))
			env_set(&env, argv[i + 1]);
		else if (!strcmp(argv[i], "--unset"))
			env_unset(&env, argv[i + 1]);
		else if (!strcmp(argv[i], "--log"))
			log = argv[i + 1];
		else
			die("gone: unknown option %s", argv[i]);
	}
	if (i + 2 >= argc || strcmp(argv[i + 1], "--"))
		die("usage: gone [options] PID[,PID...] -- CMD [ARGS...]");
	int n = parse_pids(argv[i], fds);
	char **cmd = argv + i + 2;

	uint64_t t0 = mono_ns();
	pid_t child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		if (log)
			to_log(log);
		if (user)
			become(user);
		env_apply(&env);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	int left = wait_all_gone(fds, n, t0 + (uint64_t)timeout_ms * 1000000);
	uint64_t t_gone = mono_ns();
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	uint64_t t_exit = mono_ns();
	printf("gone_ms=%.3f exit_ms=%.3f status=%d left=%d\n", (double)(t_gone - t0) / 1e6,
	       (double)(t_exit - t0) / 1e6, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	       left);
	return left ? 1 : 0;
}

int main(int argc, char **argv)
{
	static char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		die("readlink /proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	self_path = exe;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "kill"))
		return cmd_kill(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "gone"))
		return cmd_gone(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "__kill-worker"))
		return worker_main(argc - 1, argv + 1);
	fputs("usage: pgkg-bench kill [options] | gone [options] PIDS -- CMD...  (see bench/driver.c)\n",
	      stderr);
	return 2;
}
