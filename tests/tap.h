/*
 * tap.h - a minimal TAP producer for the C unit tests.
 *
 *   plan(N);                 first: prints "1..N" (N computed from the tables
 *                            and fixture files the test walks, counted first)
 *   ok(cond, "name %d", x);  is_int(got, want, "name");  is_str(got, want, "name");
 *   return done_testing();   fails, with a diagnostic, unless exactly N ran
 *
 * The plan is printed before the first test, so a test that stops early, or
 * a loop that skips an entry, shows as "planned N, ran M" (tests/run.sh
 * counts that as a failure), instead of a plan that always matches.
 */
#ifndef PGKG_TAP_H
#define PGKG_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed, tap_planned = -1;

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

static void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static int done_testing(void)
{
	if (tap_planned < 0) {
		diag("no plan(): call plan(N) before the first test");
		printf("1..0 # no plan\n");
		return 1;
	}
	if (tap_n != tap_planned) {
		diag("planned %d tests, ran %d", tap_planned, tap_n);
		return 1;
	}
	return tap_failed ? 1 : 0;
}

#endif
