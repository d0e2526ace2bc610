/*
 * helperlink.h - the preload library's side of the database step.
 *
 * The library links nothing but libc, so a rewrite is done by a helper
 * process (`pgkillguard __rewrite-helper`), started on the first rewrite a
 * process asks for and kept for the next ones (pkill over 200 backends pays
 * one start-up and one connection).  The helper detaches (double fork,
 * setsid): it is never the caller's child, so wait(-1) in the caller can
 * neither reap it nor hang on it.  It exits when the caller closes the
 * socket (exit) or after being idle for a while.
 */
#ifndef PGKG_HELPERLINK_H
#define PGKG_HELPERLINK_H

#include "rwproto.h"

/* helper_path: PGKILLGUARD_HELPER, or NULL for the helper that belongs to
 * this library (beside it, ../bin, then PGKG_HELPER_PATH: helperlink.c). */
void pgkg_helper_rewrite(const char *helper_path, const struct pgkg_rw_req *req, int pidfd,
			 struct pgkg_rw_rep *rep);

#endif
