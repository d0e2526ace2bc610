/*
 * policy.c - the policy module's entry points, error collection and string
 * pool.  The language itself is in grammar.c and options.c, reading files
 * and includes in load.c (policy_int.h says who holds what).
 *
 * Rules for this file:
 *  1. MUST NOT allocate, lock, use stdio or depend on the locale: the preload
 *     library parses the policy inside kill().  The caller provides the
 *     struct pgkg_policy; one struct parse on the entry point's stack (one
 *     line buffer) serves every include level.
 *  2. MUST report every error, all in one pass, as FILE:LINE: message
 *     through the callback (line 0: the file as a whole); the first one is
 *     kept in p->first_error, and any error marks the policy broken.
 *  3. MUST keep offset 0 of the pool the empty string ("unset"); text that
 *     does not fit the pool is an error, never cut.
 *  4. A file that exists and has no rules is an error, not an allow-all
 *     policy; a missing top-level file is -ENOENT for the caller to decide.
 */
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "policy_int.h"
#include "util.h"

#ifndef PGKG_SYSCONFDIR
#define PGKG_SYSCONFDIR "/etc"
#endif
#define DEFAULT_NAME "(built-in default)"
#define DEFAULT_DIR PGKG_SYSCONFDIR "/pgkillguard"

/* ---- errors ---- */

struct pgkg_buf *pol_msg_start(struct msg *m, const char *pre)
{
	pgkg_buf_init(&m->b, m->s, sizeof(m->s));
	pgkg_buf_puts(&m->b, pre);
	return &m->b;
}

/* "word", control characters shown as '?', cut after WORD_SHOWN bytes. */
void pol_put_word(struct pgkg_buf *b, const char *s, size_t n)
{
	pgkg_buf_putc(b, '"');
	for (size_t i = 0; i < n && i < WORD_SHOWN; i++) {
		unsigned char ch = (unsigned char)s[i];
		pgkg_buf_putc(b, (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch);
	}
	pgkg_buf_puts(b, n > WORD_SHOWN ? "...\"" : "\"");
}

COLD void pol_record(struct parse *c, const char *file, int line, const char *msg)
{
	struct pgkg_policy *p = c->p;

	if (p->nerrors == 0) {
		struct pgkg_buf b;
		pgkg_buf_init(&b, p->first_error, sizeof(p->first_error));
		pgkg_buf_puts(&b, file);
		pgkg_buf_putc(&b, ':');
		pgkg_buf_putl(&b, line);
		pgkg_buf_puts(&b, ": ");
		pgkg_buf_puts(&b, msg);
	}
	p->nerrors++;
	p->broken = true;
	c->errors++;
	if (c->report)
		c->report(c->ctx, file, line, msg);
}

COLD void pol_err(struct parse *c, const struct src *s, const char *msg)
{
	pol_record(c, s->name, s->line, msg);
}

/* pre "word" post, at the current line of s. */
COLD void pol_errw(struct parse *c, const struct src *s, const char *pre, const struct word *w,
		   const char *post)
{
	struct msg m;
	struct pgkg_buf *b = pol_msg_start(&m, pre);

	pol_put_word(b, w->s, w->n);
	pgkg_buf_puts(b, post);
	pol_err(c, s, m.s);
}

/* pre NUMBER post, at the current line of s (or line 0 of file when s is NULL). */
COLD void pol_errn(struct parse *c, const struct src *s, const char *file, const char *pre,
		   long long v, const char *post)
{
	struct msg m;
	struct pgkg_buf *b = pol_msg_start(&m, pre);

	pgkg_buf_putl(b, v);
	pgkg_buf_puts(b, post);
	if (s)
		pol_err(c, s, m.s);
	else
		pol_record(c, file, 0, m.s);
}

static const char *errno_text(int e, bool dir)
{
	switch (e) {
	case ENOENT:
		return "does not exist";
	case ELOOP:
		return "is a symbolic link";
	case EACCES:
		return "cannot be opened: permission denied";
	case ENOTDIR:
		return dir ? "is not a directory" : "cannot be opened: a path component is not a directory";
	case EISDIR:
		return "is a directory";
	case ENAMETOOLONG:
		return "cannot be opened: name too long";
	case EMFILE:
	case ENFILE:
		return "cannot be opened: too many open files";
	default:
		return NULL;
	}
}

/* A problem with the file or directory as a whole: FILE:0: message. */
COLD void pol_err_errno(struct parse *c, const char *file, int e, bool dir)
{
	const char *t = errno_text(e, dir);

	if (t)
		pol_record(c, file, 0, t);
	else
		pol_errn(c, NULL, file, "cannot be read (errno ", e, ")");
}

/* ---- the string pool ---- */

/* a b z (three byte strings) as one string in the pool; 0 when full. */
static pgkg_str pool_add3(struct parse *c, const struct src *s, const char *a, size_t an,
			  const char *b, size_t bn, const char *z, size_t zn)
{
	struct pgkg_policy *p = c->p;
	pgkg_str off;

	if (p->pool_used == 0) {	/* never let offset 0 be a string */
		p->pool[0] = '\0';
		p->pool_used = 1;
	}
	if (an + bn + zn >= PGKG_POOL_SIZE - p->pool_used) {
		pol_errn(c, s, NULL, "too much text in the policy (string pool limit ",
			 PGKG_POOL_SIZE, " bytes)");
		return 0;
	}
	off = p->pool_used;
	memcpy(p->pool + off, a, an);
	memcpy(p->pool + off + an, b, bn);
	memcpy(p->pool + off + an + bn, z, zn);
	p->pool[off + an + bn + zn] = '\0';
	p->pool_used += (uint32_t)(an + bn + zn + 1);
	return off;
}

pgkg_str pol_pool_add(struct parse *c, const struct src *s, const char *str, size_t n)
{
	return pool_add3(c, s, str, n, "", 0, "", 0);
}

/* dir[0..dirlen) "/" name into the pool; name as is when absolute or dirlen is 0. */
pgkg_str pol_pool_path(struct parse *c, const struct src *s, const char *dir, size_t dirlen,
		       const char *name, size_t n)
{
	if (name[0] == '/' || dirlen == 0)
		return pol_pool_add(c, s, name, n);
	return pool_add3(c, s, dir, dirlen, "/", dir[dirlen - 1] != '/', name, n);
}

/* ---- entry points ---- */

void pgkg_policy_init(struct pgkg_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = PGKG_MODE_ENFORCE;
	p->pool_used = 1;	/* offset 0 is the empty string: "unset" */
}

static void parse_init(struct parse *c, struct pgkg_policy *p, pgkg_report_fn report, void *ctx,
		       uid_t trusted_uid)
{
	memset(c, 0, offsetof(struct parse, line));
	c->p = p;
	c->report = report;
	c->ctx = ctx;
	c->trusted_uid = trusted_uid;
	c->nfiles = 1;
	if (p->pool_used == 0)
		p->pool_used = 1;
}

int pgkg_policy_parse(struct pgkg_policy *p, const char *name, const char *text, size_t len,
		      pgkg_report_fn report, void *ctx)
{
	struct parse c;
	struct src s;

	parse_init(&c, p, report, ctx, 0);
	if (!p->path[0])
		pgkg_strlcpy(p->path, name, sizeof(p->path));
	pol_src_init(&s, name, -1, text, len);
	pol_parse_source(&c, &s);
	return c.errors;
}

int pgkg_policy_load(struct pgkg_policy *p, const char *path, uid_t trusted_uid,
		     pgkg_report_fn report, void *ctx)
{
	struct parse c;
	int fd = pol_open_nofollow(path, O_NONBLOCK);

	if (fd == -ENOENT)
		return -ENOENT;
	pgkg_policy_init(p);
	parse_init(&c, p, report, ctx, trusted_uid);
	pgkg_strlcpy(p->path, path, sizeof(p->path));	/* for display; may be cut */
	if (fd < 0) {
		pol_err_errno(&c, path, -fd, false);
		return c.errors;
	}
	pol_parse_file(&c, NULL, path, fd);
	close(fd);
	/* No rule at all would allow every signal to every cluster process:
	 * never what a file that exists means (an empty or truncated one). */
	if (!c.errors && p->nrules == 0)
		pol_record(&c, path, 0, "has no rules: it would allow every signal; write rules "
					"(start from the shipped default) or remove the file to get "
					"the built-in default");
	return c.errors;
}

int pgkg_policy_load_default_report(struct pgkg_policy *p, pgkg_report_fn report, void *ctx)
{
	struct parse c;
	struct src s;

	pgkg_policy_init(p);
	parse_init(&c, p, report, ctx, 0);
	pgkg_strlcpy(p->path, DEFAULT_NAME, sizeof(p->path));
	pol_src_init(&s, DEFAULT_NAME, -1, pgkg_default_policy_text, strlen(pgkg_default_policy_text));
	s.dir = DEFAULT_DIR;
	s.dirlen = strlen(DEFAULT_DIR);
	pol_parse_source(&c, &s);
	return c.errors;
}

int pgkg_policy_load_default(struct pgkg_policy *p)
{
	return pgkg_policy_load_default_report(p, NULL, NULL);
}

/* The one place that knows a named policy that is missing is broken. */
int pgkg_policy_load_named(struct pgkg_policy *p, const char *path, uid_t trusted_uid,
			   pgkg_report_fn report, void *ctx)
{
	struct parse c;
	int r;

	pgkg_policy_init(p);
	r = pgkg_policy_load(p, path ? path : PGKG_POLICY_PATH, trusted_uid, report, ctx);
	if (r != -ENOENT)
		return r;
	if (!path)
		return pgkg_policy_load_default_report(p, report, ctx);
	parse_init(&c, p, report, ctx, trusted_uid);
	pgkg_strlcpy(p->path, path, sizeof(p->path));
	pol_record(&c, path, 0, "no such file");
	return c.errors;
}
