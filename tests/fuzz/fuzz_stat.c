/*
 * fuzz_stat.c - pgkg_parse_stat() on any bytes (/proc/PID/stat; its comm
 * field is chosen by the process and may hold ')', spaces and newlines).
 * Promises: never reads past size; on success pid >= 1, ppid/pgrp/session
 * >= 0, comm NUL-terminated and at most 15 bytes; on failure -EINVAL.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "procfs.h"

static void pgkg_fuzz_stat(const char *data, size_t size)
{
	struct pgkg_procstat st;
	int r = pgkg_parse_stat(data, size, &st);

	FUZZ_CHECK(r == 0 || r == -EINVAL);
	FUZZ_TERMINATED(st.comm);
	if (r == 0) {
		FUZZ_CHECK(st.pid >= 1);
		FUZZ_CHECK(st.ppid >= 0 && st.pgrp >= 0 && st.session >= 0);
		FUZZ_CHECK(strlen(st.comm) <= 15);
	}
}

PGKG_FUZZ_ENTRY(pgkg_fuzz_stat)
