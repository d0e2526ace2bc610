/*
 * fuzz.h - what the libFuzzer targets in tests/fuzz/ share.
 *
 * Each fuzz_*.c defines one pgkg_fuzz_<name>(data, size) that feeds the input
 * to one parser and checks the parser's promises on the result; a broken
 * promise calls FUZZ_FAIL, which aborts (libFuzzer and ASan report it with
 * the input).  Built two ways:
 *   - with libFuzzer (make fuzz): the file's LLVMFuzzerTestOneInput calls it;
 *   - in tests/unit/test_fuzzcorpus.c (make check), which includes every
 *     fuzz_*.c with PGKG_FUZZ_REPLAY defined and replays the seed corpus and
 *     the regression inputs (tests/fuzz/corpus/NAME, tests/fuzz/regress/NAME).
 */
#ifndef PGKG_FUZZ_H
#define PGKG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_FAIL(what)                                                             \
	do {                                                                        \
		fprintf(stderr, "fuzz: %s:%d: promise broken: %s\n", __FILE__,       \
			__LINE__, (what));                                          \
		abort();                                                            \
	} while (0)

#define FUZZ_CHECK(cond)                                                            \
	do {                                                                        \
		if (!(cond))                                                        \
			FUZZ_FAIL(#cond);                                           \
	} while (0)

/* A fixed-size char field holds a NUL-terminated string. */
#define FUZZ_TERMINATED(field) FUZZ_CHECK(memchr((field), '\0', sizeof(field)) != NULL)

#ifndef PGKG_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#define PGKG_FUZZ_ENTRY(fn)                                                         \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                \
	{                                                                           \
		fn((const char *)data, size);                                       \
		return 0;                                                           \
	}
#else
#define PGKG_FUZZ_ENTRY(fn)
#endif

#endif
