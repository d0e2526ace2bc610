/*
 * helper.c - `pgkillguard __rewrite-helper FD`: the process the preload
 * library starts to do its database step (the library itself must not
 * link libpq).  Internal: not for people to run.
 *
 *  1. Detach at once (fork, setsid): the caller reaps our first process and
 *     we are never its child, so its wait(-1) can't hang on us.
 *  2. Serve requests on FD one at a time; exit on EOF or after IDLE_MS idle.
 *  3. Say nothing: the library prints the explanation and writes the audit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "rewrite.h"
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

/* One request (and the pidfd riding with it); 1 ok, 0 EOF/idle, -1 bad. */
static int next_request(int fd, struct pgkg_rw_req *req, int *pidfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = req, .iov_len = sizeof(*req)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t r;

	*pidfd = -1;
	do
		r = poll(&p, 1, IDLE_MS);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return 0;
	do
		r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return 0;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(pidfd, CMSG_DATA(c), sizeof(int));
	if (r != (ssize_t)sizeof(*req) || req->magic != PGKG_RW_MAGIC)
		return -1;
	req->sockdir[sizeof(req->sockdir) - 1] = '\0';
	req->conninfo[sizeof(req->conninfo) - 1] = '\0';
	return 1;
}

int pgkg_helper_main(int argc, char **argv)
{
	struct pgkg_rewriter *rw;
	struct pgkg_rw_req req;
	struct pgkg_rw_rep rep;
	long long fd;
	int pidfd, r;

	if (argc != 2 || pgkg_parse_ll(argv[1], strlen(argv[1]), 0, 1023, &fd) < 0)
		die("__rewrite-helper is internal to libpgkillguard.so");
	detach();
	if (!(rw = pgkg_rewriter_new("/proc")))
		return 1;
	while ((r = next_request((int)fd, &req, &pidfd)) > 0) {
		pgkg_rewriter_run(rw, &req, pidfd, &rep);
		if (pidfd >= 0)
			close(pidfd);
		if (send((int)fd, &rep, sizeof(rep), MSG_NOSIGNAL) < 0)
			break;
	}
	pgkg_rewriter_free(rw);
	return 0;
}
