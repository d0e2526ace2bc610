/*
 * kinds.h - the kinds of process a PostgreSQL cluster is made of.
 */
#ifndef PGKG_KINDS_H
#define PGKG_KINDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pgkg_kind {
	PGKG_KIND_NONE = 0,	/* not part of a PostgreSQL cluster */
	PGKG_KIND_POSTMASTER,
	/* children pg_terminate_backend() can signal */
	PGKG_KIND_CLIENT_BACKEND,
	PGKG_KIND_WALSENDER,
	PGKG_KIND_AUTOVACUUM_WORKER,
	PGKG_KIND_AUTOVACUUM_LAUNCHER,
	PGKG_KIND_PARALLEL_WORKER,
	PGKG_KIND_LOGICAL_REPLICATION_WORKER,
	PGKG_KIND_LOGICAL_REPLICATION_LAUNCHER,
	PGKG_KIND_BACKGROUND_WORKER,
	PGKG_KIND_SLOTSYNC_WORKER,
	/* children it cannot */
	PGKG_KIND_CHECKPOINTER,
	PGKG_KIND_BACKGROUND_WRITER,
	PGKG_KIND_WALWRITER,
	PGKG_KIND_STARTUP,
	PGKG_KIND_WALRECEIVER,
	PGKG_KIND_ARCHIVER,
	PGKG_KIND_LOGGER,
	PGKG_KIND_STATS_COLLECTOR,
	PGKG_KIND_WALSUMMARIZER,
	PGKG_KIND_IO_WORKER,
	PGKG_KIND_UNKNOWN_CHILD,	/* title still the postmaster's argv */
	/* a server process whose postmaster is gone (its pid file names a dead pid) */
	PGKG_KIND_ORPHAN,
	PGKG_KIND__COUNT
};

#define PGKG_KIND_BIT(k) (UINT32_C(1) << (k))
/* Sets usable in a policy's TARGET-KINDS column. */
#define PGKG_KINDS_BACKEND                                                     \
	(PGKG_KIND_BIT(PGKG_KIND_CLIENT_BACKEND) | PGKG_KIND_BIT(PGKG_KIND_WALSENDER) | \
	 PGKG_KIND_BIT(PGKG_KIND_AUTOVACUUM_WORKER) |                              \
	 PGKG_KIND_BIT(PGKG_KIND_AUTOVACUUM_LAUNCHER) |                            \
	 PGKG_KIND_BIT(PGKG_KIND_PARALLEL_WORKER) |                                \
	 PGKG_KIND_BIT(PGKG_KIND_LOGICAL_REPLICATION_WORKER) |                     \
	 PGKG_KIND_BIT(PGKG_KIND_LOGICAL_REPLICATION_LAUNCHER) |                   \
	 PGKG_KIND_BIT(PGKG_KIND_BACKGROUND_WORKER) |                              \
	 PGKG_KIND_BIT(PGKG_KIND_SLOTSYNC_WORKER))
#define PGKG_KINDS_AUXILIARY                                                   \
	(PGKG_KIND_BIT(PGKG_KIND_CHECKPOINTER) |                                   \
	 PGKG_KIND_BIT(PGKG_KIND_BACKGROUND_WRITER) |                              \
	 PGKG_KIND_BIT(PGKG_KIND_WALWRITER) | PGKG_KIND_BIT(PGKG_KIND_STARTUP) |   \
	 PGKG_KIND_BIT(PGKG_KIND_WALRECEIVER) | PGKG_KIND_BIT(PGKG_KIND_ARCHIVER) | \
	 PGKG_KIND_BIT(PGKG_KIND_LOGGER) | PGKG_KIND_BIT(PGKG_KIND_STATS_COLLECTOR) | \
	 PGKG_KIND_BIT(PGKG_KIND_WALSUMMARIZER) | PGKG_KIND_BIT(PGKG_KIND_IO_WORKER))
/* Kinds a rewrite (terminate, cancel) may name: the backend set and orphans
 * (ended by a direct SIGTERM: no server is left to ask). */
#define PGKG_KINDS_REWRITABLE (PGKG_KINDS_BACKEND | PGKG_KIND_BIT(PGKG_KIND_ORPHAN))
/* Every cluster process, the postmaster included. */
#define PGKG_KINDS_ANY                                                         \
	(((UINT32_C(1) << PGKG_KIND__COUNT) - 1) & ~PGKG_KIND_BIT(PGKG_KIND_NONE))

/* "client-backend": the name used in policies and `explain`. */
const char *pgkg_kind_name(enum pgkg_kind k);
/* "client backend": the words used in messages. */
const char *pgkg_kind_label(enum pgkg_kind k);
/* Name (kind or set: backend, auxiliary, any) of length n -> bit set, 0 if unknown. */
uint32_t pgkg_kinds_from_name(const char *s, size_t n);
bool pgkg_kind_is_backend(enum pgkg_kind k);
bool pgkg_kind_is_auxiliary(enum pgkg_kind k);

#endif
