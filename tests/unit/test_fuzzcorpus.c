/*
 * test_fuzzcorpus.c - replay the fuzz seed corpus and every regression input
 * through the fuzz targets' checks, without libFuzzer.
 *
 *   test_fuzzcorpus [FUZZDIR]   FUZZDIR: default $PGKG_FUZZDIR or tests/fuzz
 *
 * Each file in FUZZDIR/corpus/NAME and FUZZDIR/regress/NAME goes to the
 * target NAME (tests/fuzz/fuzz_NAME.c, included below).  A broken promise
 * aborts, so each target runs in a child process: one TAP line per target
 * and directory, naming the file that failed.  Under the ASan build this is
 * also a sanitizer run of the parsers on those inputs.
 */
#define PGKG_FUZZ_REPLAY 1

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#include "fuzz/fuzz_pgwire.c"
#include "fuzz/fuzz_pidfile.c"
#include "fuzz/fuzz_policy.c"
#include "fuzz/fuzz_stat.c"
#include "fuzz/fuzz_status.c"
#include "fuzz/fuzz_title.c"

static const struct {
	const char *name;
	void (*fn)(const char *, size_t);
} targets[] = {
	{"policy", pgkg_fuzz_policy},
	{"title", pgkg_fuzz_title},
	{"stat", pgkg_fuzz_stat},
	{"status", pgkg_fuzz_status},
	{"pidfile", pgkg_fuzz_pidfile},
	{"pgwire", pgkg_fuzz_pgwire},
};

/* The whole file in a buffer of exactly its size (so ASan sees overreads). */
static char *slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto out;
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (buf && read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	*len = (size_t)st.st_size;
out:
	if (fd >= 0)
		close(fd);
	return buf;
}

/* In a child: feed every file of dir to fn; exit 0, or abort on a failure. */
static void replay_dir(const char *dir, void (*fn)(const char *, size_t), int report_fd)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		char path[2048];
		size_t len;
		char *buf;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, "README"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!(buf = slurp(path, &len)))
			continue;
		/* say which file, in case it aborts */
		dprintf(report_fd, "%s\n", path);
		fn(buf, len);
		free(buf);
		n++;
	}
	if (d)
		closedir(d);
	dprintf(report_fd, "=%d\n", n);
	_exit(0);
}

/* The last line the child wrote before it finished or died. */
static void last_line(const char *all, char *out, size_t cap)
{
	const char *end = all + strlen(all), *start;

	while (end > all && end[-1] == '\n')
		end--;
	start = end;
	while (start > all && start[-1] != '\n')
		start--;
	snprintf(out, cap, "%.*s", (int)(end - start), start);
}

static void run(const char *fuzzdir, const char *kind, size_t t, int must_exist)
{
	char dir[1024], buf[65536], last[1024];
	int pipefd[2], status;
	ssize_t got = 0, r;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/%s/%s", fuzzdir, kind, targets[t].name);
	if (access(dir, R_OK) != 0) {
		if (must_exist)
			ok(0, "%s: %s", dir, strerror(errno));
		else
			ok(1, "# SKIP %s: none yet", dir);
		return;
	}
	if (pipe(pipefd) < 0 || (pid = fork()) < 0) {
		ok(0, "%s: pipe/fork: %s", dir, strerror(errno));
		return;
	}
	if (pid == 0) {
		close(pipefd[0]);
		replay_dir(dir, targets[t].fn, pipefd[1]);
	}
	close(pipefd[1]);
	while ((r = read(pipefd[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += r;
	buf[got] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	last_line(buf, last, sizeof(last));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && last[0] == '=') {
		ok(!must_exist || atoi(last + 1) > 0, "%s: %s inputs replayed, every promise kept", dir,
		   last + 1);
		return;
	}
	ok(0, "%s: %s died (%s %d) on %s", dir, targets[t].name,
	   WIFSIGNALED(status) ? "signal" : "exit",
	   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), last);
}

int main(int argc, char **argv)
{
	const char *env = getenv("PGKG_FUZZDIR");
	const char *fuzzdir = argc > 1 ? argv[1] : env && *env ? env : "tests/fuzz";

	plan((int)(sizeof(targets) / sizeof(targets[0])) * 2); /* corpus and regress */
	diag("inputs from %s/corpus and %s/regress", fuzzdir, fuzzdir);
	for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		run(fuzzdir, "corpus", t, 1);
		run(fuzzdir, "regress", t, 0);
	}
	return done_testing();
}
