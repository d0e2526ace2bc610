/*
 * die.c - the command's one family of error helpers: "pgkillguard: ..." on
 * stderr, exit 2 for die().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

/* One line, escaped as a whole (pgkg_buf_put_escaped): whatever an argument
 * holds (a path, a name, a server's words), no control character reaches
 * the terminal. */
PGKG_PRINTF(1, 0) static void vsay(const char *fmt, va_list ap, int err)
{
	char raw[2048], line[4 * sizeof(raw)];
	struct pgkg_buf b;
	int n = vsnprintf(raw, sizeof(raw), fmt, ap);

	pgkg_buf_init(&b, line, sizeof(line) - 1);
	pgkg_buf_puts(&b, "pgkillguard: ");
	pgkg_buf_put_escaped(&b, raw, n < 0 ? 0 : (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1, 0);
	if (err) {
		pgkg_buf_puts(&b, ": ");
		pgkg_buf_puts(&b, strerror(err));
	}
	pgkg_buf_putc(&b, '\n');
	fflush(stdout);
	fputs(line, stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap, 0);
	va_end(ap);
	exit(2);
}

void die_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap, err);
	va_end(ap);
	exit(2);
}

void pgkg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap, 0);
	va_end(ap);
}
