/*
 * title.c - what a PostgreSQL process title says about the process.
 *
 * Rules for this file:
 *  1. MUST NOT allocate, use stdio or touch locale: it runs inside kill().
 *  2. MUST NOT read past len or the first NUL of the title.
 *  3. MUST test the client-backend shape ("USER DB HOST ...") before the
 *     fixed auxiliary words: a role may be called "checkpointer".
 *
 * Forms (PG-FACTS "Process titles"), after "postgres: " / "kingbase: " and
 * an optional "CLUSTER_NAME: ":
 *   USER DB HOST [STATE]                    client backend (HOST: [local], x(port))
 *   walsender USER [DB] HOST [STATE]        11+ (DB for logical walsenders, 16+)
 *   wal sender process USER HOST [STATE]    9.6 / 10
 *   fixed words [activity]                  auxiliary processes (table below)
 *   bgworker: NAME                          9.6 / 10 background workers
 *   NAME                                    11+ background workers
 * Up to 12 the fixed part ends in three spaces; trailing spaces are ignored.
 */
#include "title.h"

#include <string.h>

#include "util.h"

#define CLUSTER_NAME_MAX 63	/* NAMEDATALEN - 1 */

struct span {
	const char *p;
	size_t n;
};

static const char *const server_prefixes[] = {"postgres: ", "kingbase: ", NULL};

/* Auxiliary titles.  "X process" forms (<= 10/12) come before "X" so that the
 * longer one wins; `activity` says whether words may follow. */
static const struct {
	const char *words;
	enum pgkg_kind kind;
	bool activity;
} aux_titles[] = {
	{"checkpointer process", PGKG_KIND_CHECKPOINTER, false},
	{"checkpointer", PGKG_KIND_CHECKPOINTER, false},
	{"writer process", PGKG_KIND_BACKGROUND_WRITER, false},
	{"background writer", PGKG_KIND_BACKGROUND_WRITER, false},
	{"wal writer process", PGKG_KIND_WALWRITER, false},
	{"walwriter", PGKG_KIND_WALWRITER, false},
	{"autovacuum launcher process", PGKG_KIND_AUTOVACUUM_LAUNCHER, false},
	{"autovacuum launcher", PGKG_KIND_AUTOVACUUM_LAUNCHER, false},
	{"autovacuum worker process", PGKG_KIND_AUTOVACUUM_WORKER, true},
	{"autovacuum worker", PGKG_KIND_AUTOVACUUM_WORKER, true},
	{"stats collector process", PGKG_KIND_STATS_COLLECTOR, false},
	{"stats collector", PGKG_KIND_STATS_COLLECTOR, false},
	{"logger process", PGKG_KIND_LOGGER, false},
	{"logger", PGKG_KIND_LOGGER, false},
	{"archiver process", PGKG_KIND_ARCHIVER, true},
	{"archiver", PGKG_KIND_ARCHIVER, true},
	{"startup process", PGKG_KIND_STARTUP, true},
	{"startup", PGKG_KIND_STARTUP, true},
	{"wal receiver process", PGKG_KIND_WALRECEIVER, true},
	{"walreceiver", PGKG_KIND_WALRECEIVER, true},
	{"walsummarizer", PGKG_KIND_WALSUMMARIZER, true},
	{"slotsync worker", PGKG_KIND_SLOTSYNC_WORKER, true},
	{"io worker", PGKG_KIND_IO_WORKER, true},
};

/* ---- spans ---- */

static struct span span_from(const char *p, size_t n)
{
	struct span s = {p, n};
	return s;
}

static void span_trim(struct span *s)
{
	while (s->n && s->p[0] == ' ') {
		s->p++;
		s->n--;
	}
	while (s->n && s->p[s->n - 1] == ' ')
		s->n--;
}

static bool span_eq(struct span s, const char *w)
{
	size_t n = strlen(w);
	return s.n == n && memcmp(s.p, w, n) == 0;
}

static bool span_starts(struct span s, const char *w)
{
	size_t n = strlen(w);
	return s.n >= n && memcmp(s.p, w, n) == 0;
}

/* s without its first n bytes, leading spaces skipped. */
static struct span span_after(struct span s, size_t n)
{
	struct span r = span_from(s.p + n, s.n - n);
	span_trim(&r);
	return r;
}

/* The next space-separated token at or after *pos; false at the end. */
static bool next_token(struct span s, size_t *pos, struct span *tok)
{
	size_t i = *pos, start;

	while (i < s.n && s.p[i] == ' ')
		i++;
	if (i == s.n)
		return false;
	start = i;
	while (i < s.n && s.p[i] != ' ')
		i++;
	*tok = span_from(s.p + start, i - start);
	*pos = i;
	return true;
}

/* Copy into a title field, control characters replaced, truncated. */
static void put_field(char *dst, size_t cap, struct span s)
{
	size_t n = s.n < cap - 1 ? s.n : cap - 1;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	dst[n] = '\0';
}

#define PUT(field, s) put_field((field), sizeof(field), (s))

/* ---- client backends and walsenders ---- */

/* "[local]", or a host or address followed by "(PORT)". */
static bool is_host_token(struct span t)
{
	size_t open;
	long long port;

	if (span_eq(t, "[local]"))
		return true;
	if (t.n < 4 || t.p[t.n - 1] != ')')
		return false;
	for (open = t.n - 1; open > 0 && t.p[open] != '('; open--)
		;
	if (open == 0)
		return false;
	return pgkg_parse_ll(t.p + open + 1, t.n - open - 2, 1, 65535, &port) == 0;
}

/* The first host-shaped token with at least two tokens before it. */
static bool find_host(struct span s, struct span *host)
{
	size_t pos = 0;
	struct span tok;

	for (int idx = 0; next_token(s, &pos, &tok); idx++) {
		if (idx >= 2 && is_host_token(tok)) {
			*host = tok;
			return true;
		}
	}
	return false;
}

/* First token of s into a, the rest into b. */
static void split_first(struct span s, struct span *a, struct span *b)
{
	size_t pos = 0;

	if (!next_token(s, &pos, a))
		*a = span_from(s.p, 0);
	*b = span_after(s, pos);
}

static bool parse_connection(struct span s, struct pgkg_title *out)
{
	struct span host, lead, user, db = span_from(s.p, 0);

	if (!find_host(s, &host))
		return false;
	lead = span_from(s.p, (size_t)(host.p - s.p));
	span_trim(&lead);
	if (span_starts(lead, "wal sender process ")) {
		out->kind = PGKG_KIND_WALSENDER;
		user = span_after(lead, strlen("wal sender process "));
	} else if (span_starts(lead, "walsender ")) {
		out->kind = PGKG_KIND_WALSENDER;
		split_first(span_after(lead, strlen("walsender ")), &user, &db);
	} else {
		out->kind = PGKG_KIND_CLIENT_BACKEND;
		split_first(lead, &user, &db);
	}
	PUT(out->user, user);
	PUT(out->db, db);
	PUT(out->host, host);
	PUT(out->state, span_after(s, (size_t)(host.p + host.n - s.p)));
	return true;
}

/* ---- auxiliary processes and background workers ---- */

static bool parse_auxiliary(struct span s, struct pgkg_title *out)
{
	for (size_t i = 0; i < sizeof(aux_titles) / sizeof(aux_titles[0]); i++) {
		size_t n = strlen(aux_titles[i].words);

		if (!span_starts(s, aux_titles[i].words))
			continue;
		if (s.n > n && !(aux_titles[i].activity && s.p[n] == ' '))
			continue;
		out->kind = aux_titles[i].kind;
		PUT(out->detail, span_after(s, n));
		return true;
	}
	return false;
}

static bool contains(struct span s, const char *w)
{
	size_t n = strlen(w);

	for (size_t i = 0; i + n <= s.n; i++) {
		if (memcmp(s.p + i, w, n) == 0)
			return true;
	}
	return false;
}

/* Background workers PostgreSQL itself starts (bgw_name). */
static bool parse_builtin_worker(struct span s, struct pgkg_title *out)
{
	static const char lr[] = "logical replication ";

	if (span_starts(s, "parallel worker for PID ")) {
		out->kind = PGKG_KIND_PARALLEL_WORKER;
		PUT(out->detail, span_after(s, strlen("parallel worker ")));
		return true;
	}
	if (span_eq(s, "logical replication launcher")) {
		out->kind = PGKG_KIND_LOGICAL_REPLICATION_LAUNCHER;
		return true;
	}
	if (span_starts(s, lr) && contains(s, "worker for subscription ")) {
		out->kind = PGKG_KIND_LOGICAL_REPLICATION_WORKER;
		PUT(out->detail, span_after(s, strlen(lr)));
		return true;
	}
	return false;
}

/* 9.6 / 10: "bgworker: NAME"; any NAME is a background worker. */
static bool parse_bgworker(struct span s, struct pgkg_title *out)
{
	if (!span_starts(s, "bgworker: "))
		return false;
	s = span_after(s, strlen("bgworker: "));
	if (parse_builtin_worker(s, out))
		return true;
	out->kind = PGKG_KIND_BACKGROUND_WORKER;
	PUT(out->detail, s);
	return true;
}

/* The title after prefix and cluster name; false if no known form matches. */
static bool parse_body(struct span s, struct pgkg_title *out)
{
	return parse_connection(s, out) || parse_auxiliary(s, out) ||
	       parse_bgworker(s, out) || parse_builtin_worker(s, out);
}

/* "NAME: rest" with a plausible cluster_name NAME. */
static bool split_cluster(struct span s, struct span *name, struct span *rest)
{
	for (size_t i = 1; i + 1 < s.n && i <= CLUSTER_NAME_MAX; i++) {
		if (s.p[i] != ':' || s.p[i + 1] != ' ')
			continue;
		*name = span_from(s.p, i);
		*rest = span_after(s, i + 2);
		return rest->n > 0 && !span_eq(*name, "bgworker");
	}
	return false;
}

static bool has_space(struct span s)
{
	return memchr(s.p, ' ', s.n) != NULL;
}

static void parse_rest(struct span s, struct pgkg_title *out)
{
	struct span name, body;
	bool cluster = split_cluster(s, &name, &body);

	if (cluster && parse_body(body, out)) {
		PUT(out->cluster_name, name);
		return;
	}
	if (parse_body(s, out))
		return;
	/* A custom background worker: its title is its name. */
	out->kind = PGKG_KIND_BACKGROUND_WORKER;
	if (cluster && !has_space(name)) {
		PUT(out->cluster_name, name);
		s = body;
	}
	PUT(out->detail, s);
}

static bool strip_server_prefix(struct span *s)
{
	for (size_t i = 0; server_prefixes[i]; i++) {
		if (span_starts(*s, server_prefixes[i])) {
			*s = span_after(*s, strlen(server_prefixes[i]));
			return true;
		}
	}
	return false;
}

int pgkg_title_parse(const char *title, size_t len, struct pgkg_title *out)
{
	struct span s = span_from(title, 0);

	memset(out, 0, sizeof(*out));
	out->kind = PGKG_KIND_UNKNOWN_CHILD;
	if (!title)
		return 0;
	while (s.n < len && title[s.n])
		s.n++;
	if (!strip_server_prefix(&s) || s.n == 0)
		return 0;
	parse_rest(s, out);
	return 0;
}
