/*
 * fdpass.c - a message with at most one descriptor over a Unix socket: the
 * one SCM_RIGHTS sender and the one receiver of the tree.
 *
 *  1. MUST stay async-signal-safe: the preload library sends a rewrite
 *     request from wherever the program called kill(), a signal handler
 *     included.  No allocation, no stdio, no locks; only sendmsg, recvmsg,
 *     poll, clock_gettime and close.
 *  2. Sending MUST NOT raise SIGPIPE (MSG_NOSIGNAL): a peer that is gone is
 *     -EPIPE, never the death of the program that called kill().
 *  3. A received descriptor is close-on-exec from the start
 *     (MSG_CMSG_CLOEXEC): no window in which another thread's exec leaks it.
 *  4. At most one descriptor is kept.  Any other that arrives, and the one
 *     that came with a message we reject, is closed here: nothing leaks into
 *     the caller's fd table.
 *  5. Bounded: a message longer than the buffer is an error, not a
 *     truncated success; a wait with a timeout ends by it, EINTR restarting
 *     with only the time left.
 */
#include "fdpass.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

union fd_control {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

int pgkg_fdpass_send(int sock, const void *buf, size_t len, int fd)
{
	union fd_control u;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t r;

	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		r = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EMSGSIZE;
}

/* Wait until sock is readable or deadline (monotonic ms) passes. */
static int wait_readable(int sock, long long deadline)
{
	struct pollfd p = {.fd = sock, .events = POLLIN};
	int r;

	for (;;) {
		long long left = deadline - pgkg_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* The first descriptor of the control messages into *fd (if wanted and
 * free); every other one closed (rule 4). */
static void take_fds(struct msghdr *msg, int *fd)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd && *fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
}

ssize_t pgkg_fdpass_recv(int sock, void *buf, size_t len, int *fd, long long timeout_ms)
{
	union fd_control u;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t r;

	if (fd) {
		*fd = -1;
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
	}
	if (timeout_ms >= 0 && (r = wait_readable(sock, pgkg_mono_ms() + timeout_ms)) < 0)
		return r;
	do
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	take_fds(&msg, fd);
	if (msg.msg_flags & MSG_TRUNC) {
		if (fd && *fd >= 0) {
			close(*fd);
			*fd = -1;
		}
		return -EMSGSIZE;
	}
	return r;
}

int pgkg_fdpass_send_fd(int sock, int fd)
{
	return pgkg_fdpass_send(sock, "L", 1, fd);
}

int pgkg_fdpass_recv_fd(int sock)
{
	char byte;
	int fd;

	if (pgkg_fdpass_recv(sock, &byte, 1, &fd, -1) == 1)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}
