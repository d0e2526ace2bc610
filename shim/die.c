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

PGKG_PRINTF(1, 0) static void vsay(const char *fmt, va_list ap, int err)
{
	fputs("pgkillguard: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
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

void warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap, 0);
	va_end(ap);
}
