/*
 * actas.c - per-thread credentials (see actas.h).
 *
 * Rules:
 *  1. Credentials change only through raw system calls on the thread that
 *     acts (setgroups, setresgid, setresuid, capset are per-thread in the
 *     kernel; glibc broadcasts its wrappers to every thread).
 *  2. Order: groups and gids while CAP_SETGID is there, then uids, then
 *     the capability sets last, down to CAP_KILL or nothing.  The result is
 *     read back; any mismatch is -EPERM and fn never runs.
 *  3. CAP_KILL is given only to mirror a caller that has it effective in our
 *     own user namespace.
 */
#include "actas.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rawsys.h"

#ifndef PGKG_SUPERVISOR_USER
#define PGKG_SUPERVISOR_USER "pgkillguard"
#endif

#define BIT(c) (1ULL << (c))
#define KEEP_PERMITTED (BIT(CAP_KILL) | BIT(CAP_SETUID) | BIT(CAP_SETGID) | \
			BIT(CAP_SYS_PTRACE) | BIT(CAP_DAC_READ_SEARCH))
#define KEEP_EFFECTIVE (BIT(CAP_SYS_PTRACE) | BIT(CAP_DAC_READ_SEARCH))
#define MAX_ACTING 128

static _Atomic pid_t acting[MAX_ACTING];

/* ---- capability sets of this thread ---- */

static int caps_get(unsigned long long *eff, unsigned long long *perm)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {{0, 0, 0}, {0, 0, 0}};
	long r = pgkg_raw(SYS_capget, (long)&h, (long)d, 0, 0);

	if (r < 0)
		return (int)r;
	*eff = d[0].effective | (unsigned long long)d[1].effective << 32;
	*perm = d[0].permitted | (unsigned long long)d[1].permitted << 32;
	return 0;
}

static int caps_set(unsigned long long eff, unsigned long long perm)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {
		{(uint32_t)eff, (uint32_t)perm, 0},
		{(uint32_t)(eff >> 32), (uint32_t)(perm >> 32), 0},
	};

	return (int)pgkg_raw(SYS_capset, (long)&h, (long)d, 0, 0);
}

bool pgkg_creds_cap_kill(const struct pgkg_creds *c, bool same_userns)
{
	return same_userns && (c->cap_eff & BIT(CAP_KILL));
}

void pgkg_creds_of_account(uid_t uid, gid_t gid, struct pgkg_creds *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 4; i++) {
		out->uid[i] = uid;
		out->gid[i] = gid;
	}
}

/* ---- taking an identity on this thread ---- */

static bool groups_differ(const struct pgkg_creds *who)
{
	gid_t now[PGKG_CREDS_MAX_GROUPS];
	long n = pgkg_raw(SYS_getgroups, PGKG_CREDS_MAX_GROUPS, (long)now, 0, 0);

	return n != who->ngroups || memcmp(now, who->groups, (size_t)n * sizeof(gid_t)) != 0;
}

/*
 * The acting thread takes the caller's real and effective ids, which are
 * what the kernel's signal, socket and file checks look at, but keeps the
 * supervisor's own saved ids: every check that lets a process act on
 * another of the "same" user (prlimit, ptrace, /proc/TID/...) wants all
 * three to match, so the caller can never reach the supervisor through
 * this thread (R1-1: prlimit64 of an acting thread lowered the whole
 * supervisor's RLIMIT_NOFILE).
 */
static bool is_identity(const struct pgkg_creds *who, uid_t saved_uid, gid_t saved_gid)
{
	uid_t r = (uid_t)-1, e = (uid_t)-1, s = (uid_t)-1;	/* set by the raw calls */
	gid_t gr = (gid_t)-1, ge = (gid_t)-1, gs = (gid_t)-1;

	if (pgkg_raw(SYS_getresuid, (long)&r, (long)&e, (long)&s, 0) < 0 ||
	    pgkg_raw(SYS_getresgid, (long)&gr, (long)&ge, (long)&gs, 0) < 0)
		return false;
	return r == who->uid[0] && e == who->uid[1] && s == saved_uid && gr == who->gid[0] &&
	       ge == who->gid[1] && gs == saved_gid && !groups_differ(who);
}

static int become(const struct pgkg_creds *who, bool cap_kill)
{
	unsigned long long eff = 0, perm = 0;
	uid_t r = 0, e = 0, suid = (uid_t)-1;
	gid_t gr = 0, ge = 0, sgid = (gid_t)-1;

	/* our own saved ids: kept, so the caller cannot act on this thread */
	if (pgkg_raw(SYS_getresuid, (long)&r, (long)&e, (long)&suid, 0) < 0 ||
	    pgkg_raw(SYS_getresgid, (long)&gr, (long)&ge, (long)&sgid, 0) < 0)
		return -EPERM;
	if (caps_get(&eff, &perm) < 0 || caps_set(perm, perm) < 0)
		return -EPERM;
	if (groups_differ(who) &&
	    pgkg_raw(SYS_setgroups, who->ngroups, (long)who->groups, 0, 0) < 0)
		return -EPERM;
	if (pgkg_raw(SYS_setresgid, who->gid[0], who->gid[1], sgid, 0) < 0 ||
	    pgkg_raw(SYS_setresuid, who->uid[0], who->uid[1], suid, 0) < 0)
		return -EPERM;
	if (caps_get(&eff, &perm) < 0)
		return -EPERM;
	perm &= cap_kill ? BIT(CAP_KILL) : 0;
	if (caps_set(perm, perm) < 0 || caps_get(&eff, &perm) < 0 ||
	    (perm & ~BIT(CAP_KILL)) || (!cap_kill && perm))
		return -EPERM;
	return is_identity(who, suid, sgid) ? 0 : -EPERM;
}

struct job {
	const struct pgkg_creds *who;
	bool cap_kill;
	int (*fn)(void *);
	void *arg;
	int ret;
};

int pgkg_actas_register(pid_t tid)
{
	for (int i = 0; i < MAX_ACTING; i++) {
		pid_t free_slot = 0;
		if (atomic_compare_exchange_strong(&acting[i], &free_slot, tid))
			return i;
	}
	return -1;
}

static void *run(void *p)
{
	struct job *j = p;
	int slot = pgkg_actas_register((pid_t)pgkg_raw(SYS_gettid, 0, 0, 0, 0));

	uid_t r = 0, e = 0, suid = (uid_t)-1;
	gid_t gr = 0, ge = 0, sgid = (gid_t)-1;

	pgkg_raw(SYS_getresuid, (long)&r, (long)&e, (long)&suid, 0);
	pgkg_raw(SYS_getresgid, (long)&gr, (long)&ge, (long)&sgid, 0);
	/* Registered first: a signal aimed at this thread is one at the supervisor. */
	j->ret = slot < 0 ? -EAGAIN : become(j->who, j->cap_kill);
	if (!j->ret)
		j->ret = j->fn(j->arg);
	/* Back to the supervisor's own ids (the saved ones allow it) before
	 * leaving the register (R2-1: a thread unregistered while it still
	 * held the caller's ids could be signalled by the caller). */
	if (pgkg_raw(SYS_setresuid, suid, suid, suid, 0) < 0 ||
	    pgkg_raw(SYS_setresgid, sgid, sgid, sgid, 0) < 0)
		pgkg_raw(SYS_exit_group, 127, 0, 0, 0);	/* never leave a thread as the caller */
	pgkg_actas_unregister(slot);
	return NULL;
}

void pgkg_actas_unregister(int slot)
{
	if (slot >= 0 && slot < MAX_ACTING)
		atomic_store(&acting[slot], 0);
}

bool pgkg_actas_is_our_thread(pid_t tid)
{
	for (int i = 0; tid > 0 && i < MAX_ACTING; i++)
		if (atomic_load(&acting[i]) == tid)
			return true;
	return false;
}

int pgkg_act_as(const struct pgkg_creds *who, bool cap_kill, int (*fn)(void *), void *arg)
{
	struct job j = {who, cap_kill, fn, arg, -EAGAIN};
	sigset_t all, old;
	pthread_t t;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* the thread takes no signals */
	r = pthread_create(&t, NULL, run, &j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -EAGAIN;
	pthread_join(t, NULL);
	return j.ret;
}

/* ---- the supervisor's own privileges ---- */

static void supervisor_account(uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(PGKG_SUPERVISOR_USER);

	if (!pw || pw->pw_uid == 0)
		pw = getpwnam("nobody");
	*uid = pw && pw->pw_uid != 0 ? pw->pw_uid : 65534;
	*gid = pw && pw->pw_uid != 0 ? pw->pw_gid : 65534;
}

int pgkg_drop_privileges(void)
{
	unsigned long long eff = 0, perm = 0;
	uid_t uid;
	gid_t gid;

	supervisor_account(&uid, &gid);
	/* Single-threaded here: the libc calls change the whole process. */
	if (prctl(PR_SET_KEEPCAPS, 1) < 0 || setgroups(0, NULL) < 0 ||
	    setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	if (caps_get(&eff, &perm) < 0 || caps_set(KEEP_EFFECTIVE & perm, KEEP_PERMITTED & perm) < 0)
		return -EPERM;
	prctl(PR_SET_KEEPCAPS, 0);
	prctl(PR_SET_DUMPABLE, 0);	/* a change of uid resets it: say it again */
	if (getuid() == 0 || geteuid() == 0 || caps_get(&eff, &perm) < 0 || (eff & BIT(CAP_KILL)))
		return -EPERM;
	return 0;
}

int pgkg_kill_with_cap(pid_t pid, int sig)
{
	unsigned long long eff = 0, perm = 0;
	long r;

	if (caps_get(&eff, &perm) < 0)
		return -EPERM;
	if (perm & BIT(CAP_KILL))
		caps_set(eff | BIT(CAP_KILL), perm);
	r = pgkg_raw(SYS_kill, pid, sig, 0, 0);
	if (perm & BIT(CAP_KILL))
		caps_set(eff, perm);
	return (int)r;
}
