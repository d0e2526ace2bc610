/*
 * title.h - what a PostgreSQL process title says about the process.
 *
 * Pure functions: no I/O, no allocation (async-signal-safe).
 */
#ifndef PGKG_TITLE_H
#define PGKG_TITLE_H

#include <stddef.h>

#include "kinds.h"

struct pgkg_title {
	enum pgkg_kind kind;	/* PGKG_KIND_UNKNOWN_CHILD when not a server title */
	char cluster_name[64];	/* "15/main" when cluster_name is set, else "" */
	/* client backend / walsender: "app", "prod", "[local]", "idle" (may be "") */
	char user[64];
	char db[64];
	char host[64];
	char state[64];
	/* other kinds: the rest of the title ("for PID 123", "mydb", ...) or "" */
	char detail[64];
};

/*
 * Parse the title as read from /proc/PID/cmdline (up to the first NUL).
 * Handles every form of PostgreSQL 9.6 to 18 (with or without cluster_name,
 * update_process_title=off, the "kingbase: " prefix).  A title that does
 * not start with a server prefix gives PGKG_KIND_UNKNOWN_CHILD.
 * Always fills *out; returns 0.
 */
int pgkg_title_parse(const char *title, size_t len, struct pgkg_title *out);

#endif
