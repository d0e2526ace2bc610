/*
 * helperlink.c - start, reuse and talk to the rewrite helper.
 *
 *  1. MUST NOT allocate or take locks: a busy flag (atomic) guards the cached
 *     connection; a concurrent or re-entrant caller gets a one-shot helper.
 *  2. The child between vfork() and execve() runs with every signal blocked
 *     and calls nothing but dup2/fcntl/execve/_exit.
 *  3. Every wait is bounded (the request's timeout plus a margin).
 *  4. The cached descriptor lives in the program's fd table: the program may
 *     close it, dup2() over it (bash: exec 4>file) or, from a vfork() child,
 *     leave behind a number that means something else in the parent.  Before
 *     each use it MUST still be the socket we made (same device and inode);
 *     if not, forget it and never close it.  It never stays on fd 0, 1 or 2,
 *     where a program with those closed would write into it.
 */
#include "helperlink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rawsys.h"
#include "util.h"

#define HELPER_FD 3
#define ANSWER_MARGIN_MS 20000	/* connect_timeout and query time on top of the wait */

extern char **environ;

static int cached_fd = -1;
static pid_t cached_owner;
static dev_t cached_dev;	/* what cached_fd was when we cached it */
static ino_t cached_ino;
static int busy;

static void fail(struct pgkg_rw_rep *rep, const char *what, const char *path, int err)
{
	struct pgkg_buf b;

	rep->magic = PGKG_RW_MAGIC;
	rep->status = PGKG_RW_ERROR;
	pgkg_buf_init(&b, rep->detail, sizeof(rep->detail));
	pgkg_buf_puts(&b, what);
	if (path) {
		pgkg_buf_puts(&b, " ");
		pgkg_buf_puts(&b, path);
	}
	if (err) {
		pgkg_buf_puts(&b, ": ");
		pgkg_buf_puts(&b, strerrorname_np(err) ? strerrorname_np(err) : "error");
	}
}

static __attribute__((noinline, noreturn)) void exec_helper(const char *path, int fd)
{
	char *argv[] = {(char *)"pgkillguard", (char *)"__rewrite-helper", (char *)"3", NULL};

	if (fd == HELPER_FD)
		fcntl(fd, F_SETFD, 0);
	else
		dup2(fd, HELPER_FD);
	execve(path, argv, environ);
	_exit(127);
}

/* Start a helper; returns our end of its socket or -errno. */
static int spawn(const char *path)
{
	sigset_t all, old;
	int sv[2], status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = vfork();
	if (pid == 0)
		exec_helper(path, sv[1]);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -EAGAIN;
	}
	/* The helper forks once and its first process exits: reap that one. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		close(sv[0]);
		return -ENOEXEC;
	}
	return sv[0];
}

static int send_req(int fd, const struct pgkg_rw_req *req, int pidfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = (void *)req, .iov_len = sizeof(*req)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t r;

	if (pidfd >= 0) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pidfd, sizeof(int));
	}
	do
		r = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)sizeof(*req) ? 0 : -EPIPE;
}

/* 0 with rep filled; -EPIPE when the helper went away before answering. */
static int recv_rep(int fd, uint32_t timeout_ms, struct pgkg_rw_rep *rep)
{
	long long deadline = pgkg_mono_ms() + timeout_ms + ANSWER_MARGIN_MS;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t r;

	for (;;) {
		long long left = deadline - pgkg_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r > 0)
			break;
	}
	do
		r = recv(fd, rep, sizeof(*rep), 0);
	while (r < 0 && errno == EINTR);
	if (r == 0 || (r < 0 && errno == ECONNRESET))
		return -EPIPE;
	if (r != (ssize_t)sizeof(*rep) || rep->magic != PGKG_RW_MAGIC)
		return -EPROTO;
	rep->detail[sizeof(rep->detail) - 1] = '\0';
	return 0;
}

static int exchange(int fd, const struct pgkg_rw_req *req, int pidfd, struct pgkg_rw_rep *rep)
{
	int r = send_req(fd, req, pidfd);

	return r ? r : recv_rep(fd, req->timeout_ms, rep);
}

/* Is fd still the socket we cached (not closed or replaced by the program)? */
static bool still_ours(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == cached_dev &&
	       st.st_ino == cached_ino;
}

/* Take the cached helper if this process owns it and nobody is using it. */
static int take_cached(pid_t self, bool *mine)
{
	*mine = !__atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE);
	if (!*mine)
		return -1;
	if (cached_fd >= 0 && !still_ours(cached_fd))
		cached_fd = -1;		/* the number is the program's now: forget it */
	if (cached_fd >= 0 && cached_owner != self) {
		close(cached_fd);	/* inherited across fork(): the parent's */
		cached_fd = -1;
	}
	return cached_fd;
}

/* fd, moved above 2 if it is on stdin/stdout/stderr (closed by the program). */
static int above_stdio(int fd)
{
	int moved;

	if (fd > 2 || (moved = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return fd;
	close(fd);
	return moved;
}

/* Cache fd (or nothing, when fd < 0) for this process. */
static void give_back(bool mine, int fd, pid_t self)
{
	struct stat st;

	if (!mine) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (fd >= 0) {
		fd = above_stdio(fd);
		if (fstat(fd, &st) == 0) {
			cached_dev = st.st_dev;
			cached_ino = st.st_ino;
		} else {
			close(fd);
			fd = -1;
		}
	}
	cached_fd = fd;
	cached_owner = self;
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
}

void pgkg_helper_rewrite(const char *path, const struct pgkg_rw_req *req, int pidfd,
			 struct pgkg_rw_rep *rep)
{
	pid_t self = (pid_t)pgkg_raw(SYS_getpid, 0, 0, 0, 0);
	bool mine;
	int fd = take_cached(self, &mine), r = -EPIPE;

	/* A cached helper may have exited idle: one retry with a fresh one. */
	for (int attempt = 0; attempt < 2 && r == -EPIPE; attempt++) {
		bool fresh = fd < 0;
		if (fresh && (fd = spawn(path)) < 0) {
			fail(rep, "cannot start the rewrite helper", path, -fd);
			fd = -1;
			break;
		}
		r = exchange(fd, req, pidfd, rep);
		if (r) {
			close(fd);
			fd = -1;
			if (fresh || r != -EPIPE)
				fail(rep, "the rewrite helper did not answer", path, -r);
			if (fresh)
				break;
		}
	}
	give_back(mine, fd, self);
}
