/*
 * fuzz_status.c - pgkg_parse_status() on any bytes (/proc/PID/status; its
 * Name line is chosen by the process).
 * Promises: never reads past size; returns 0; no line is both read and
 * malformed; the counts stay inside their arrays and are 0 unless their
 * line was read; NSpid values are pids (>= 1).
 */
#include <string.h>

#include "fuzz.h"
#include "procfs.h"

static void pgkg_fuzz_status(const char *data, size_t size)
{
	struct pgkg_status st;

	FUZZ_CHECK(pgkg_parse_status(data, size, &st) == 0);
	FUZZ_CHECK((st.have & st.bad) == 0);
	FUZZ_CHECK(st.ngroups >= 0 && st.ngroups <= PGKG_STATUS_MAX_GROUPS);
	FUZZ_CHECK(st.ngroups == 0 || (st.have & PGKG_STATUS_GROUPS));
	FUZZ_CHECK(st.nnspid >= 0 && st.nnspid <= PGKG_STATUS_MAX_NSPID);
	FUZZ_CHECK(!(st.have & PGKG_STATUS_NSPID) || st.nnspid >= 1);
	FUZZ_CHECK(st.nnspid == 0 || (st.have & PGKG_STATUS_NSPID));
	for (int i = 0; i < st.nnspid; i++)
		FUZZ_CHECK(st.nspid[i] >= 1);
	FUZZ_CHECK(!(st.have & PGKG_STATUS_TRACER) || st.tracer >= 0);
	FUZZ_CHECK(!(st.have & PGKG_STATUS_TGID) || st.tgid >= 0);
}

PGKG_FUZZ_ENTRY(pgkg_fuzz_status)
