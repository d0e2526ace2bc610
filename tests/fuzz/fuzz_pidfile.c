/*
 * fuzz_pidfile.c - pgkg_parse_pidfile() on any bytes (postmaster.pid lives
 * in the data directory, which its owner can write).
 * Promises: never reads past size; on success line 1 is a non-zero pid in
 * int range, the port 0..65535, every string NUL-terminated; on failure
 * -EINVAL.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "fuzz.h"
#include "procfs.h"

static void pgkg_fuzz_pidfile(const char *data, size_t size)
{
	static struct pgkg_pidfile pf;
	int r = pgkg_parse_pidfile(data, size, &pf);

	FUZZ_CHECK(r == 0 || r == -EINVAL);
	FUZZ_TERMINATED(pf.datadir);
	FUZZ_TERMINATED(pf.sockdir);
	FUZZ_TERMINATED(pf.listen);
	FUZZ_TERMINATED(pf.status);
	if (r == 0) {
		FUZZ_CHECK(pf.pid != 0 && pf.pid >= -INT_MAX && pf.pid <= INT_MAX);
		FUZZ_CHECK(pf.port >= 0 && pf.port <= 65535);
		FUZZ_CHECK(pf.start_time >= 0);
	}
}

PGKG_FUZZ_ENTRY(pgkg_fuzz_pidfile)
