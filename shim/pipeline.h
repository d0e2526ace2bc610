/*
 * pipeline.h - the guard's steps shared by its files (guard.c: one target
 * and the rewrite; sweep.c: broadcasts; ptraceguard.c: debuggers).  Internal
 * to the guard: the front-ends use guard.h.  The rules of guard.h hold.
 */
#ifndef PGKG_PIPELINE_H
#define PGKG_PIPELINE_H

#include <stdbool.h>
#include <sys/types.h>

#include "guard.h"

/* The policy, loaded through ops->load_policy on first need. */
struct pgkg_policy *pgkg_guard_policy(struct pgkg_guard *g);
/* Classify pid into g->ws->target; true when it is a cluster process the
 * caller could signal and does not belong to. */
int pgkg_guard_protected(struct pgkg_guard *g, pid_t pid);
/* The caller's exe, cgroup and relation to g->ws->target's cluster into
 * g->ws->rel, and g->caller.rel pointing there (no facts when the library's
 * /proc is not its own pid namespace's).  Slow path: call it only once the
 * target is a protected cluster process, before deciding. */
void pgkg_guard_relation(struct pgkg_guard *g);
/* classify -> decide -> act for one target pid. */
enum pgkg_verdict pgkg_guard_one(struct pgkg_guard *g, const struct pgkg_call *c, pid_t pid);
/* kill(0), kill(-1), kill(-PGID) (sweep.c). */
enum pgkg_verdict pgkg_guard_broadcast(struct pgkg_guard *g, const struct pgkg_call *c);

#endif
