/*
 * tap.h - a minimal TAP producer for the C unit tests.
 *
 *   ok(cond, "name %d", x);  is_int(got, want, "name");  is_str(got, want, "name");
 *   return done_testing();
 */
#ifndef PGKG_TAP_H
#define PGKG_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3))) static int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

#define is_int(got, want, ...)                                                        \
	do {                                                                          \
		long long g_ = (long long)(got), w_ = (long long)(want);              \
		if (!ok(g_ == w_, __VA_ARGS__))                                       \
			printf("#   got %lld, want %lld\n", g_, w_);                  \
	} while (0)

#define is_str(got, want, ...)                                                        \
	do {                                                                          \
		const char *g_ = (got), *w_ = (want);                                 \
		if (!ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__))                \
			printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)",   \
			       w_ ? w_ : "(null)");                                   \
	} while (0)

__attribute__((format(printf, 1, 2))) static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
