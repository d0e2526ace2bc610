/*
 * pgwire.c - a PostgreSQL protocol 3.0 client for one job: log in over a
 * local socket, run one query returning a boolean, say goodbye.
 *
 *  1. Every read is bounded by a deadline (poll), every message by a length
 *     check: a message longer than MAX_MESSAGE is a protocol error, and of
 *     a long one only the first BODY_CAP bytes are kept.
 *  2. Parsing never reads past what was received: fields are taken from a
 *     NUL-terminated copy, counted lengths are checked against it.
 *  3. No credentials are ever sent.  An authentication request other than
 *     "ok" ends the attempt with -EPROTONOSUPPORT, and the caller uses libpq.
 *  4. After an I/O or protocol failure the connection is marked broken and
 *     not used again.
 */
#include "pgwire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#define PROTOCOL_3_0 196608u
#define MAX_MESSAGE (1u << 20)
#define BODY_CAP 2048
#define STARTUP_CAP 2048

struct pgkg_wire {
	int fd;
	int broken;
	size_t off, len;	/* unread input: in[off..len) */
	char in[8192];
};

struct msg {
	char type;
	size_t kept;		/* bytes of the body in body[] */
	char body[BODY_CAP + 1];	/* NUL-terminated */
};

static uint32_t get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static void put32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

/* A failed recv/send as -errno; a reset (or EPERM, which is 1) as -EPIPE. */
static int io_error(int err)
{
	return err == ECONNRESET || err == EPERM ? -EPIPE : -err;
}

/* Wait until fd is ready for `events` or the deadline passes. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		long long left = deadline - pgkg_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return io_error(errno);
	}
}

/* Read more input; 0, -EPIPE on end of stream, or -errno. */
static int fill(struct pgkg_wire *w, long long deadline)
{
	if (w->off == w->len)
		w->off = w->len = 0;
	for (;;) {
		ssize_t r = recv(w->fd, w->in + w->len, sizeof(w->in) - w->len, 0);
		if (r > 0) {
			w->len += (size_t)r;
			return 0;
		}
		if (r == 0)
			return -EPIPE;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return io_error(errno);
		int e = wait_fd(w->fd, POLLIN, deadline);
		if (e)
			return e;
	}
}

/* Take n bytes of input into dst (NULL: skip them). */
static int take(struct pgkg_wire *w, char *dst, size_t n, long long deadline)
{
	while (n) {
		if (w->off == w->len) {
			int r = fill(w, deadline);
			if (r)
				return r;
		}
		size_t k = w->len - w->off < n ? w->len - w->off : n;
		if (dst) {
			memcpy(dst, w->in + w->off, k);
			dst += k;
		}
		w->off += k;
		n -= k;
	}
	return 0;
}

static int read_msg(struct pgkg_wire *w, struct msg *m, long long deadline)
{
	char head[5];
	int r = take(w, head, sizeof(head), deadline);

	if (r)
		return r;
	uint32_t len = get32(head + 1);
	if (len < 4 || len > MAX_MESSAGE)
		return -EPROTO;
	size_t body = len - 4;
	m->type = head[0];
	m->kept = body < BODY_CAP ? body : BODY_CAP;
	if ((r = take(w, m->body, m->kept, deadline)) || (r = take(w, NULL, body - m->kept, deadline)))
		return r;
	m->body[m->kept] = '\0';
	return 0;
}

static int send_all(struct pgkg_wire *w, const char *p, size_t n, long long deadline)
{
	while (n) {
		ssize_t r = send(w->fd, p, n, MSG_NOSIGNAL);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN)
			return io_error(errno);
		int e = wait_fd(w->fd, POLLOUT, deadline);
		if (e)
			return e;
	}
	return 0;
}

/* Field `code` of an ErrorResponse/NoticeResponse body, or NULL. */
static const char *field(const struct msg *m, char code)
{
	const char *p = m->body, *end = m->body + m->kept;

	while (p < end && *p) {
		char c = *p++;
		if (c == code)
			return p;
		p += strnlen(p, (size_t)(end - p)) + 1;
	}
	return NULL;
}

/* "FATAL:  message", as libpq words a server error. */
static void server_error(const struct msg *m, char *out, size_t cap)
{
	const char *sev = field(m, 'S'), *text = field(m, 'M');

	snprintf(out, cap, "%s:  %s", sev ? sev : "ERROR", text ? text : "(no message)");
}

static int open_socket(struct pgkg_wire *w, const char *path, int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	w->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (w->fd < 0)
		return -errno;
	/* A blocking connect waits while the listen queue is full; bound it. */
	setsockopt(w->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(w->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
	if (fcntl(w->fd, F_SETFL, fcntl(w->fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* The listening socket was made by the server we meant: SO_PEERCRED names
 * the process that called listen() (the postmaster) and its ids then. */
static int check_peer(const struct pgkg_wire *w, const struct pgkg_wire_peer *want, char *msg,
		      size_t msgcap)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (!want)
		return 0;
	if (getsockopt(w->fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 || len != sizeof(uc)) {
		snprintf(msg, msgcap, "cannot tell who listens on the socket: %s", strerror(errno));
		return -EACCES;
	}
	if ((want->pid > 0 && uc.pid != want->pid) || uc.uid != want->uid || uc.uid == 0) {
		snprintf(msg, msgcap,
			 "the socket is served by pid %d uid %u, not by the postmaster %d (uid %u)",
			 (int)uc.pid, (unsigned)uc.uid, (int)want->pid, (unsigned)want->uid);
		return PGKG_WIRE_UNTRUSTED;
	}
	return 0;
}

static int send_startup(struct pgkg_wire *w, const char *const *params, long long deadline)
{
	char buf[STARTUP_CAP];
	size_t n = 8;

	for (const char *const *p = params; *p; p++) {
		size_t k = strlen(*p) + 1;
		if (n + k + 1 > sizeof(buf))
			return -E2BIG;
		memcpy(buf + n, *p, k);
		n += k;
	}
	buf[n++] = '\0';
	put32(buf, (uint32_t)n);
	put32(buf + 4, PROTOCOL_3_0);
	return send_all(w, buf, n, deadline);
}

/* Read until ReadyForQuery. */
static int await_ready(struct pgkg_wire *w, long long deadline, char *msg, size_t msgcap)
{
	struct msg m;
	int r;

	while ((r = read_msg(w, &m, deadline)) == 0) {
		switch (m.type) {
		case 'R':	/* Authentication*: only "ok" (peer, trust) is ours */
			if (m.kept < 4)
				return -EPROTO;
			if (get32(m.body) != 0)
				return -EPROTONOSUPPORT;
			break;
		case 'E':
			server_error(&m, msg, msgcap);
			return -ECONNREFUSED;
		case 'S':	/* ParameterStatus */
		case 'K':	/* BackendKeyData */
		case 'N':	/* NoticeResponse */
			break;
		case 'Z':
			return 0;
		default:	/* NegotiateProtocolVersion, or anything new: libpq's job */
			return -EPROTONOSUPPORT;
		}
	}
	return r;
}

struct pgkg_wire *pgkg_wire_connect(const char *path, const char *const *params,
				    int timeout_ms, int *err, char *msg, size_t msgcap)
{
	return pgkg_wire_connect_peer(path, NULL, params, timeout_ms, err, msg, msgcap);
}

struct pgkg_wire *pgkg_wire_connect_peer(const char *path, const struct pgkg_wire_peer *peer,
					 const char *const *params, int timeout_ms, int *err,
					 char *msg, size_t msgcap)
{
	long long deadline = pgkg_mono_ms() + timeout_ms;
	struct pgkg_wire *w = calloc(1, sizeof(*w));
	int r;

	msg[0] = '\0';
	if (!w) {
		*err = -ENOMEM;
		snprintf(msg, msgcap, "out of memory");
		return NULL;
	}
	w->fd = -1;
	r = open_socket(w, path, timeout_ms);
	if (!r)
		r = check_peer(w, peer, msg, msgcap);
	if (!r)
		r = send_startup(w, params, deadline);
	if (!r)
		r = await_ready(w, deadline, msg, msgcap);
	if (!r)
		return w;
	if (!msg[0])
		snprintf(msg, msgcap, "connection to server on socket \"%s\" failed: %s", path,
			 r == -EPIPE ? "server closed the connection unexpectedly" : strerror(-r));
	w->broken = 1;	/* no Terminate: the server was not ready for it */
	pgkg_wire_close(w);
	*err = r;
	return NULL;
}

/* A DataRow with one column: 1 for "t", 0 for anything else. */
static int row_bool(const struct msg *m)
{
	if (m->kept < 6 || m->body[0] != 0 || m->body[1] != 1)
		return 0;
	return get32(m->body + 2) == 1 && m->kept >= 7 && m->body[6] == 't';
}

/* A DataRow's first column as text ("" for NULL), into out. */
static void row_text(const struct msg *m, char *out, size_t cap)
{
	uint32_t len;

	out[0] = '\0';
	if (m->kept < 6 || m->body[0] != 0 || m->body[1] < 1)
		return;
	len = get32(m->body + 2);
	if (len == UINT32_MAX)
		return;		/* NULL */
	if (len > m->kept - 6)
		len = (uint32_t)(m->kept - 6);	/* kept only the first BODY_CAP bytes */
	if (len >= cap)
		len = (uint32_t)(cap - 1);
	memcpy(out, m->body + 6, len);
	out[len] = '\0';
}

/* text: NULL for a boolean query, else where the first column goes. */
static int query_result(struct pgkg_wire *w, long long deadline, char *msg, size_t msgcap,
			char *notice, size_t noticecap, char *text_out, size_t textcap)
{
	int value = -1, failed = 0, r;
	const char *text;
	struct msg m;

	while ((r = read_msg(w, &m, deadline)) == 0) {
		switch (m.type) {
		case 'D':
			if (text_out)
				row_text(&m, text_out, textcap);
			value = text_out ? 1 : row_bool(&m);
			break;
		case 'N':
			if ((text = field(&m, 'M')))
				pgkg_strlcpy(notice, text, noticecap);
			break;
		case 'E':
			text = field(&m, 'M');
			pgkg_strlcpy(msg, text ? text : "(no message)", msgcap);
			failed = 1;
			break;
		case 'T': case 'C': case 'S': case 'A': case 'I':
			break;
		case 'Z':
			if (!failed && value < 0)
				pgkg_strlcpy(msg, "the query returned no row", msgcap);
			return failed || value < 0 ? -1 : value;
		default:
			return -EPROTO;
		}
	}
	return r;
}

static int run_query(struct pgkg_wire *w, const char *sql, int timeout_ms, char *msg,
		     size_t msgcap, char *notice, size_t noticecap, char *text, size_t textcap)
{
	long long deadline = pgkg_mono_ms() + timeout_ms;
	size_t n = strlen(sql) + 1;
	char buf[1024];
	int r;

	if (w->broken || n + 5 > sizeof(buf)) {
		pgkg_strlcpy(msg, w->broken ? "connection broken" : "query too long", msgcap);
		return -1;
	}
	buf[0] = 'Q';
	put32(buf + 1, (uint32_t)(n + 4));
	memcpy(buf + 5, sql, n);
	r = send_all(w, buf, n + 5, deadline);
	if (!r)
		r = query_result(w, deadline, msg, msgcap, notice, noticecap, text, textcap);
	if (r >= -1)
		return r;
	w->broken = 1;
	snprintf(msg, msgcap, "%s", r == -EPIPE ? "server closed the connection unexpectedly"
						: strerror(-r));
	return -1;
}

int pgkg_wire_query_bool(struct pgkg_wire *w, const char *sql, int timeout_ms, char *msg,
			 size_t msgcap, char *notice, size_t noticecap)
{
	return run_query(w, sql, timeout_ms, msg, msgcap, notice, noticecap, NULL, 0);
}

int pgkg_wire_query_text(struct pgkg_wire *w, const char *sql, int timeout_ms, char *out,
			 size_t outcap, char *msg, size_t msgcap)
{
	char notice[256];
	int r;

	out[0] = '\0';
	r = run_query(w, sql, timeout_ms, msg, msgcap, notice, sizeof(notice), out, outcap);
	return r < 0 ? -1 : 0;
}

int pgkg_wire_ok(const struct pgkg_wire *w)
{
	return w && !w->broken;
}

void pgkg_wire_close(struct pgkg_wire *w)
{
	static const char terminate[5] = {'X', 0, 0, 0, 4};

	if (!w)
		return;
	if (w->fd >= 0) {
		if (!w->broken)
			(void)!send(w->fd, terminate, sizeof(terminate), MSG_NOSIGNAL | MSG_DONTWAIT);
		close(w->fd);
	}
	free(w);
}
