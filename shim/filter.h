/*
 * filter.h - the seccomp filter of an enforced session.
 */
#ifndef PGKG_FILTER_H
#define PGKG_FILTER_H

#include <seccomp.h>
#include <stdbool.h>

/* A filter ready to load, or NULL with *what and errno set. */
scmp_filter_ctx pgkg_filter_build(bool no_new_privs, const char **what);

#endif
