/*
 * linkpq.c - built twice: `linkpq` links libpq and calls it once,
 * `nolinkpq` is the same program without it.  Their start-up difference is
 * what a program pays for linking libpq, and why the rewrite helper speaks
 * the protocol itself on the common path (shim/pgwire.c).
 */
#ifdef WITH_LIBPQ
#include <libpq-fe.h>
#endif

int main(void)
{
#ifdef WITH_LIBPQ
	return PQlibVersion() > 0 ? 0 : 1;
#else
	return 0;
#endif
}
