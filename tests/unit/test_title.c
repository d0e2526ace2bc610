/*
 * test_title.c - pgkg_title_parse() on every title form of PostgreSQL 9.6 to 18.
 *
 * Each row is a title as /proc/PID/cmdline shows it (up to the first NUL)
 * and every field expected; a NULL field means "".
 */
#include <string.h>

#include "tap.h"
#include "title.h"

struct row {
	const char *title;
	enum pgkg_kind kind;
	const char *cluster, *user, *db, *host, *state, *detail;
};

#define CB PGKG_KIND_CLIENT_BACKEND
#define WS PGKG_KIND_WALSENDER
#define BGW PGKG_KIND_BACKGROUND_WORKER
#define UNK PGKG_KIND_UNKNOWN_CHILD

static const struct row rows[] = {
	/* ---- client backends, all versions ---- */
	{"postgres: app prod [local] idle", CB, NULL, "app", "prod", "[local]", "idle", NULL},
	{"postgres: app prod 10.1.2.3(51234) SELECT", CB, NULL, "app", "prod", "10.1.2.3(51234)", "SELECT", NULL},
	{"postgres: app prod ::1(40000) idle in transaction", CB, NULL, "app", "prod", "::1(40000)", "idle in transaction", NULL},
	{"postgres: app prod fe80::1%eth0(5432) idle in transaction (aborted)", CB, NULL, "app", "prod", "fe80::1%eth0(5432)", "idle in transaction (aborted)", NULL},
	{"postgres: app prod client.example.com(40000) UPDATE waiting", CB, NULL, "app", "prod", "client.example.com(40000)", "UPDATE waiting", NULL},
	{"postgres: app prod [local] authentication", CB, NULL, "app", "prod", "[local]", "authentication", NULL},	/* <= 12 */
	{"postgres: app prod [local] initializing", CB, NULL, "app", "prod", "[local]", "initializing", NULL},	/* 13+ */
	{"postgres: app prod [local] fastpath function call", CB, NULL, "app", "prod", "[local]", "fastpath function call", NULL},
	/* update_process_title=off: fixed part only, trailing space */
	{"postgres: app prod [local] ", CB, NULL, "app", "prod", "[local]", NULL, NULL},
	{"postgres: app prod 10.0.0.5(5000)", CB, NULL, "app", "prod", "10.0.0.5(5000)", NULL, NULL},
	/* cluster_name (Debian sets 15/main) */
	{"postgres: 15/main: app prod [local] idle", CB, "15/main", "app", "prod", "[local]", "idle", NULL},
	{"postgres: 15/main: app prod [local] ", CB, "15/main", "app", "prod", "[local]", NULL, NULL},
	{"postgres: my cluster: app prod [local] idle", CB, "my cluster", "app", "prod", "[local]", "idle", NULL},
	/* ---- the trap: roles named like auxiliary processes ---- */
	{"postgres: checkpointer postgres [local] idle", CB, NULL, "checkpointer", "postgres", "[local]", "idle", NULL},
	{"postgres: 15/scratch: checkpointer postgres [local] SELECT", CB, "15/scratch", "checkpointer", "postgres", "[local]", "SELECT", NULL},
	{"postgres: walwriter postgres 127.0.0.1(41848) idle in transaction", CB, NULL, "walwriter", "postgres", "127.0.0.1(41848)", "idle in transaction", NULL},
	{"postgres: logger logs [local] INSERT", CB, NULL, "logger", "logs", "[local]", "INSERT", NULL},
	{"postgres: archiver db1 10.0.0.9(6000) idle", CB, NULL, "archiver", "db1", "10.0.0.9(6000)", "idle", NULL},
	{"postgres: startup recovering [local] idle", CB, NULL, "startup", "recovering", "[local]", "idle", NULL},
	{"postgres: autovacuum worker [local] idle", CB, NULL, "autovacuum", "worker", "[local]", "idle", NULL},
	{"postgres: background writer [local] ", CB, NULL, "background", "writer", "[local]", NULL, NULL},
	/* [local] needs USER and DB before it: this is a 9.6 worker named "[local] idle" */
	{"postgres: bgworker: [local] idle", BGW, .detail = "[local] idle"},
	/* ---- walsenders ---- */
	{"postgres: wal sender process rep 10.0.0.2(5432) streaming 0/3000060", WS, NULL, "rep", NULL, "10.0.0.2(5432)", "streaming 0/3000060", NULL},	/* 9.6/10 */
	{"postgres: wal sender process rep [local] ", WS, NULL, "rep", NULL, "[local]", NULL, NULL},
	{"postgres: main: wal sender process rep 10.0.0.2(5432) idle", WS, "main", "rep", NULL, "10.0.0.2(5432)", "idle", NULL},
	{"postgres: walsender rep 10.0.0.2(5432) streaming 0/3000060", WS, NULL, "rep", NULL, "10.0.0.2(5432)", "streaming 0/3000060", NULL},	/* 11+ */
	{"postgres: 15/scratch: walsender pgkgscratch [local] START_REPLICATION", WS, "15/scratch", "pgkgscratch", NULL, "[local]", "START_REPLICATION", NULL},
	{"postgres: walsender rep shop 10.0.0.2(5432) START_REPLICATION", WS, NULL, "rep", "shop", "10.0.0.2(5432)", "START_REPLICATION", NULL},	/* 16+ logical */
	{"postgres: walsender rep 10.0.0.2(5432)", WS, NULL, "rep", NULL, "10.0.0.2(5432)", NULL, NULL},
	/* ---- auxiliary: 9.6 - 12 forms (three trailing spaces) ---- */
	{"postgres: checkpointer process   ", PGKG_KIND_CHECKPOINTER, .detail = NULL},
	{"postgres: writer process   ", PGKG_KIND_BACKGROUND_WRITER, .detail = NULL},
	{"postgres: wal writer process   ", PGKG_KIND_WALWRITER, .detail = NULL},
	{"postgres: autovacuum launcher process   ", PGKG_KIND_AUTOVACUUM_LAUNCHER, .detail = NULL},
	{"postgres: autovacuum worker process   mydb", PGKG_KIND_AUTOVACUUM_WORKER, .detail = "mydb"},
	{"postgres: autovacuum worker process   ", PGKG_KIND_AUTOVACUUM_WORKER, .detail = NULL},
	{"postgres: stats collector process   ", PGKG_KIND_STATS_COLLECTOR, .detail = NULL},
	{"postgres: logger process   ", PGKG_KIND_LOGGER, .detail = NULL},
	{"postgres: archiver process   last was 00000001000000000000000A", PGKG_KIND_ARCHIVER, .detail = "last was 00000001000000000000000A"},
	{"postgres: archiver process   failed on 00000001000000000000000B", PGKG_KIND_ARCHIVER, .detail = "failed on 00000001000000000000000B"},
	{"postgres: startup process   recovering 000000010000000000000003", PGKG_KIND_STARTUP, .detail = "recovering 000000010000000000000003"},
	{"postgres: startup process   waiting for 000000010000000000000004", PGKG_KIND_STARTUP, .detail = "waiting for 000000010000000000000004"},
	{"postgres: wal receiver process   streaming 0/3000148", PGKG_KIND_WALRECEIVER, .detail = "streaming 0/3000148"},
	{"postgres: main: checkpointer process   ", PGKG_KIND_CHECKPOINTER, "main", .detail = NULL},
	/* 11 / 12: new words, still three trailing spaces */
	{"postgres: checkpointer   ", PGKG_KIND_CHECKPOINTER, .detail = NULL},
	{"postgres: background writer   ", PGKG_KIND_BACKGROUND_WRITER, .detail = NULL},
	{"postgres: walwriter   ", PGKG_KIND_WALWRITER, .detail = NULL},
	{"postgres: autovacuum worker   mydb", PGKG_KIND_AUTOVACUUM_WORKER, .detail = "mydb"},
	{"postgres: logical replication launcher   ", PGKG_KIND_LOGICAL_REPLICATION_LAUNCHER, .detail = NULL},
	/* ---- auxiliary: 13+ forms ---- */
	{"postgres: checkpointer ", PGKG_KIND_CHECKPOINTER, .detail = NULL},
	{"postgres: checkpointer", PGKG_KIND_CHECKPOINTER, .detail = NULL},
	{"postgres: background writer", PGKG_KIND_BACKGROUND_WRITER, .detail = NULL},
	{"postgres: walwriter ", PGKG_KIND_WALWRITER, .detail = NULL},
	{"postgres: autovacuum launcher", PGKG_KIND_AUTOVACUUM_LAUNCHER, .detail = NULL},
	{"postgres: autovacuum worker mydb", PGKG_KIND_AUTOVACUUM_WORKER, .detail = "mydb"},
	{"postgres: autovacuum worker", PGKG_KIND_AUTOVACUUM_WORKER, .detail = NULL},
	{"postgres: stats collector ", PGKG_KIND_STATS_COLLECTOR, .detail = NULL},	/* 13, 14 */
	{"postgres: logger ", PGKG_KIND_LOGGER, .detail = NULL},
	{"postgres: archiver last was 000000010000000000000001", PGKG_KIND_ARCHIVER, .detail = "last was 000000010000000000000001"},
	{"postgres: archiver ", PGKG_KIND_ARCHIVER, .detail = NULL},
	{"postgres: startup recovering 000000010000000000000003", PGKG_KIND_STARTUP, .detail = "recovering 000000010000000000000003"},
	{"postgres: startup", PGKG_KIND_STARTUP, .detail = NULL},
	{"postgres: walreceiver streaming 0/3000148", PGKG_KIND_WALRECEIVER, .detail = "streaming 0/3000148"},
	{"postgres: walreceiver", PGKG_KIND_WALRECEIVER, .detail = NULL},
	{"postgres: walsummarizer", PGKG_KIND_WALSUMMARIZER, .detail = NULL},	/* 17 */
	{"postgres: slotsync worker", PGKG_KIND_SLOTSYNC_WORKER, .detail = NULL},	/* 17 */
	{"postgres: io worker 0", PGKG_KIND_IO_WORKER, .detail = "0"},	/* 18 */
	{"postgres: io worker 12", PGKG_KIND_IO_WORKER, .detail = "12"},
	{"postgres: io worker", PGKG_KIND_IO_WORKER, .detail = NULL},
	{"postgres: 15/main: checkpointer ", PGKG_KIND_CHECKPOINTER, "15/main", .detail = NULL},
	{"postgres: 18/main: io worker 2", PGKG_KIND_IO_WORKER, "18/main", .detail = "2"},
	{"postgres: 13/main: autovacuum worker mydb", PGKG_KIND_AUTOVACUUM_WORKER, "13/main", .detail = "mydb"},
	/* ---- background workers: 9.6 / 10 "bgworker: NAME" ---- */
	{"postgres: bgworker: parallel worker for PID 1234   ", PGKG_KIND_PARALLEL_WORKER, .detail = "for PID 1234"},
	{"postgres: bgworker: logical replication launcher   ", PGKG_KIND_LOGICAL_REPLICATION_LAUNCHER, .detail = NULL},
	{"postgres: bgworker: logical replication worker for subscription 16385   ", PGKG_KIND_LOGICAL_REPLICATION_WORKER, .detail = "worker for subscription 16385"},
	{"postgres: bgworker: logical replication worker for subscription 16385 sync 16390   ", PGKG_KIND_LOGICAL_REPLICATION_WORKER, .detail = "worker for subscription 16385 sync 16390"},
	{"postgres: bgworker: pg_cron scheduler   ", BGW, .detail = "pg_cron scheduler"},
	{"postgres: main: bgworker: parallel worker for PID 77   ", PGKG_KIND_PARALLEL_WORKER, "main", .detail = "for PID 77"},
	{"postgres: main: bgworker: my worker   ", BGW, "main", .detail = "my worker"},
	/* ---- background workers: 11+ bare name ---- */
	{"postgres: parallel worker for PID 1234", PGKG_KIND_PARALLEL_WORKER, .detail = "for PID 1234"},
	{"postgres: parallel worker for PID 1234   ", PGKG_KIND_PARALLEL_WORKER, .detail = "for PID 1234"},
	{"postgres: logical replication launcher ", PGKG_KIND_LOGICAL_REPLICATION_LAUNCHER, .detail = NULL},
	{"postgres: logical replication worker for subscription 16385", PGKG_KIND_LOGICAL_REPLICATION_WORKER, .detail = "worker for subscription 16385"},
	{"postgres: logical replication apply worker for subscription 16385", PGKG_KIND_LOGICAL_REPLICATION_WORKER, .detail = "apply worker for subscription 16385"},	/* 16+ */
	{"postgres: logical replication parallel apply worker for subscription 16385", PGKG_KIND_LOGICAL_REPLICATION_WORKER, .detail = "parallel apply worker for subscription 16385"},	/* 16+ */
	{"postgres: logical replication tablesync worker for subscription 16385 sync 16390", PGKG_KIND_LOGICAL_REPLICATION_WORKER, .detail = "tablesync worker for subscription 16385 sync 16390"},	/* 17+ */
	{"postgres: 16/main: logical replication apply worker for subscription 5", PGKG_KIND_LOGICAL_REPLICATION_WORKER, "16/main", .detail = "apply worker for subscription 5"},
	{"postgres: pg_cron launcher", BGW, .detail = "pg_cron launcher"},
	{"postgres: TimescaleDB Background Worker Scheduler", BGW, .detail = "TimescaleDB Background Worker Scheduler"},
	{"postgres: autoprewarm leader   ", BGW, .detail = "autoprewarm leader"},
	{"postgres: 15/main: pg_cron launcher", BGW, "15/main", .detail = "pg_cron launcher"},
	{"postgres: pg_partman_bgw: maintenance", BGW, "pg_partman_bgw", .detail = "maintenance"},
	{"postgres: Timescale Job: 1000", BGW, .detail = "Timescale Job: 1000"},
	/* fixed words with something unknown after them are not auxiliary */
	{"postgres: checkpointer extra", BGW, .detail = "checkpointer extra"},
	{"postgres: logger of things", BGW, .detail = "logger of things"},
	/* ---- KingbaseES ---- */
	{"kingbase: checkpointer   ", PGKG_KIND_CHECKPOINTER, .detail = NULL},
	{"kingbase: system test 127.0.0.1(54321) idle", CB, NULL, "system", "test", "127.0.0.1(54321)", "idle", NULL},
	{"kingbase: V8/main: walwriter", PGKG_KIND_WALWRITER, "V8/main", .detail = NULL},
	/* ---- not (yet) a server title: the postmaster's argv ---- */
	{"/usr/lib/postgresql/15/bin/postgres", UNK, .detail = NULL},
	{"/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main", UNK, .detail = NULL},
	{"postgres", UNK, .detail = NULL},
	{"postgres:", UNK, .detail = NULL},
	{"postgres: ", UNK, .detail = NULL},
	{"postgres:    ", UNK, .detail = NULL},
	{"postgres:checkpointer", UNK, .detail = NULL},
	{"POSTGRES: checkpointer", UNK, .detail = NULL},
	{"edb-postgres: checkpointer", UNK, .detail = NULL},
	{"", UNK, .detail = NULL},
	{" postgres: checkpointer", UNK, .detail = NULL},
};

static const char *nz(const char *s)
{
	return s ? s : "";
}

static void check_row(const struct row *r)
{
	struct pgkg_title t;

	memset(&t, 0x55, sizeof(t));	/* parse must fill everything */
	is_int(pgkg_title_parse(r->title, strlen(r->title), &t), 0, "parse returns 0: %s", r->title);
	is_str(pgkg_kind_name(t.kind), pgkg_kind_name(r->kind), "kind   '%s'", r->title);
	if (t.kind != r->kind)
		diag("wrong kind: the other fields below say how it was read");
	is_str(t.cluster_name, nz(r->cluster), "cluster '%s'", r->title);
	is_str(t.user, nz(r->user), "user   '%s'", r->title);
	is_str(t.db, nz(r->db), "db     '%s'", r->title);
	is_str(t.host, nz(r->host), "host   '%s'", r->title);
	is_str(t.state, nz(r->state), "state  '%s'", r->title);
	is_str(t.detail, nz(r->detail), "detail '%s'", r->title);
}

/* len and NULs bound the parse: cmdline pads the title with NULs. */
static void test_bounds(void)
{
	static const char padded[] = "postgres: checkpointer \0\0\0\0-D\0/data";
	static const char cut[] = "postgres: checkpointer postgres [local] idle";
	struct pgkg_title t;

	pgkg_title_parse(padded, sizeof(padded) - 1, &t);
	is_int(t.kind, PGKG_KIND_CHECKPOINTER, "title stops at the first NUL");
	pgkg_title_parse(cut, strlen("postgres: checkpointer"), &t);
	is_int(t.kind, PGKG_KIND_CHECKPOINTER, "title stops at len (no read past it)");
	pgkg_title_parse(cut, 5, &t);
	is_int(t.kind, PGKG_KIND_UNKNOWN_CHILD, "prefix cut by len is no server title");
	pgkg_title_parse(NULL, 10, &t);
	is_int(t.kind, PGKG_KIND_UNKNOWN_CHILD, "NULL title");
	pgkg_title_parse(cut, 0, &t);
	is_int(t.kind, PGKG_KIND_UNKNOWN_CHILD, "zero length");
}

/* Fields longer than 63 bytes are cut, control characters replaced. */
static void test_long_and_garbage(void)
{
	char big[8192], user[200];
	struct pgkg_title t;
	size_t n;

	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	n = (size_t)snprintf(big, sizeof(big), "postgres: %s db [local] idle", user);
	pgkg_title_parse(big, n, &t);
	is_int(t.kind, PGKG_KIND_CLIENT_BACKEND, "very long user: still a client backend");
	is_int((long long)strlen(t.user), 63, "user cut to 63 bytes");
	is_str(t.db, "db", "db after a long user");

	memset(big, 'x', sizeof(big));
	memcpy(big, "postgres: ", 10);
	pgkg_title_parse(big, sizeof(big), &t);
	is_int(t.kind, PGKG_KIND_BACKGROUND_WORKER, "8 KiB of garbage after the prefix: a worker name");
	is_int((long long)strlen(t.detail), 63, "detail cut to 63 bytes");

	memset(big, ' ', sizeof(big));
	memcpy(big, "postgres: ", 10);
	pgkg_title_parse(big, sizeof(big), &t);
	is_int(t.kind, PGKG_KIND_UNKNOWN_CHILD, "prefix then only spaces");

	memset(big, ':', sizeof(big));
	memcpy(big, "postgres: ", 10);
	pgkg_title_parse(big, sizeof(big), &t);
	is_int(t.kind, PGKG_KIND_BACKGROUND_WORKER, "prefix then colons");

	pgkg_title_parse("postgres: a\tb c\x01 [local] idle\x7f", 30, &t);
	is_int(t.kind, PGKG_KIND_CLIENT_BACKEND, "control characters: client backend");
	is_str(t.user, "a?b", "tab replaced in user");
	is_str(t.db, "c?", "control char replaced in db");
	is_str(t.state, "idle?", "DEL replaced in state");

	pgkg_title_parse("postgres: a b c(99999) idle", 27, &t);
	is_int(t.kind, PGKG_KIND_BACKGROUND_WORKER, "port out of range is no host token");
	pgkg_title_parse("postgres: a b (5432) idle", 25, &t);
	is_int(t.kind, PGKG_KIND_BACKGROUND_WORKER, "(port) without a host is no host token");
	pgkg_title_parse("postgres: a b h() idle", 22, &t);
	is_int(t.kind, PGKG_KIND_BACKGROUND_WORKER, "empty port is no host token");
}

/* Pseudo-random titles made of title words: no crash, kind always valid. */
static void test_fuzz(void)
{
	static const char *const words[] = {
		"postgres:", "kingbase:", "checkpointer", "process", "[local]", "x(5432)",
		"walsender", "wal", "sender", "bgworker:", "15/main:", ":", " ", "", "idle",
		"logical", "replication", "worker", "for", "subscription", "(", ")", "io",
	};
	unsigned seed = 12345, bad = 0;
	char buf[512];
	struct pgkg_title t;

	for (int i = 0; i < 20000; i++) {
		size_t n = 0;
		int nw = (int)(seed % 9);
		for (int w = 0; w < nw; w++) {
			const char *s;
			seed = seed * 1103515245u + 12345u;
			s = words[(seed >> 16) % (sizeof(words) / sizeof(words[0]))];
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", w ? " " : "", s);
		}
		seed = seed * 1103515245u + 12345u;
		pgkg_title_parse(buf, n, &t);
		if ((unsigned)t.kind >= PGKG_KIND__COUNT || t.kind == PGKG_KIND_NONE ||
		    t.kind == PGKG_KIND_POSTMASTER || strlen(t.detail) > 63)
			bad++;
	}
	is_int(bad, 0, "20000 random titles: valid kind every time");
}

int main(void)
{
	/* 8 per row, test_bounds 5, test_long_and_garbage 14, test_fuzz 1 */
	plan((int)(sizeof(rows) / sizeof(rows[0])) * 8 + 5 + 14 + 1);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(&rows[i]);
	test_bounds();
	test_long_and_garbage();
	test_fuzz();
	return done_testing();
}
