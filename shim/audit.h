/*
 * audit.h - the words pgkillguard says: one stderr line per decision that is
 * not a plain pass-through, and one syslog line (authpriv).
 *
 *  1. MUST NOT allocate, lock or use stdio (runs inside kill()).
 *  2. MUST NOT block the caller: syslog is one non-blocking datagram, dropped
 *     when nobody listens; stderr is one write(2), errors ignored.
 */
#ifndef PGKG_AUDIT_H
#define PGKG_AUDIT_H

#include <sys/types.h>

#include "policy.h"
#include "util.h"

/* "client backend app@prod, idle; cluster /srv/pg/15" */
void pgkg_describe_target(struct pgkg_buf *b, const struct pgkg_target *t);
/* "kill -9 1234", "kill -9 -- -1234" (whatever the system call: the audit
 * line names that) */
void pgkg_describe_call(struct pgkg_buf *b, long pid, int sig);
/* The user name for uid from /etc/passwd (accounts.c), else the number. */
void pgkg_put_user(struct pgkg_buf *b, uid_t uid);
/* "pts/3", "tty1" or "?" for the caller's controlling terminal. */
void pgkg_put_tty(struct pgkg_buf *b, const char *procroot, pid_t pid);
/* Write "pgkillguard: <text>\n" to fd (if >= 0). */
void pgkg_say(int fd, const char *text);
/* Send "<pri>pgkillguard[pid]: <text>" to the syslog socket (authpriv). */
void pgkg_syslog(const char *socket_path, int severity, pid_t pid, const char *text);

#endif
