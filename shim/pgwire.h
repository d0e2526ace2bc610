/*
 * pgwire.h - the few messages of the PostgreSQL frontend/backend protocol
 * (version 3.0) that a rewrite needs, over a Unix socket, without libpq.
 *
 * Why: libpq.so.5 brings about twenty libraries with it (OpenSSL, Kerberos,
 * LDAP, GnuTLS...); loading them costs ~4 ms on every start of the rewrite
 * helper, more than connecting and terminating the backend together.  A
 * local connection with peer or trust authentication needs none of them.
 *
 * Scope: startup, AuthenticationOk, one simple query returning one boolean,
 * terminate.  Anything else the server asks for before it is ready
 * (password, SCRAM, GSSAPI, a protocol negotiation) is answered by closing
 * the connection and returning -EPROTONOSUPPORT: the caller then goes
 * through libpq, which speaks all of it.
 */
#ifndef PGKG_PGWIRE_H
#define PGKG_PGWIRE_H

#include <errno.h>

#include <stddef.h>

struct pgkg_wire;

/*
 * Connect to the server socket at `path` and log in.  `params` is a
 * NULL-terminated list of startup parameter names and values ("user", NAME,
 * "database", NAME, ...).  The effective uid and gid at the time of the call
 * are what the server's peer authentication sees.  Bounded by timeout_ms.
 * Returns a connection, or NULL with *err set to:
 *   -EPROTONOSUPPORT  the server wants something this file does not speak
 *   -ECONNREFUSED     the server answered with an error (text in msg)
 *   another -errno    the socket failed (text in msg)
 */
struct pgkg_wire *pgkg_wire_connect(const char *path, const char *const *params,
				    int timeout_ms, int *err, char *msg, size_t msgcap);

/* Who must be listening on the socket (SO_PEERCRED): the postmaster's pid
 * (0: any) and uid.  A root listener is never accepted. */
struct pgkg_wire_peer {
	int pid;
	unsigned uid;
};

/*
 * pgkg_wire_connect, but nothing is sent unless the socket's listener is
 * `peer` (NULL: anyone); else NULL with *err = -EACCES and the reason in msg.
 */
struct pgkg_wire *pgkg_wire_connect_peer(const char *path, const struct pgkg_wire_peer *peer,
					 const char *const *params, int timeout_ms, int *err,
					 char *msg, size_t msgcap);

/*
 * Run `sql` (a simple query returning one boolean).  Returns 1 (true),
 * 0 (false) or -1 (text in msg): the server raised an error, or the
 * connection failed, after which pgkg_wire_ok() is false.  The last
 * NOTICE/WARNING text, if any, is left in notice.
 */
int pgkg_wire_query_bool(struct pgkg_wire *w, const char *sql, int timeout_ms, char *msg,
			 size_t msgcap, char *notice, size_t noticecap);

/*
 * Run `sql` (a simple query returning one row with one text column) and copy
 * that column into out ("" for NULL or no row).  0, or -1 (text in msg).
 */
int pgkg_wire_query_text(struct pgkg_wire *w, const char *sql, int timeout_ms, char *out,
			 size_t outcap, char *msg, size_t msgcap);

/* Still usable: no I/O or protocol failure so far. */
int pgkg_wire_ok(const struct pgkg_wire *w);

/* Say goodbye (Terminate) and free. NULL is fine. */
void pgkg_wire_close(struct pgkg_wire *w);

/* *err from pgkg_wire_connect_peer when the listener is not the postmaster
 * named: a server not to trust (no other route may take over either). */
#define PGKG_WIRE_UNTRUSTED (-EPERM)

#endif
