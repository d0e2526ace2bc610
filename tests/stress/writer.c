/*
 * writer.c - one client of the kill storm (tests/stress/storm.sh): inserts
 * rows into the ledger, one transaction each, and records every insert the
 * server acknowledged.  When its session is terminated it reconnects and
 * goes on with the next id; an insert whose answer was lost is "unknown"
 * (it may or may not have committed) and is never retried under that id.
 *
 *   writer N DIR SECONDS      connection from the PG* environment
 *
 * Files in DIR (written with write(2), so a line is there once the writer
 * has seen the acknowledgement):
 *   acked.N      one id per acknowledged insert
 *   backend.N    the pid of the current backend (rewritten at each connect)
 * Ids are N * 1000000000 + sequence, so writers never collide.  At the end it
 * prints "writer N: acked A unknown U reconnects R" and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_out(const char *dir, const char *name, int n, int flags)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s.%d", dir, name, n);
	return open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
}

static void put_line(int fd, long long v)
{
	char line[32];
	int len = snprintf(line, sizeof(line), "%lld\n", v);

	if (write(fd, line, (size_t)len) != len) {
		perror("writer: write");
		exit(1);
	}
}

/* Write the backend pid to backend.N, replacing the old one in one rename. */
static void publish_backend(const char *dir, int n, int pid)
{
	char tmp[4096], path[4096];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/backend.%d.tmp", dir, n);
	snprintf(path, sizeof(path), "%s/backend.%d", dir, n);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(tmp);
		exit(1);
	}
	put_line(fd, pid);
	close(fd);
	rename(tmp, path);
}

/* The server's "terminating connection" notices are expected here: quiet. */
static void quiet(void *arg, const char *message)
{
}

static PGconn *connect_until(int n, long long deadline)
{
	char app[64];
	const char *keys[] = {"application_name", "connect_timeout", NULL};
	const char *vals[] = {app, "5", NULL};

	snprintf(app, sizeof(app), "storm-w%d", n);
	while (now_ms() < deadline) {
		PGconn *c = PQconnectdbParams(keys, vals, 1);

		if (PQstatus(c) == CONNECTION_OK) {
			PQsetNoticeProcessor(c, quiet, NULL);
			return c;
		}
		PQfinish(c);
		usleep(20000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long long seq = 0, acked = 0, unknown = 0, reconnects = -1, deadline;
	const char *dir;
	int n, fd;
	PGconn *c = NULL;

	if (argc != 4) {
		fprintf(stderr, "usage: writer N DIR SECONDS\n");
		return 2;
	}
	n = atoi(argv[1]);
	dir = argv[2];
	deadline = now_ms() + atoll(argv[3]) * 1000;
	fd = open_out(dir, "acked", n, O_APPEND);
	if (fd < 0) {
		perror("writer: acked file");
		return 1;
	}
	while (now_ms() < deadline) {
		char id[32], w[16];
		const char *params[] = {id, w};
		PGresult *r;

		if (!c || PQstatus(c) != CONNECTION_OK) {
			PQfinish(c);
			if (!(c = connect_until(n, deadline)))
				break;
			reconnects++;
			publish_backend(dir, n, PQbackendPID(c));
		}
		snprintf(id, sizeof(id), "%lld", (long long)n * 1000000000LL + ++seq);
		snprintf(w, sizeof(w), "%d", n);
		r = PQexecParams(c, "insert into ledger (id, writer) values ($1, $2)", 2, NULL,
				 params, NULL, NULL, 0);
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			put_line(fd, atoll(id));
			acked++;
		} else {
			unknown++;
		}
		PQclear(r);
	}
	PQfinish(c);
	close(fd);
	printf("writer %d: acked %lld unknown %lld reconnects %lld\n", n, acked, unknown,
	       reconnects < 0 ? 0 : reconnects);
	return 0;
}
