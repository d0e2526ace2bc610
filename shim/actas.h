/*
 * actas.h - do one thing with somebody's exact credentials, and the
 * supervisor's own least privilege.
 *
 *  1. pgkg_act_as() runs fn on a new thread that first takes the given real
 *     and effective uids and gids (the saved ones stay the supervisor's:
 *     no same-user operation of the caller can reach this thread), groups
 *     and (optionally) CAP_KILL with per-thread raw system
 *     calls, so the kernel's own permission checks see exactly that identity.
 *     The thread never goes back: it ends after fn.  No other thread's
 *     credentials change (glibc's set*id would change them all).
 *  2. pgkg_drop_privileges() is for a supervisor started as root: it leaves
 *     uid 0 for a system account and keeps only the capabilities the job
 *     needs.  Afterwards the supervisor's own credentials cannot signal a
 *     root-owned process, or any other user's.
 */
#ifndef PGKG_ACTAS_H
#define PGKG_ACTAS_H

#include <stdbool.h>
#include <sys/types.h>

#include "procfs.h"

/* fn's result, or -EPERM when the identity could not be taken, or -EAGAIN
 * when no thread could be started. */
int pgkg_act_as(const struct pgkg_creds *who, bool cap_kill, int (*fn)(void *), void *arg);

/* The identity of account uid (its primary gid, no supplementary groups). */
void pgkg_creds_of_account(uid_t uid, gid_t gid, struct pgkg_creds *out);

/* Would the caller's creds give it CAP_KILL over this host's processes
 * (effective, in our own user namespace)? */
bool pgkg_creds_cap_kill(const struct pgkg_creds *c, bool same_userns);

/* The supervisor's own threads (acting threads register themselves; a
 * front-end registers its other threads): a signal aimed at one is a
 * signal to the supervisor.  Lock-free; at most 128 at once. */
bool pgkg_actas_is_our_thread(pid_t tid);
int pgkg_actas_register(pid_t tid);		/* a slot, or -1 when full */
void pgkg_actas_unregister(int slot);

/* Drop uid 0: become the account PGKG_SUPERVISOR_USER (else nobody) and keep
 * CAP_KILL, CAP_SETUID, CAP_SETGID, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH
 * in the permitted set, only CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH effective.
 * 0, or -errno (the caller dies: never go on as root). */
int pgkg_drop_privileges(void);

/* Raise CAP_KILL on this thread for one kill(2) of pid (the forwarding of
 * HUP/TERM to the command); async-signal-safe. */
int pgkg_kill_with_cap(pid_t pid, int sig);

#endif
