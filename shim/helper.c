/*
 * helper.c - `pgkillguard __rewrite-helper FD`: the process the preload
 * library starts to do its database step (the library itself must not
 * link libpq).  Internal: not for people to run.
 *
 *  1. Detach at once (fork, setsid): the caller reaps our first process and
 *     we are never its child, so its wait(-1) can't hang on us.
 *  2. Serve requests on FD one at a time (the messages: rwproto.c); exit on
 *     EOF, on a message that is not one whole request, or after IDLE_MS idle.
 *  3. Say nothing: the library prints the explanation and writes the audit.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "rewrite.h"
#include "rwproto.h"
#include "util.h"

#define IDLE_MS 10000

static void detach(void)
{
	sigset_t none;
	pid_t pid = fork();
	int null;

	if (pid != 0)
		_exit(pid > 0 ? 0 : 1);
	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
}

int pgkg_helper_main(int argc, char **argv)
{
	struct pgkg_rewriter *rw;
	struct pgkg_rw_req req;
	struct pgkg_rw_rep rep;
	long long fd;
	int pidfd;

	if (argc != 2 || pgkg_parse_ll(argv[1], strlen(argv[1]), 0, 1023, &fd) < 0)
		die("__rewrite-helper is internal to libpgkillguard.so");
	detach();
	if (!(rw = pgkg_rewriter_new("/proc")))
		return 1;
	while (pgkg_rw_recv_req((int)fd, IDLE_MS, &req, &pidfd) > 0) {
		pgkg_rewriter_run(rw, &req, pidfd, &rep);
		if (pidfd >= 0)
			close(pidfd);
		if (pgkg_rw_send_rep((int)fd, &rep) < 0)
			break;
	}
	pgkg_rewriter_free(rw);
	return 0;
}
