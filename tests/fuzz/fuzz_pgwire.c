/*
 * fuzz_pgwire.c - the wire-protocol client (shim/pgwire.c) against a fake
 * server whose whole byte stream is the input: the login (startup packet up
 * to ReadyForQuery) and, when that succeeds, one query.  The server is the
 * other end of a socketpair: the input is written there first and that
 * direction shut, so every read gets data or end-of-stream, never a wait.
 * Promises: every call returns within its deadline; a failed login is NULL
 * with a negative error and a NUL-terminated message; a query answers -1, 0
 * or 1 with msg and notice NUL-terminated; whatever the server says, the
 * client sends one startup packet, then only Query ('Q') and Terminate ('X')
 * messages: never a PasswordMessage ('p') or anything else.
 *
 * pgwire.c is included, not linked, so its static parsers are reachable and
 * the unit tests need no extra object.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "pgwire.c"

#define FUZZ_WIRE_TIMEOUT_MS 2000

/* What the client wrote: a startup packet, then only 'Q' and 'X'. */
static void check_client_output(int fd)
{
	static char out[16384];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(out) && (r = recv(fd, out + n, sizeof(out) - n, MSG_DONTWAIT)) > 0)
		n += (size_t)r;
	FUZZ_CHECK(n >= 8 && n < sizeof(out));
	uint32_t len = get32(out);
	FUZZ_CHECK(len >= 8 && len <= n && get32(out + 4) == PROTOCOL_3_0);
	for (size_t off = len; off < n;) {
		FUZZ_CHECK(n - off >= 5);
		FUZZ_CHECK(out[off] == 'Q' || out[off] == 'X');
		uint32_t mlen = get32(out + off + 1);
		FUZZ_CHECK(mlen >= 4 && mlen <= n - off - 1);
		off += 1 + mlen;
	}
}

static void pgkg_fuzz_pgwire(const char *data, size_t size)
{
	static const char *const params[] = {"user", "fuzz", "database", "postgres", NULL};
	char msg[256], notice[256];
	struct pgkg_wire *w = calloc(1, sizeof(*w));
	long long t0 = pgkg_mono_ms(), deadline = t0 + FUZZ_WIRE_TIMEOUT_MS;
	int sv[2], r;

	FUZZ_CHECK(w != NULL);
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	/* the server side: the whole stream up front (small enough for the buffer) */
	for (size_t off = 0; off < size;) {
		ssize_t k = send(sv[1], data + off, size - off, MSG_NOSIGNAL);
		FUZZ_CHECK(k > 0);
		off += (size_t)k;
	}
	shutdown(sv[1], SHUT_WR);
	w->fd = sv[0];
	FUZZ_CHECK(fcntl(w->fd, F_SETFL, O_NONBLOCK) == 0);
	msg[0] = notice[0] = '\0';
	r = send_startup(w, params, deadline);
	FUZZ_CHECK(r == 0);
	r = await_ready(w, deadline, msg, sizeof(msg));
	FUZZ_CHECK(r <= 0);
	FUZZ_TERMINATED(msg);
	if (r == 0) {
		r = pgkg_wire_query_bool(w, "SELECT pg_catalog.pg_terminate_backend(1)",
					 FUZZ_WIRE_TIMEOUT_MS, msg, sizeof(msg), notice,
					 sizeof(notice));
		FUZZ_CHECK(r == -1 || r == 0 || r == 1);
		FUZZ_TERMINATED(msg);
		FUZZ_TERMINATED(notice);
	} else {
		w->broken = 1;	/* as pgkg_wire_connect does: no Terminate */
	}
	pgkg_wire_close(w);	/* closes sv[0] */
	FUZZ_CHECK(pgkg_mono_ms() - t0 <= 2 * FUZZ_WIRE_TIMEOUT_MS + 100);
	check_client_output(sv[1]);
	close(sv[1]);
}

PGKG_FUZZ_ENTRY(pgkg_fuzz_pgwire)
