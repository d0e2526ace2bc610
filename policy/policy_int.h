/*
 * policy_int.h - what the files of the policy language share; private to
 * policy/ (policy.h is the public side, and nothing outside policy/ includes
 * this file).
 *
 *   policy.c   the entry points (parse, load, the built-in default), error
 *              collection (FILE:LINE: message) and the string pool
 *   grammar.c  the tokenizer, the rule shapes (SIGNALS KINDS ACTION,
 *              force-kill, ptrace) and the settings (mode, include lines)
 *   options.c  a rule's key=value options (user=, program=, route= ...)
 *   load.c     reading a source line by line, opening files with the trust
 *              check on the descriptor, include and include_dir, loops
 *
 * Rules for everything declared here:
 *  1. MUST NOT allocate, lock, use stdio or depend on the locale: the preload
 *     library parses the policy inside kill().
 *  2. One struct parse (with its line buffer) serves a whole load, every
 *     include level; functions on the include recursion path keep their
 *     frames small or out of line (the whole load stays well under 16 KiB).
 *  3. Every error goes through pol_record() (directly or through pol_err*):
 *     it counts the error, marks the policy broken and reports it.
 *  4. The pol_ functions are internal: hidden like every symbol of the core
 *     (-fvisibility=hidden), never exported by the library.
 */
#ifndef PGKG_POLICY_INT_H
#define PGKG_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>

#include "policy.h"
#include "util.h"

#define MSG_MAX 320
#define WORD_SHOWN 64		/* bytes of a word quoted in a message */
#define COLD __attribute__((cold, noinline))	/* error paths: off the hot stack */

/* One file or text being parsed. */
struct src {
	const char *name;	/* for messages and rule->file */
	const char *dir;	/* relative includes resolve against dir[0..dirlen) */
	size_t dirlen;		/* 0: the current directory */
	int fd;			/* -1: text */
	const char *text;
	size_t len;
	pgkg_str name_str;	/* name in the pool, 0 until a rule needs it */
	int line;
};

struct parse {
	struct pgkg_policy *p;
	pgkg_report_fn report;
	void *ctx;
	uid_t trusted_uid;
	int errors;		/* in this call */
	int depth;		/* 0: the top-level file */
	unsigned nfiles;
	unsigned gen;		/* bumped when c->line is refilled by a nested file */
	bool rules_full;
	pgkg_str pending;	/* an include or include_dir line waiting to be read */
	bool pending_dir;
	struct {
		dev_t dev;
		ino_t ino;
		bool set;
	} chain[PGKG_MAX_INCLUDE_DEPTH + 1];	/* files being read, to find loops */
	char line[PGKG_MAX_LINE + 1];
};

/* A word of a line (unquoted in place), or an item of a comma list. */
struct word {
	char *s;
	size_t n;
};

/* An error message being put together. */
struct msg {
	struct pgkg_buf b;
	char s[MSG_MAX];
};

/* ---- words (grammar.c and options.c) ---- */

static inline bool word_is(const struct word *w, const char *lit)
{
	return strlen(lit) == w->n && memcmp(w->s, lit, w->n) == 0;
}

/* The next comma-separated item of list (may be empty); false at the end. */
static inline bool next_item(const struct word *list, size_t *pos, struct word *item)
{
	const char *comma;

	if (*pos > list->n)
		return false;
	item->s = list->s + *pos;
	comma = memchr(item->s, ',', list->n - *pos);
	item->n = comma ? (size_t)(comma - item->s) : list->n - *pos;
	*pos += item->n + 1;
	return true;
}

static inline bool is_rewrite(enum pgkg_action a)
{
	return a == PGKG_TERMINATE || a == PGKG_CANCEL;
}

/* ---- errors and the string pool (policy.c) ---- */

struct pgkg_buf *pol_msg_start(struct msg *m, const char *pre);
/* "word", control characters shown as '?', cut after WORD_SHOWN bytes. */
void pol_put_word(struct pgkg_buf *b, const char *s, size_t n);
/* Count, keep the first as p->first_error, mark broken, report. */
COLD void pol_record(struct parse *c, const char *file, int line, const char *msg);
/* msg at the current line of s. */
COLD void pol_err(struct parse *c, const struct src *s, const char *msg);
/* pre "word" post, at the current line of s. */
COLD void pol_errw(struct parse *c, const struct src *s, const char *pre, const struct word *w,
		   const char *post);
/* pre NUMBER post, at the current line of s (or line 0 of file when s is NULL). */
COLD void pol_errn(struct parse *c, const struct src *s, const char *file, const char *pre,
		   long long v, const char *post);
/* A problem with the file or directory as a whole: FILE:0: message. */
COLD void pol_err_errno(struct parse *c, const char *file, int e, bool dir);

/* str[0..n) as a string in the pool; 0 (and an error at s) when full. */
pgkg_str pol_pool_add(struct parse *c, const struct src *s, const char *str, size_t n);
/* dir[0..dirlen) "/" name into the pool; name as is when absolute or dirlen is 0. */
pgkg_str pol_pool_path(struct parse *c, const struct src *s, const char *dir, size_t dirlen,
		       const char *name, size_t n);

/* ---- one line (grammar.c) ---- */

/* Check, split and parse line[0..n) (no newline); an include line is left
 * in c->pending for the reader to run once this frame is gone. */
void pol_parse_line(struct parse *c, struct src *s, char *line, size_t n);

/* ---- options (options.c) ---- */

/* One key=value word of a rule; *seen collects the options given. */
void pol_parse_option(struct parse *c, const struct src *s, const struct word *w,
		      struct pgkg_rule *r, unsigned *seen);
/* Options that only terminate and cancel take, given to another action. */
void pol_check_options_for(struct parse *c, const struct src *s, enum pgkg_action a,
			   unsigned seen);

/* ---- sources, files and includes (load.c) ---- */

void pol_src_init(struct src *s, const char *name, int fd, const char *text, size_t len);
/* Parse every line of s, and the files it includes. */
void pol_parse_source(struct parse *c, struct src *s);
/* open(O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | flags): fd or -errno. */
int pol_open_nofollow(const char *path, int flags);
/* Check (trust, size, loops) and parse an open file, top-level (from NULL) or included. */
void pol_parse_file(struct parse *c, const struct src *from, const char *path, int fd);

#endif
