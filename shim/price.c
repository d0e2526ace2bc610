/*
 * price.c - the price of a real kill (issue 12): would a fatal signal make
 * the postmaster crash-restart the cluster, and how many sessions it drops.
 *
 * Rules (see also guard.h):
 *  1. MUST NOT allocate, lock or use stdio (runs inside kill()).
 *  2. MUST say "every other session" when it cannot count, never a guess.
 */
#include "guard.h"

#include "say.h"

bool pgkg_guard_crashes_cluster(const struct pgkg_target *t, int sig)
{
	if (sig < 1 || sig > 64 || !(pgkg_sigset_fatal() & PGKG_SIGBIT(sig)))
		return false;
	if (pgkg_streq(t->cluster.pf.status, "stopping"))
		return false;	/* a postmaster shutting down does not restart */
	return t->kind != PGKG_KIND_NONE && t->kind != PGKG_KIND_POSTMASTER &&
	       t->kind != PGKG_KIND_LOGGER && t->kind != PGKG_KIND_STATS_COLLECTOR;
}

int pgkg_guard_put_price(struct pgkg_buf *b, const char *procroot, const struct pgkg_target *t)
{
	int n = t->cluster.postmaster > 0
			? pgkg_count_sessions(procroot, t->cluster.postmaster, t->pid)
			: -1;

	pgkg_buf_puts(b, "the postmaster will crash-restart the cluster: ");
	if (n >= 0) {
		pgkg_buf_putl(b, n);
		pgkg_buf_puts(b, n == 1 ? " other session is" : " other sessions are");
	} else {
		pgkg_buf_puts(b, "every other session is");
	}
	pgkg_buf_puts(b, " dropped, and crash recovery replays the WAL written since the last "
			 "checkpoint before anyone can connect again");
	return n >= 0 ? n : PGKG_PRICE_UNCOUNTED;
}
