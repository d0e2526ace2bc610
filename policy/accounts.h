/*
 * accounts.h - the one reader of /etc/passwd and /etc/group: a name's id for
 * the policy's user=NAME and user=@GROUP, and a uid's name for the audit line.
 *
 * Rules for this module:
 *  1. MUST NOT allocate, lock, use stdio or locale, and MUST NOT use
 *     getpwnam/getgrnam (NSS may load modules, allocate, talk to the
 *     network): it runs inside kill(), from signal handlers, in any process.
 *  2. MUST keep its stack small (one bounded buffer of 1 KiB): the files are
 *     streamed, never read whole.  A line that does not fit that buffer is
 *     skipped (no account has such a line).
 *  3. An entry counts only when it is well formed (id 0..4294967294, no
 *     sign); the first such entry wins.  A file that cannot be read has no
 *     entries: a name that is not there never matches.
 */
#ifndef PGKG_ACCOUNTS_H
#define PGKG_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum pgkg_account_db {
	PGKG_ACCOUNT_USER,	/* /etc/passwd */
	PGKG_ACCOUNT_GROUP,	/* /etc/group */
};

/* The id of name[0..n) in the user or group database. */
bool pgkg_account_id(enum pgkg_account_db db, const char *name, size_t n, uint32_t *id);

/* The name of the first user with this uid, NUL-terminated in name[cap];
 * its length, or -ENOENT (none, or the file unreadable) or -ENAMETOOLONG. */
ssize_t pgkg_account_user_name(uint32_t uid, char *name, size_t cap);

/* For tests: read accounts from these files instead of /etc/passwd and
 * /etc/group (NULL restores the default).  Not thread-safe. */
void pgkg_policy_set_account_files(const char *passwd, const char *group);

#endif
