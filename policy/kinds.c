/*
 * kinds.c - names of the kinds of cluster process.
 */
#include "kinds.h"

#include <string.h>

static const struct {
	const char *name;
	const char *label;
} kinds[PGKG_KIND__COUNT] = {
	[PGKG_KIND_NONE] = {"none", "not a PostgreSQL process"},
	[PGKG_KIND_POSTMASTER] = {"postmaster", "postmaster"},
	[PGKG_KIND_CLIENT_BACKEND] = {"client-backend", "client backend"},
	[PGKG_KIND_WALSENDER] = {"walsender", "walsender"},
	[PGKG_KIND_AUTOVACUUM_WORKER] = {"autovacuum-worker", "autovacuum worker"},
	[PGKG_KIND_AUTOVACUUM_LAUNCHER] = {"autovacuum-launcher", "autovacuum launcher"},
	[PGKG_KIND_PARALLEL_WORKER] = {"parallel-worker", "parallel worker"},
	[PGKG_KIND_LOGICAL_REPLICATION_WORKER] = {"logical-replication-worker",
						  "logical replication worker"},
	[PGKG_KIND_LOGICAL_REPLICATION_LAUNCHER] = {"logical-replication-launcher",
						    "logical replication launcher"},
	[PGKG_KIND_BACKGROUND_WORKER] = {"background-worker", "background worker"},
	[PGKG_KIND_SLOTSYNC_WORKER] = {"slotsync-worker", "slotsync worker"},
	[PGKG_KIND_CHECKPOINTER] = {"checkpointer", "checkpointer"},
	[PGKG_KIND_BACKGROUND_WRITER] = {"background-writer", "background writer"},
	[PGKG_KIND_WALWRITER] = {"walwriter", "walwriter"},
	[PGKG_KIND_STARTUP] = {"startup", "startup process"},
	[PGKG_KIND_WALRECEIVER] = {"walreceiver", "walreceiver"},
	[PGKG_KIND_ARCHIVER] = {"archiver", "archiver"},
	[PGKG_KIND_LOGGER] = {"logger", "logger"},
	[PGKG_KIND_STATS_COLLECTOR] = {"stats-collector", "stats collector"},
	[PGKG_KIND_WALSUMMARIZER] = {"walsummarizer", "walsummarizer"},
	[PGKG_KIND_IO_WORKER] = {"io-worker", "io worker"},
	[PGKG_KIND_UNKNOWN_CHILD] = {"unknown-child", "postmaster child (not yet identified)"},
	[PGKG_KIND_ORPHAN] = {"orphan", "orphaned server process"},
};

const char *pgkg_kind_name(enum pgkg_kind k)
{
	return (unsigned)k < PGKG_KIND__COUNT ? kinds[k].name : "none";
}

const char *pgkg_kind_label(enum pgkg_kind k)
{
	return (unsigned)k < PGKG_KIND__COUNT ? kinds[k].label : kinds[0].label;
}

static bool word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(s, w, n) == 0;
}

uint32_t pgkg_kinds_from_name(const char *s, size_t n)
{
	if (word_is(s, n, "backend"))
		return PGKG_KINDS_BACKEND;
	if (word_is(s, n, "auxiliary"))
		return PGKG_KINDS_AUXILIARY;
	if (word_is(s, n, "any"))
		return PGKG_KINDS_ANY;
	for (unsigned k = PGKG_KIND_NONE + 1; k < PGKG_KIND__COUNT; k++) {
		if (word_is(s, n, kinds[k].name))
			return PGKG_KIND_BIT(k);
	}
	return 0;
}

bool pgkg_kind_is_backend(enum pgkg_kind k)
{
	return (unsigned)k < PGKG_KIND__COUNT && (PGKG_KINDS_BACKEND & PGKG_KIND_BIT(k));
}

bool pgkg_kind_is_auxiliary(enum pgkg_kind k)
{
	return (unsigned)k < PGKG_KIND__COUNT && (PGKG_KINDS_AUXILIARY & PGKG_KIND_BIT(k));
}
