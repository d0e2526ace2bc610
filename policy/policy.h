/*
 * policy.h - the policy language and the decision.
 *
 *   SIGNALS  TARGET-KINDS  ACTION  [key=value ...]     first match wins
 *
 * Rules for this module:
 *  1. MUST NOT allocate, lock or use stdio: the preload library parses the
 *     policy inside kill().  The caller provides the struct pgkg_policy
 *     (about 100 KiB: the library maps it, the command puts it in static storage).
 *  2. MUST collect every error in one pass and report each as FILE:LINE: message
 *     through the callback; never keep a silent default for a bad value.
 *  3. A policy with errors, or one that fails the trust check, is "broken":
 *     pgkg_decide() then blocks fatal and stop signals to cluster processes
 *     and lets everything else through (fail closed / fail open).
 */
#ifndef PGKG_POLICY_H
#define PGKG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "accounts.h"	/* pgkg_policy_set_account_files */
#include "kinds.h"
#include "procfs.h"

#define PGKG_MAX_RULES 256
#define PGKG_POOL_SIZE 65536	/* strings of options live here */
#define PGKG_MAX_LINE 4096	/* longer lines are an error */
#define PGKG_MAX_FILE (1024 * 1024)	/* per file */
#define PGKG_MAX_INCLUDES 64	/* files per policy, nesting depth 8 */
#define PGKG_MAX_INCLUDE_DEPTH 8	/* include inside include ... */
#define PGKG_DEFAULT_TIMEOUT_MS 5000

/* ---- signals ---- */
typedef uint64_t pgkg_sigset;	/* bit (n-1) = signal n, 1..64 */
#define PGKG_SIGBIT(n) (UINT64_C(1) << ((n) - 1))
pgkg_sigset pgkg_sigset_fatal(void);	/* KILL QUIT ABRT SEGV BUS ILL FPE SYS TRAP XCPU XFSZ IO STKFLT PROF VTALRM 32..64 */
pgkg_sigset pgkg_sigset_stop(void);	/* STOP TSTP TTIN TTOU */
/* "KILL", "SIGKILL", "9", "kill", "fatal", "stop", "*", "RTMIN+3" -> set; 0 if unknown. */
pgkg_sigset pgkg_signals_from_name(const char *s, size_t n);
/* The same, telling why on failure: 0, or -EINVAL with *why a reason for an
 * error message (*why NULL: simply not a signal name). */
int pgkg_signals_parse(const char *s, size_t n, pgkg_sigset *out, const char **why);
/* "KILL" for 9 (no SIG prefix), "RTMIN+3", or NULL when out of range. */
const char *pgkg_signal_name(int sig, char *scratch, size_t cap);

/* ---- rules ---- */
enum pgkg_action {
	PGKG_ALLOW = 0,
	PGKG_BLOCK,
	PGKG_TERMINATE,		/* rewrite into pg_terminate_backend() */
	PGKG_CANCEL,		/* rewrite into pg_cancel_backend() */
};
const char *pgkg_action_name(enum pgkg_action a);

enum pgkg_mode { PGKG_MODE_ENFORCE = 0, PGKG_MODE_REPORT };

/* How a terminate/cancel reaches the process (route=). */
enum pgkg_route {
	PGKG_ROUTE_AUTO = 0,	/* SQL first; a direct SIGTERM/SIGINT when SQL cannot be used */
	PGKG_ROUTE_SQL,		/* pg_terminate_backend / pg_cancel_backend only */
	PGKG_ROUTE_SIGNAL,	/* the direct signal only, with the caller's credentials */
};
const char *pgkg_route_name(enum pgkg_route r);

/* An offset into pgkg_policy.pool; 0 means "not set" (pool[0] is '\0'). */
typedef uint32_t pgkg_str;

/* What a rule is about: a signal (the usual), the force-kill command, or ptrace. */
enum pgkg_scope {
	PGKG_SCOPE_SIGNAL = 0,	/* SIGNALS KINDS ACTION ... */
	PGKG_SCOPE_FORCE_KILL,	/* force-kill KINDS allow|block ... (no rule: refused) */
	PGKG_SCOPE_PTRACE,	/* ptrace KINDS allow|block ...: attaching (no rule: allowed) */
};

struct pgkg_rule {
	pgkg_sigset signals;	/* 0 for force-kill and ptrace rules */
	uint8_t scope;		/* enum pgkg_scope */
	uint32_t kinds;		/* PGKG_KIND_BIT() set */
	enum pgkg_action action;
	uint32_t timeout_ms;	/* wait for the exit; default PGKG_DEFAULT_TIMEOUT_MS */
	bool fallback_signal;	/* fallback=signal: send the raw signal if the rewrite fails */
	enum pgkg_route route;	/* route=auto|sql|signal */
	pgkg_str users;		/* user=alice,@dba,1001 (comma list) or 0 */
	pgkg_str programs;	/* program=pg_ctl,/full/path,pid1 (caller exe; pid1 = PID 1) or 0 */
	pgkg_str message;	/* message="..." added to the explanation, or 0 */
	pgkg_str conninfo;	/* conninfo="service=x" used for the rewrite, or 0 */
	pgkg_str from;		/* from=manager,parent,nsinit,cgroup,cgroup:GLOB or 0 */
	pgkg_str file;		/* where the rule was written */
	int line;
};

struct pgkg_policy {
	enum pgkg_mode mode;
	bool broken;		/* errors or untrusted: decide() fails closed */
	int nerrors;
	char first_error[512];	/* "FILE:LINE: message" of the first error */
	char path[PGKG_PATH_MAX];	/* the top-level file, or "(built-in default)" */
	unsigned nrules;
	struct pgkg_rule rules[PGKG_MAX_RULES];
	uint32_t pool_used;
	char pool[PGKG_POOL_SIZE];
};

static inline const char *pgkg_policy_str(const struct pgkg_policy *p, pgkg_str s)
{
	return p->pool + s;
}

/* Called once per error, in file order.  line 0: about the file as a whole. */
typedef void (*pgkg_report_fn)(void *ctx, const char *file, int line, const char *msg);

/* Reset to an empty, valid policy (no rules, enforce). */
void pgkg_policy_init(struct pgkg_policy *p);
/*
 * Parse text as if it were the file `name` (includes resolve relative to the
 * directory of name).  Adds to p.  Returns the number of errors (0 = valid).
 */
int pgkg_policy_parse(struct pgkg_policy *p, const char *name, const char *text, size_t len,
		      pgkg_report_fn report, void *ctx);
/*
 * Open path with O_NOFOLLOW, check trust on the opened fd (regular file,
 * owned by root or by trusted_uid, not group/other writable), parse it and
 * its includes.  ENOENT for the top-level file is returned as -ENOENT with
 * p untouched, so the caller can use the built-in default; every other
 * problem marks p broken, reports it, and returns the number of errors.
 */
int pgkg_policy_load(struct pgkg_policy *p, const char *path, uid_t trusted_uid,
		     pgkg_report_fn report, void *ctx);
/* The built-in default: the text of the shipped policy/pgkillguard.conf. */
extern const char pgkg_default_policy_text[];
int pgkg_policy_load_default(struct pgkg_policy *p);
/* The same, reporting errors (from files under PGKG_SYSCONFDIR/pgkillguard/policy.d). */
int pgkg_policy_load_default_report(struct pgkg_policy *p, pgkg_report_fn report, void *ctx);
/*
 * The policy a front-end runs with: path, an explicit choice (missing means
 * broken: "PATH:0: no such file"), else PGKG_POLICY_PATH, else (no such
 * file) the built-in default.  Trust as pgkg_policy_load: root or
 * trusted_uid.  report may be NULL.  Returns the number of errors.
 */
#define PGKG_POLICY_PATH PGKG_SYSCONFDIR "/pgkillguard/pgkillguard.conf"
int pgkg_policy_load_named(struct pgkg_policy *p, const char *path, uid_t trusted_uid,
			   pgkg_report_fn report, void *ctx);

/* ---- decision ---- */
struct pgkg_caller {
	pid_t pid;
	uid_t uid;		/* real uid */
	gid_t gid;
	int ngroups;
	gid_t groups[64];
	char comm[16];
	/* Facts the caller cannot set itself (exe, cgroup, relation to the
	 * target's postmaster), read by the guard for cluster targets only.
	 * NULL (unit tests, `explain -p`): program= compares comm, from= never matches. */
	const struct pgkg_caller_rel *rel;
};

struct pgkg_decision {
	enum pgkg_action action;
	bool report_only;	/* mode report: log what would happen, let the call through */
	bool policy_broken;	/* the action comes from failing closed/open */
	const struct pgkg_rule *rule;	/* the matching rule, NULL if none/broken */
	uint32_t timeout_ms;
	enum pgkg_route route;	/* for terminate and cancel */
};

/*
 * Decide what to do with signal sig sent by caller to target.  Targets of
 * kind NONE are always allowed.  A broken policy blocks fatal and stop
 * signals to cluster processes and allows everything else.  No rule
 * matching means allow.  Pure apart from reading /etc/passwd and /etc/group
 * for user= conditions (async-signal-safe reads).
 */
void pgkg_decide(const struct pgkg_policy *p, const struct pgkg_caller *caller,
		 const struct pgkg_target *target, int sig, struct pgkg_decision *out);

/*
 * The same for the force-kill command and for ptrace attaching: the first
 * rule of that scope whose kinds and user=/program= match.  No such rule:
 * force-kill is BLOCK, ptrace ALLOW.  A broken policy: BLOCK for force-kill,
 * ALLOW for ptrace (attaching sends no signal).
 */
void pgkg_decide_scope(const struct pgkg_policy *p, const struct pgkg_caller *caller,
		       const struct pgkg_target *target, enum pgkg_scope scope,
		       struct pgkg_decision *out);

#endif
