/*
 * rewrite.h - the database step: kill -> pg_terminate_backend / pg_cancel_backend.
 *
 * Used by the helper the preload library starts and, in process, by the
 * seccomp supervisor.  Keeps one connection per cluster and reuses it.
 */
#ifndef PGKG_REWRITE_H
#define PGKG_REWRITE_H

#include "rwproto.h"

struct pgkg_rewriter;

struct pgkg_rewriter *pgkg_rewriter_new(const char *procroot);
void pgkg_rewriter_free(struct pgkg_rewriter *rewriter);
/* Do what req asks; pidfd (or -1) pins the target; fills rep. */
void pgkg_rewriter_run(struct pgkg_rewriter *rewriter, const struct pgkg_rw_req *req, int pidfd,
		       struct pgkg_rw_rep *rep);

#endif
