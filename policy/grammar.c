/*
 * grammar.c - the policy language: the tokenizer, the rule shapes and the
 * settings.  A rule's key=value options are in options.c; reading files and
 * running includes in load.c.
 *
 * Rules for this file:
 *  1. MUST NOT allocate, lock, use stdio or depend on the locale: the preload
 *     library parses the policy inside kill().
 *  2. MUST keep stack use small: a line's words live in parse_line's frame
 *     and a rule in parse_rule's, both out of line; an include line only
 *     leaves its name in c->pending, and the reader (load.c) opens the file
 *     once this line's frames are gone.
 *  3. MUST report every error of a line, all in one pass, as FILE:LINE:
 *     message, and MUST NOT keep a default for a bad value: a rule with any
 *     error is dropped (with its strings) and the policy is marked broken.
 *  4. A word from the file appears in a message only through pol_errw /
 *     pol_put_word (control characters shown as '?', cut after WORD_SHOWN
 *     bytes), or after it was found to be a known name.
 *
 * THE LANGUAGE (pgkillguard.conf(5) will say the same)
 *
 *   SIGNALS  TARGET-KINDS  ACTION  [key=value ...]
 *
 * One rule per line; fields are separated by spaces or tabs.  `#` outside
 * double quotes starts a comment, blank lines are ignored.  The first rule
 * whose SIGNALS, TARGET-KINDS and conditions all match decides; a signal no
 * rule matches is allowed.  Lines are at most PGKG_MAX_LINE (4096) bytes, a
 * file at most PGKG_MAX_FILE (1 MiB); NUL bytes and control characters
 * other than tab (and a CR ending the line) are errors.
 *
 * SIGNALS       comma list: KILL, SIGKILL, kill (case-insensitive); a number
 *               1..64 (0 is an error); RTMIN, RTMIN+N, RTMAX-N, RTMAX (RTMIN
 *               is the C library's SIGRTMIN, 34 with glibc: see signals.c);
 *               `*` (1..64); the sets `fatal` (KILL QUIT ABRT SEGV BUS ILL FPE
 *               SYS TRAP XCPU XFSZ IO STKFLT PROF VTALRM 32..64: everything
 *               that kills a backend) and `stop` (STOP TSTP TTIN TTOU).  Set
 *               names are lower case: `stop` is the set, `STOP` the signal.
 * TARGET-KINDS  comma list of kinds (client-backend, walsender, checkpointer,
 *               ... see kinds.c) or sets: backend, auxiliary, any.
 * ACTION        allow | block | terminate | cancel.  terminate and cancel
 *               (pg_terminate_backend / pg_cancel_backend) only for kinds in
 *               the `backend` set.
 * Two more rule shapes put a word in the SIGNALS column (allow or block only,
 * options user=, program=, message=):
 *   force-kill KINDS allow|block   who may run `pgkillguard force-kill` on
 *                 which kinds (no matching rule: refused);
 *   ptrace KINDS allow|block       who may attach a debugger or tracer
 *                 (ptrace ATTACH/SEIZE) to which kinds (no matching rule:
 *                 allowed, with a warning).  A ptrace request that injects
 *                 a fatal signal is decided like kill() of that signal.
 * Options: key=value words after ACTION, see options.c.  A value may be
 * written in double quotes (message="a b"); inside quotes \" and \\ are the
 * only escapes.  Lists are comma separated, no spaces.
 *
 * Settings:
 *   mode enforce|report   report: log what would happen, let every call
 *                         through.  The last mode line read wins.
 *   include FILE          parse FILE here (load.c).
 *   include_dir DIR       parse DIR/ *.conf here (load.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy_int.h"
#include "util.h"

#define MAX_WORDS 16		/* a rule has at most 3 + 6 */

/* ---- words ---- */

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* The rest of a quoted string from line[*i] (after the quote), copied to line[*o]. */
static int read_quoted(struct parse *c, const struct src *s, char *line, size_t n, size_t *i,
		       size_t *o)
{
	for (;;) {
		if (*i == n) {
			pol_err(c, s, "unterminated quote");
			return -1;
		}
		if (line[*i] == '"') {
			(*i)++;
			return 0;
		}
		if (line[*i] == '\\') {
			if (*i + 1 == n || (line[*i + 1] != '"' && line[*i + 1] != '\\')) {
				pol_err(c, s, "bad escape in quotes (only \\\" and \\\\)");
				return -1;
			}
			(*i)++;
		}
		line[(*o)++] = line[(*i)++];
	}
}

/* One word from line[*i], unquoted in place. */
static int read_word(struct parse *c, const struct src *s, char *line, size_t n, size_t *i,
		     struct word *w)
{
	size_t o = *i;

	w->s = line + o;
	while (*i < n && !is_space(line[*i]) && line[*i] != '#') {
		if (line[*i] != '"') {
			line[o++] = line[(*i)++];
			continue;
		}
		(*i)++;
		if (read_quoted(c, s, line, n, i, &o) < 0)
			return -1;
	}
	w->n = o - (size_t)(w->s - line);
	return 0;
}

/* Split a line into at most MAX_WORDS words; returns the count or -1. */
static int split_words(struct parse *c, const struct src *s, char *line, size_t n, struct word *w)
{
	size_t i = 0;
	int nw = 0;

	for (;;) {
		while (i < n && is_space(line[i]))
			i++;
		if (i == n || line[i] == '#')
			return nw;
		if (nw == MAX_WORDS) {
			pol_errn(c, s, NULL, "too many fields (limit ", MAX_WORDS, ")");
			return -1;
		}
		if (read_word(c, s, line, n, &i, &w[nw]) < 0)
			return -1;
		nw++;
	}
}

/* ---- rules: SIGNALS TARGET-KINDS ACTION ---- */

static COLD void bad_signal(struct parse *c, const struct src *s, const struct word *w, const char *why)
{
	struct msg m;
	struct pgkg_buf *b = pol_msg_start(&m, why ? "bad signal " : "unknown signal ");

	pol_put_word(b, w->s, w->n);
	if (why) {
		pgkg_buf_puts(b, ": ");
		pgkg_buf_puts(b, why);
	}
	pol_err(c, s, m.s);
}

static pgkg_sigset parse_signals(struct parse *c, const struct src *s, const struct word *w)
{
	pgkg_sigset all = 0, one;
	const char *why;
	struct word it;
	size_t pos = 0;

	while (next_item(w, &pos, &it)) {
		if (it.n == 0)
			pol_err(c, s, "empty item in the signal list");
		else if (pgkg_signals_parse(it.s, it.n, &one, &why) < 0)
			bad_signal(c, s, &it, why);
		else
			all |= one;
	}
	return all;
}

static uint32_t parse_kinds(struct parse *c, const struct src *s, const struct word *w)
{
	uint32_t all = 0, one;
	struct word it;
	size_t pos = 0;

	while (next_item(w, &pos, &it)) {
		one = pgkg_kinds_from_name(it.s, it.n);
		if (it.n == 0)
			pol_err(c, s, "empty item in the target kind list");
		else if (!one)
			pol_errw(c, s, "unknown target kind ", &it, "");
		all |= one;
	}
	return all;
}

static const char *const action_names[] = {
	[PGKG_ALLOW] = "allow",
	[PGKG_BLOCK] = "block",
	[PGKG_TERMINATE] = "terminate",
	[PGKG_CANCEL] = "cancel",
};

const char *pgkg_action_name(enum pgkg_action a)
{
	return (unsigned)a <= PGKG_CANCEL ? action_names[a] : "unknown";
}

static bool parse_action(struct parse *c, const struct src *s, const struct word *w,
			 enum pgkg_action *out)
{
	for (unsigned a = PGKG_ALLOW; a <= PGKG_CANCEL; a++) {
		if (word_is(w, action_names[a])) {
			*out = (enum pgkg_action)a;
			return true;
		}
	}
	pol_errw(c, s, "unknown action ", w, " (allow, block, terminate or cancel)");
	return false;
}

/* terminate/cancel: every kind named must be one pg_*_backend() can signal
 * (or an orphan, which gets the same signal directly). */
static void check_kinds_for(struct parse *c, const struct src *s, const struct word *w,
			    enum pgkg_action a)
{
	struct word it;
	size_t pos = 0;

	while (next_item(w, &pos, &it)) {
		uint32_t k = pgkg_kinds_from_name(it.s, it.n);
		struct msg m;
		struct pgkg_buf *b;

		if (!k || !(k & ~PGKG_KINDS_REWRITABLE))
			continue;
		b = pol_msg_start(&m, a == PGKG_TERMINATE ? "pg_terminate_backend" : "pg_cancel_backend");
		pgkg_buf_puts(b, " cannot signal ");
		pgkg_buf_putn(b, it.s, it.n);	/* a valid kind name: printable */
		pgkg_buf_puts(b, " (only backend kinds)");
		pol_err(c, s, m.s);
	}
}

/* ---- rules ---- */

static void add_rule(struct parse *c, struct src *s, struct pgkg_rule *r)
{
	struct pgkg_policy *p = c->p;

	if (p->nrules == PGKG_MAX_RULES) {
		if (!c->rules_full)
			pol_errn(c, s, NULL, "too many rules (limit ", PGKG_MAX_RULES, ")");
		c->rules_full = true;
		return;
	}
	if (!s->name_str)
		s->name_str = pol_pool_add(c, s, s->name, strlen(s->name));
	if (!s->name_str)
		return;
	r->file = s->name_str;
	r->line = s->line;
	p->rules[p->nrules++] = *r;
}

/* Fewer than three fields: a rule cut short, or a misspelt keyword. */
static void too_few_fields(struct parse *c, const struct src *s, const struct word *w)
{
	pgkg_sigset set;
	const char *why;

	if (word_is(w, "force-kill") || word_is(w, "ptrace"))
		pol_errw(c, s, "expected ", w, " TARGET-KINDS allow|block [key=value ...]");
	else if (pgkg_signals_parse(w->s, w->n, &set, &why) < 0 && !why && w->n)
		pol_errw(c, s, "unknown keyword ", w, "");
	else
		pol_err(c, s, "expected SIGNALS TARGET-KINDS ACTION [key=value ...]");
}

/* "force-kill" and "ptrace" in the SIGNALS column make a rule of that scope. */
static enum pgkg_scope scope_of(const struct word *w)
{
	if (word_is(w, "force-kill"))
		return PGKG_SCOPE_FORCE_KILL;
	if (word_is(w, "ptrace"))
		return PGKG_SCOPE_PTRACE;
	return PGKG_SCOPE_SIGNAL;
}

/* Out of line: keeps its frame off the stack while includes recurse. */
static __attribute__((noinline)) void parse_rule(struct parse *c, struct src *s,
						 const struct word *w, int nw)
{
	struct pgkg_rule r;
	enum pgkg_action a = PGKG_ALLOW;
	unsigned seen = 0;
	int errors = c->errors;
	uint32_t pool_mark = c->p->pool_used;
	bool action_ok;

	if (nw < 3) {
		too_few_fields(c, s, &w[0]);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.timeout_ms = PGKG_DEFAULT_TIMEOUT_MS;
	r.scope = scope_of(&w[0]);
	if (r.scope == PGKG_SCOPE_SIGNAL)
		r.signals = parse_signals(c, s, &w[0]);
	r.kinds = parse_kinds(c, s, &w[1]);
	action_ok = parse_action(c, s, &w[2], &a);
	if (action_ok && r.scope != PGKG_SCOPE_SIGNAL && a != PGKG_ALLOW && a != PGKG_BLOCK) {
		pol_errw(c, s, "", &w[0], " rules take allow or block");
		action_ok = false;
	}
	if (action_ok && is_rewrite(a))
		check_kinds_for(c, s, &w[1], a);
	for (int i = 3; i < nw; i++)
		pol_parse_option(c, s, &w[i], &r, &seen);
	if (action_ok)
		pol_check_options_for(c, s, a, seen);
	r.action = a;
	if (c->errors != errors) {
		c->p->pool_used = pool_mark;	/* drop the strings of a bad rule */
		return;
	}
	add_rule(c, s, &r);
}

/* ---- settings: mode, include, include_dir ---- */

static __attribute__((noinline)) void parse_mode(struct parse *c, const struct src *s,
						 const struct word *w, int nw)
{
	if (nw != 2)
		pol_err(c, s, "mode takes one argument: enforce or report");
	else if (word_is(&w[1], "enforce"))
		c->p->mode = PGKG_MODE_ENFORCE;
	else if (word_is(&w[1], "report"))
		c->p->mode = PGKG_MODE_REPORT;
	else
		pol_errw(c, s, "unknown mode ", &w[1], " (enforce or report)");
}

/*
 * include FILE / include_dir DIR: resolve the name into the pool and leave
 * it in c->pending; the reader (load.c: parse_chunk) runs it once this
 * line's frame is gone.
 */
static void parse_include(struct parse *c, const struct src *s, const struct word *w, int nw,
			  bool dir)
{
	if (nw != 2 || w[1].n == 0) {
		struct msg m;
		struct pgkg_buf *b = pol_msg_start(&m, dir ? "include_dir" : "include");
		pgkg_buf_puts(b, nw == 2 ? " needs a non-empty name" : " takes exactly one argument");
		pol_err(c, s, m.s);
		return;
	}
	c->pending = pol_pool_path(c, s, s->dir, s->dirlen, w[1].s, w[1].n);
	c->pending_dir = dir;
}

/* ---- lines ---- */

static COLD void bad_byte(struct parse *c, const struct src *s, unsigned char ch)
{
	static const char hex[] = "0123456789abcdef";
	char m[] = "control character 0x?? in line";
	char *q = strchr(m, '?');

	q[0] = hex[ch >> 4];
	q[1] = hex[ch & 15];
	pol_err(c, s, m);
}

/* Control characters other than tab are errors; a CR ending the line is dropped. */
static __attribute__((noinline)) bool check_bytes(struct parse *c, const struct src *s,
						  const char *line, size_t *n)
{
	if (memchr(line, '\0', *n)) {
		pol_err(c, s, "NUL byte in line");
		return false;
	}
	if (*n && line[*n - 1] == '\r')
		(*n)--;
	for (size_t i = 0; i < *n; i++) {
		unsigned char ch = (unsigned char)line[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			bad_byte(c, s, ch);
			return false;
		}
	}
	return true;
}

__attribute__((noinline)) void pol_parse_line(struct parse *c, struct src *s, char *line,
					      size_t n)
{
	struct word w[MAX_WORDS];
	int nw;

	if (!check_bytes(c, s, line, &n))
		return;
	nw = split_words(c, s, line, n, w);
	if (nw <= 0)
		return;
	if (word_is(&w[0], "mode"))
		parse_mode(c, s, w, nw);
	else if (word_is(&w[0], "include"))
		parse_include(c, s, w, nw, false);
	else if (word_is(&w[0], "include_dir"))
		parse_include(c, s, w, nw, true);
	else
		parse_rule(c, s, w, nw);
}
