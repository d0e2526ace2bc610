/*
 * test_fdpass.c - the one SCM_RIGHTS sender/receiver (shim/fdpass.c) and the
 * rewrite protocol built on it (shim/rwproto.c), over real socketpairs:
 * the descriptor arrives close-on-exec and is the same file, extra or
 * unwanted descriptors are closed (nothing leaks into the fd table), a
 * message longer than the buffer is refused, a wait ends by its timeout, a
 * request or answer is taken only whole and with its strings terminated.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdpass.h"
#include "rwproto.h"
#include "tap.h"
#include "util.h"

static void pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		diag("socketpair: %s", strerror(errno));
		sv[0] = sv[1] = -1;
	}
}

/* How many descriptors this process has open. */
static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static bool same_file(int a, int b)
{
	struct stat x, y;

	return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev &&
	       x.st_ino == y.st_ino;
}

/* sendmsg with n copies of fd in one SCM_RIGHTS message (not the module:
 * a sender that misbehaves). */
static void send_many(int sock, const void *buf, size_t len, int fd, int n)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = CMSG_SPACE(n * sizeof(int))};
	struct cmsghdr *c;

	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	for (int i = 0; i < n; i++)
		memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) < 0)
		diag("sendmsg: %s", strerror(errno));
}

static void test_fd_rides(void)
{
	int sv[2], file = open("/dev/null", O_RDONLY), got = -2, base;
	char buf[16] = "";

	pair(sv);
	base = open_fds();
	is_int(pgkg_fdpass_send(sv[0], "hello", 5, file), 0, "send: a message with a descriptor");
	is_int(pgkg_fdpass_recv(sv[1], buf, sizeof(buf), &got, 1000), 5, "recv: its length");
	ok(memcmp(buf, "hello", 5) == 0, "recv: its bytes");
	ok(got >= 0 && same_file(got, file), "recv: the descriptor is the same file");
	ok(got >= 0 && (fcntl(got, F_GETFD) & FD_CLOEXEC), "recv: the descriptor is close-on-exec");
	if (got >= 0)
		close(got);

	is_int(pgkg_fdpass_send(sv[0], "x", 1, -1), 0, "send: without a descriptor");
	is_int(pgkg_fdpass_recv(sv[1], buf, sizeof(buf), &got, 1000), 1, "recv: a message alone");
	is_int(got, -1, "recv: no descriptor came: -1");

	is_int(pgkg_fdpass_send(sv[0], "y", 1, file), 0, "send: a descriptor nobody wants");
	is_int(pgkg_fdpass_recv(sv[1], buf, sizeof(buf), NULL, 1000), 1, "recv(NULL): the message");
	is_int(open_fds(), base, "recv(NULL): the unwanted descriptor is not in our table");

	send_many(sv[0], "z", 1, file, 2);
	is_int(pgkg_fdpass_recv(sv[1], buf, sizeof(buf), &got, 1000), 1, "recv: two descriptors sent");
	ok(got >= 0 && same_file(got, file), "recv: the first one kept");
	if (got >= 0)
		close(got);
	is_int(open_fds(), base, "recv: the second one closed, not leaked");

	is_int(pgkg_fdpass_send(sv[0], "too long", 8, file), 0, "send: longer than the reader's buffer");
	is_int(pgkg_fdpass_recv(sv[1], buf, 4, &got, 1000), -EMSGSIZE, "recv: a truncated message is refused");
	is_int(got, -1, "recv: refused: no descriptor");
	is_int(open_fds(), base, "recv: refused: its descriptor closed");

	long long t0 = pgkg_mono_ms();
	is_int(pgkg_fdpass_recv(sv[1], buf, sizeof(buf), &got, 100), -ETIMEDOUT, "recv: nothing came: timeout");
	ok(pgkg_mono_ms() - t0 >= 90 && pgkg_mono_ms() - t0 < 5000, "recv: the wait ended by its timeout");

	is_int(pgkg_fdpass_send_fd(sv[0], file), 0, "send_fd: a descriptor alone");
	got = pgkg_fdpass_recv_fd(sv[1]);
	ok(got >= 0 && same_file(got, file), "recv_fd: the same file");
	if (got >= 0)
		close(got);

	close(sv[0]);
	is_int(pgkg_fdpass_recv(sv[1], buf, sizeof(buf), &got, 1000), 0, "recv: the peer closed: 0");
	is_int(pgkg_fdpass_recv_fd(sv[1]), -1, "recv_fd: the peer closed: -1");
	is_int(pgkg_fdpass_send(sv[1], "x", 1, -1), -EPIPE, "send: the peer gone: -EPIPE, no SIGPIPE");
	close(sv[1]);
	close(file);
}

static void test_rwproto(void)
{
	int sv[2], file = open("/dev/null", O_RDONLY), pidfd = -2, base;
	struct pgkg_rw_req req, got;
	struct pgkg_rw_rep rep, back;

	pair(sv);
	base = open_fds();
	memset(&req, 'A', sizeof(req));
	req.magic = PGKG_RW_MAGIC;
	req.op = PGKG_RW_CANCEL;
	is_int(pgkg_rw_send_req(sv[0], &req, file), 0, "rw: request sent with a pidfd");
	is_int(pgkg_rw_recv_req(sv[1], 1000, &got, &pidfd), 1, "rw: request received");
	is_int(got.op, PGKG_RW_CANCEL, "rw: request: op");
	is_int(strlen(got.sockdir), sizeof(got.sockdir) - 1, "rw: request: sockdir terminated");
	is_int(strlen(got.conninfo), sizeof(got.conninfo) - 1, "rw: request: conninfo terminated");
	ok(pidfd >= 0 && same_file(pidfd, file), "rw: request: the pidfd rode along");
	if (pidfd >= 0)
		close(pidfd);

	req.magic = 0;
	is_int(pgkg_rw_send_req(sv[0], &req, file), 0, "rw: request with a bad magic sent");
	is_int(pgkg_rw_recv_req(sv[1], 1000, &got, &pidfd), -EPROTO, "rw: bad magic refused");
	is_int(pidfd, -1, "rw: refused: no pidfd");
	is_int(open_fds(), base, "rw: refused: its pidfd closed");

	is_int(pgkg_fdpass_send(sv[0], &req, 10, file), 0, "rw: a short request sent");
	is_int(pgkg_rw_recv_req(sv[1], 1000, &got, &pidfd), -EPROTO, "rw: a short request refused");
	is_int(open_fds(), base, "rw: short: its pidfd closed");

	is_int(pgkg_rw_recv_req(sv[1], 50, &got, &pidfd), 0, "rw: idle: 0");

	memset(&rep, 'B', sizeof(rep));
	rep.magic = PGKG_RW_MAGIC;
	rep.status = PGKG_RW_TIMEOUT;
	is_int(pgkg_rw_send_rep(sv[1], &rep), 0, "rw: answer sent");
	is_int(pgkg_rw_recv_rep(sv[0], 1000, &back), 0, "rw: answer received");
	is_int(back.status, PGKG_RW_TIMEOUT, "rw: answer: status");
	is_int(strlen(back.detail), sizeof(back.detail) - 1, "rw: answer: detail terminated");
	is_int(strlen(back.activity), sizeof(back.activity) - 1, "rw: answer: activity terminated");

	is_int(pgkg_fdpass_send(sv[1], &rep, sizeof(rep) - 1, -1), 0, "rw: a short answer sent");
	is_int(pgkg_rw_recv_rep(sv[0], 1000, &back), -EPROTO, "rw: a short answer refused");
	is_int(pgkg_rw_recv_rep(sv[0], 50, &back), -ETIMEDOUT, "rw: no answer: -ETIMEDOUT");

	close(sv[1]);
	is_int(pgkg_rw_recv_rep(sv[0], 1000, &back), -EPIPE, "rw: the helper went away: -EPIPE");
	is_int(pgkg_rw_send_req(sv[0], &req, -1), -EPIPE, "rw: sending to a gone helper: -EPIPE");
	close(sv[0]);

	pair(sv);
	close(sv[0]);
	is_int(pgkg_rw_recv_req(sv[1], 1000, &got, &pidfd), 0, "rw: the library closed: 0");
	close(sv[1]);
	close(file);
}

int main(void)
{
	plan(50);
	test_fd_rides();
	test_rwproto();
	return done_testing();
}
