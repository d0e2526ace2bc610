/*
 * signals.c - signal names and sets for the SIGNALS column of a policy.
 *
 * Rules for this file:
 *  1. MUST NOT allocate, lock, use stdio or locale: it runs inside kill().
 *  2. Numbers come from <signal.h>, never from a table of literals, so the
 *     names stay right on every architecture.
 *
 * Names: KILL, SIGKILL and kill are the same signal (case-insensitive, SIG
 * prefix optional); aliases IOT, CLD and POLL are accepted.  The set names
 * `fatal` and `stop` are lower case and matched exactly, which is how `stop`
 * (the set STOP TSTP TTIN TTOU) differs from `STOP` or `SIGSTOP` (only
 * SIGSTOP).  `*` is every signal 1..64.  Numbers 1..64 are accepted; 0 never
 * (it only checks that a process exists).
 *
 * Real-time signals: the kernel's first one is 32 (__SIGRTMIN), but glibc
 * keeps 32 and 33 for itself and reports SIGRTMIN = 34.  RTMIN in a policy
 * means SIGRTMIN as the C library reports it at run time (34 with glibc),
 * because that is the number a program sends when it writes
 * kill(pid, SIGRTMIN).  RTMAX is SIGRTMAX (64).  RTMIN+N and RTMAX-N must stay
 * within RTMIN..RTMAX.  Signals below RTMIN (32 and 33 with glibc) can only
 * be written as numbers, and `*` covers them.  SIGRTMIN is a function call
 * in glibc (__libc_current_sigrtmin), which only reads a variable:
 * async-signal-safe.
 */
#include "policy.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "util.h"

#define NSIG_MAX 64

static const char *const names[NSIG_MAX + 1] = {
	[SIGHUP] = "HUP",	[SIGINT] = "INT",	[SIGQUIT] = "QUIT",
	[SIGILL] = "ILL",	[SIGTRAP] = "TRAP",	[SIGABRT] = "ABRT",
	[SIGBUS] = "BUS",	[SIGFPE] = "FPE",	[SIGKILL] = "KILL",
	[SIGUSR1] = "USR1",	[SIGSEGV] = "SEGV",	[SIGUSR2] = "USR2",
	[SIGPIPE] = "PIPE",	[SIGALRM] = "ALRM",	[SIGTERM] = "TERM",
#ifdef SIGSTKFLT
	[SIGSTKFLT] = "STKFLT",
#endif
	[SIGCHLD] = "CHLD",	[SIGCONT] = "CONT",	[SIGSTOP] = "STOP",
	[SIGTSTP] = "TSTP",	[SIGTTIN] = "TTIN",	[SIGTTOU] = "TTOU",
	[SIGURG] = "URG",	[SIGXCPU] = "XCPU",	[SIGXFSZ] = "XFSZ",
	[SIGVTALRM] = "VTALRM",	[SIGPROF] = "PROF",	[SIGWINCH] = "WINCH",
	[SIGIO] = "IO",
#ifdef SIGPWR
	[SIGPWR] = "PWR",
#endif
	[SIGSYS] = "SYS",
};

static const struct {
	const char *name;
	int sig;
} aliases[] = {
	{"IOT", SIGABRT},
	{"CLD", SIGCHLD},
	{"POLL", SIGIO},
};

/*
 * Every signal that ends a PostgreSQL process abnormally, which the
 * postmaster treats as a crash of the whole cluster: the classic fatal ones,
 * and those PostgreSQL leaves at their default action "terminate" (IO,
 * STKFLT, PROF, VTALRM and every real-time signal, 32-64).  Measured on
 * PostgreSQL 15: kill -IO, -VTALRM or -RTMIN+1 of an idle backend each
 * crash-restart the cluster; PWR, URG, WINCH, CHLD, PIPE, ALRM, USR1/2 do not.
 */
pgkg_sigset pgkg_sigset_fatal(void)
{
	return PGKG_SIGBIT(SIGKILL) | PGKG_SIGBIT(SIGQUIT) | PGKG_SIGBIT(SIGABRT) |
	       PGKG_SIGBIT(SIGSEGV) | PGKG_SIGBIT(SIGBUS) | PGKG_SIGBIT(SIGILL) |
	       PGKG_SIGBIT(SIGFPE) | PGKG_SIGBIT(SIGSYS) | PGKG_SIGBIT(SIGTRAP) |
	       PGKG_SIGBIT(SIGXCPU) | PGKG_SIGBIT(SIGXFSZ) | PGKG_SIGBIT(SIGIO) |
	       PGKG_SIGBIT(SIGSTKFLT) | PGKG_SIGBIT(SIGPROF) | PGKG_SIGBIT(SIGVTALRM) |
	       (~UINT64_C(0) << 31);	/* 32..64 */
}

pgkg_sigset pgkg_sigset_stop(void)
{
	return PGKG_SIGBIT(SIGSTOP) | PGKG_SIGBIT(SIGTSTP) | PGKG_SIGBIT(SIGTTIN) |
	       PGKG_SIGBIT(SIGTTOU);
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* s[0..n) equals w, ignoring ASCII case. */
static bool caseeq(const char *s, size_t n, const char *w)
{
	size_t i;

	for (i = 0; i < n && w[i]; i++) {
		if (lower(s[i]) != lower(w[i]))
			return false;
	}
	return i == n && !w[i];
}

static bool exacteq(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(s, w, n) == 0;
}

/* A plain name (no SIG prefix) -> number, 0 if unknown. */
static int number_of(const char *s, size_t n)
{
	for (int sig = 1; sig <= NSIG_MAX; sig++) {
		if (names[sig] && caseeq(s, n, names[sig]))
			return sig;
	}
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (caseeq(s, n, aliases[i].name))
			return aliases[i].sig;
	}
	return 0;
}

static const char rt_why[] =
	"real-time signals are RTMIN, RTMIN+N, RTMAX-N or RTMAX within RTMIN..RTMAX";

/* "RTMIN", "RTMIN+3", "RTMAX-2" (no SIG prefix) -> number; 0 not RT; -1 bad. */
static int rt_number(const char *s, size_t n)
{
	int base, sign;
	long long off = 0;

	if (n < 5)
		return 0;
	if (caseeq(s, 5, "RTMIN")) {
		base = SIGRTMIN;
		sign = 1;
	} else if (caseeq(s, 5, "RTMAX")) {
		base = SIGRTMAX;
		sign = -1;
	} else {
		return 0;
	}
	if (n > 5) {
		if (s[5] != (sign > 0 ? '+' : '-') || !pgkg_all_digits(s + 6, n - 6) ||
		    pgkg_parse_ll(s + 6, n - 6, 0, NSIG_MAX, &off) < 0)
			return -1;
	}
	base += sign * (int)off;
	return base >= SIGRTMIN && base <= SIGRTMAX && base <= NSIG_MAX ? base : -1;
}

static int parse_number(const char *s, size_t n, pgkg_sigset *out, const char **why)
{
	long long v;

	if (pgkg_parse_ll(s, n, 0, NSIG_MAX, &v) < 0) {
		*why = "signal numbers are 1..64";
		return -EINVAL;
	}
	if (v == 0) {
		*why = "signal 0 cannot be named (it only checks that a process exists)";
		return -EINVAL;
	}
	*out = PGKG_SIGBIT(v);
	return 0;
}

static int parse_set(const char *s, size_t n, pgkg_sigset *out)
{
	if (exacteq(s, n, "*"))
		*out = ~(pgkg_sigset)0;
	else if (exacteq(s, n, "fatal"))
		*out = pgkg_sigset_fatal();
	else if (exacteq(s, n, "stop"))
		*out = pgkg_sigset_stop();
	else
		return -ENOENT;
	return 0;
}

int pgkg_signals_parse(const char *s, size_t n, pgkg_sigset *out, const char **why)
{
	int sig;

	*why = NULL;
	*out = 0;
	if (parse_set(s, n, out) == 0)
		return 0;
	if (pgkg_all_digits(s, n))
		return parse_number(s, n, out, why);
	if (n > 3 && caseeq(s, 3, "SIG")) {
		s += 3;
		n -= 3;
	}
	sig = rt_number(s, n);
	if (sig == 0)
		sig = number_of(s, n);
	if (sig > 0) {
		*out = PGKG_SIGBIT(sig);
		return 0;
	}
	if (sig < 0)
		*why = rt_why;
	else if (caseeq(s, n, "fatal"))
		*why = "set names are lower case: fatal, stop";
	return -EINVAL;
}

pgkg_sigset pgkg_signals_from_name(const char *s, size_t n)
{
	pgkg_sigset set;
	const char *why;

	return pgkg_signals_parse(s, n, &set, &why) == 0 ? set : 0;
}

static const char *rt_name(int sig, char *scratch, size_t cap)
{
	int lo = SIGRTMIN, hi = SIGRTMAX;
	struct pgkg_buf b;

	pgkg_buf_init(&b, scratch, cap);
	if (sig < lo || sig > hi) {
		pgkg_buf_putl(&b, sig);	/* 32, 33: reserved by the C library */
	} else if (sig <= lo + (hi - lo) / 2) {
		pgkg_buf_puts(&b, "RTMIN");
		if (sig > lo) {
			pgkg_buf_putc(&b, '+');
			pgkg_buf_putl(&b, sig - lo);
		}
	} else {
		pgkg_buf_puts(&b, "RTMAX");
		if (sig < hi) {
			pgkg_buf_putc(&b, '-');
			pgkg_buf_putl(&b, hi - sig);
		}
	}
	return b.truncated ? NULL : scratch;
}

const char *pgkg_signal_name(int sig, char *scratch, size_t cap)
{
	if (sig < 1 || sig > NSIG_MAX)
		return NULL;
	if (names[sig])
		return names[sig];
	return rt_name(sig, scratch, cap);
}
