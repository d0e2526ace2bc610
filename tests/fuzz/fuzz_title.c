/*
 * fuzz_title.c - pgkg_title_parse() on any bytes (a title comes from
 * /proc/PID/cmdline, which any process can set to anything).
 * Promises: never reads past size or the first NUL, always fills every
 * field NUL-terminated, kind in range.
 */
#include <string.h>

#include "fuzz.h"
#include "title.h"

static void pgkg_fuzz_title(const char *data, size_t size)
{
	struct pgkg_title t;

	FUZZ_CHECK(pgkg_title_parse(data, size, &t) == 0);
	FUZZ_CHECK((unsigned)t.kind < PGKG_KIND__COUNT && t.kind != PGKG_KIND_NONE &&
		   t.kind != PGKG_KIND_POSTMASTER);
	FUZZ_TERMINATED(t.cluster_name);
	FUZZ_TERMINATED(t.user);
	FUZZ_TERMINATED(t.db);
	FUZZ_TERMINATED(t.host);
	FUZZ_TERMINATED(t.state);
	FUZZ_TERMINATED(t.detail);
	/* fields are shown to people: no control characters */
	for (const char *f = t.detail; *f; f++)
		FUZZ_CHECK((unsigned char)*f >= 0x20 && *f != 0x7f);
	for (const char *f = t.user; *f; f++)
		FUZZ_CHECK((unsigned char)*f >= 0x20 && *f != 0x7f);
	/* the kind names and labels exist for whatever was found */
	FUZZ_CHECK(pgkg_kind_name(t.kind) != NULL && pgkg_kind_label(t.kind) != NULL);
}

PGKG_FUZZ_ENTRY(pgkg_fuzz_title)
