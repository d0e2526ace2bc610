/*
 * rwproto.h - the rewrite request: what the guard asks the database step
 * to do, and its answer.  The preload library sends it to its helper process
 * (`pgkillguard __rewrite-helper`) over a SOCK_SEQPACKET socketpair, one
 * message each way, with the target's pidfd attached to the request
 * (fdpass.c); the seccomp supervisor calls the database step in process with
 * the same structs.  Both ends of the socket use the functions below
 * (rwproto.c): helperlink.c the library's, helper.c the helper's.
 */
#ifndef PGKG_RWPROTO_H
#define PGKG_RWPROTO_H

#include <stdint.h>

#include "procfs.h"

#define PGKG_RW_MAGIC 0x50474b31u	/* "PGK1" */

enum pgkg_rw_op { PGKG_RW_TERMINATE = 1, PGKG_RW_CANCEL = 2 };

enum pgkg_rw_status {
	PGKG_RW_OK = 0,		/* terminated and gone / cancelled */
	PGKG_RW_NOCONN,		/* could not connect to the cluster */
	PGKG_RW_REFUSED,	/* the function returned false or raised an error */
	PGKG_RW_TIMEOUT,	/* signalled, but still there when the timeout ran out */
	PGKG_RW_ERROR,		/* anything else (helper missing, protocol) */
};

struct pgkg_rw_req {
	uint32_t magic;
	uint32_t op;		/* enum pgkg_rw_op */
	int32_t target;		/* as this host sees it (pidfd, /proc) */
	int32_t target_ns;	/* as the server sees it (its pid namespace): the SQL argument */
	int32_t postmaster;
	uint64_t pm_starttime;
	uint32_t owner_uid;	/* the postmaster's uid: a root caller acts as it */
	uint32_t timeout_ms;
	int32_t port;
	char sockdir[PGKG_PATH_MAX];	/* as the server sees it (pid file line 5) */
	char conninfo[512];	/* from the policy, or "" */
};

struct pgkg_rw_rep {
	uint32_t magic;
	int32_t status;		/* enum pgkg_rw_status */
	uint32_t elapsed_ms;	/* request received -> process gone */
	uint32_t sql_unavailable;	/* 1: SQL could not be used at all (no connection,
					 * the server does not know the pid): nothing was
					 * signalled, a direct signal may take over */
	uint32_t server_untrusted;	/* 1: the "server" failed the checks of what a
					 * rewrite trusts: nothing may take over */
	int32_t returned;	/* the function's answer: 1 true, 0 false, -1 none */
	uint32_t signalled_ms;	/* request received -> the function returned true */
	uint64_t signalled_at_ms;	/* wall clock (ms since the epoch) of that moment */
	char detail[400];	/* server WARNING/ERROR or connection error */
	/* On PGKG_RW_TIMEOUT: the target's row of pg_stat_activity as
	 * "state=active wait_event=- query=DO $$ ..." (whitespace folded), or "". */
	char activity[400];
};

/* The library's end.  Async-signal-safe, like all of the library's path
 * (rwproto.c rule 1). */

/* The request, with pidfd attached when >= 0: 0, or -EPIPE (not sent). */
int pgkg_rw_send_req(int sock, const struct pgkg_rw_req *req, int pidfd);
/* The answer, waiting at most wait_ms: 0 with rep filled (strings
 * terminated); -EPIPE when the helper went away before answering;
 * -ETIMEDOUT; -EPROTO for a message that is not one whole answer; else the
 * -errno of the wait or the receive. */
int pgkg_rw_recv_rep(int sock, long long wait_ms, struct pgkg_rw_rep *rep);

/* The helper's end. */

/* The next request, waiting at most idle_ms: 1 with req filled (strings
 * terminated) and *pidfd the descriptor that came with it or -1; 0 on EOF,
 * idle or error; -EPROTO for a message that is not one whole request (its
 * descriptor closed, *pidfd -1). */
int pgkg_rw_recv_req(int sock, long long idle_ms, struct pgkg_rw_req *req, int *pidfd);
/* The answer: 0 or -errno. */
int pgkg_rw_send_rep(int sock, const struct pgkg_rw_rep *rep);

#endif
