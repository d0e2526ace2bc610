/*
 * rwproto.c - the rewrite protocol between the preload library and its
 * helper: one request (with the target's pidfd) and one answer, each one
 * SOCK_SEQPACKET message of the fixed structs in rwproto.h.
 *
 *  1. MUST stay async-signal-safe: the library's end runs in the program
 *     that called kill(), maybe in a signal handler.  No allocation, stdio or
 *     locks; fd passing is fdpass.c's.
 *  2. A message is taken only whole: exactly the struct's size and its
 *     magic; its strings are terminated here, so neither end reads past a
 *     field whatever the other sent.
 *  3. A pidfd that came with a message we reject is closed, never left in
 *     the helper's fd table.
 */
#include "rwproto.h"

#include <errno.h>
#include <unistd.h>

#include "fdpass.h"

#define TERMINATE(field) ((field)[sizeof(field) - 1] = '\0')

int pgkg_rw_send_req(int sock, const struct pgkg_rw_req *req, int pidfd)
{
	return pgkg_fdpass_send(sock, req, sizeof(*req), pidfd) == 0 ? 0 : -EPIPE;
}

int pgkg_rw_recv_rep(int sock, long long wait_ms, struct pgkg_rw_rep *rep)
{
	ssize_t r = pgkg_fdpass_recv(sock, rep, sizeof(*rep), NULL, wait_ms);

	if (r == 0 || r == -ECONNRESET)
		return -EPIPE;
	if (r < 0 && r != -EMSGSIZE)
		return (int)r;		/* -ETIMEDOUT, or the error of poll/recvmsg */
	if (r != (ssize_t)sizeof(*rep) || rep->magic != PGKG_RW_MAGIC)
		return -EPROTO;
	TERMINATE(rep->detail);
	TERMINATE(rep->activity);
	return 0;
}

int pgkg_rw_recv_req(int sock, long long idle_ms, struct pgkg_rw_req *req, int *pidfd)
{
	ssize_t r = pgkg_fdpass_recv(sock, req, sizeof(*req), pidfd, idle_ms);

	if (r <= 0 && r != -EMSGSIZE)
		return 0;
	if (r != (ssize_t)sizeof(*req) || req->magic != PGKG_RW_MAGIC) {
		if (*pidfd >= 0)
			close(*pidfd);
		*pidfd = -1;
		return -EPROTO;
	}
	TERMINATE(req->sockdir);
	TERMINATE(req->conninfo);
	return 1;
}

int pgkg_rw_send_rep(int sock, const struct pgkg_rw_rep *rep)
{
	return pgkg_fdpass_send(sock, rep, sizeof(*rep), -1);
}
