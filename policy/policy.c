/*
 * policy.c - the policy language: parser, loader, trust check, includes.
 *
 * Rules for this file:
 *  1. MUST NOT allocate, lock, use stdio or depend on the locale: the preload
 *     library parses the policy inside kill().  No opendir() (it allocates):
 *     directories are listed with getdents64 into a stack buffer.
 *  2. MUST keep stack use per call small (well under 16 KiB): one line buffer
 *     (struct parse) serves every include level; a file is read by offset
 *     (pread), so after an include the including file is simply read again
 *     from where it stopped.
 *  3. MUST report every error, all in one pass, as FILE:LINE: message through
 *     the callback, and MUST NOT keep a default for a bad value: a rule with
 *     any error is dropped and the policy is marked broken.
 *  4. MUST check trust on the opened descriptor (fstat), never on the name.
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
 * Options (each at most once; empty values are errors):
 *   user=LIST      the caller's real uid is one of: NAME, UID, or is in
 *                  group @NAME or @GID (its gid or supplementary groups).
 *                  Names are looked up in /etc/passwd and /etc/group only (no
 *                  NSS): write numeric ids for directory-service accounts.
 *                  A name that is all digits is an id.
 *   program=LIST   the caller's comm (at most 15 bytes) is one of LIST;
 *                  `pid1` matches PID 1 whatever its name.
 *   message=TEXT   added to the explanation the caller sees.
 *   timeout=MS     1..600000, terminate and cancel only (default 5000).
 *   conninfo=TEXT  libpq connection string for the rewrite (terminate, cancel).
 *   fallback=signal|deny  when the rewrite fails: send the original signal,
 *                  or refuse it (the default); terminate and cancel only.
 *   A value may be written in double quotes (message="a b"); inside quotes
 *   \" and \\ are the only escapes.  Lists are comma separated, no spaces.
 *
 * Settings:
 *   mode enforce|report   report: log what would happen, let every call
 *                         through.  The last mode line read wins.
 *   include FILE          parse FILE here; it must exist.
 *   include_dir DIR       parse DIR/ *.conf here, in byte order of the names;
 *                         dotfiles and other names are ignored; a missing DIR
 *                         is not an error.
 *   Relative names resolve against the directory of the file that names
 *   them; the built-in default behaves as if it were
 *   PGKG_SYSCONFDIR/pgkillguard/pgkillguard.conf.  Includes nest at most
 *   PGKG_MAX_INCLUDE_DEPTH (8) deep, a policy has at most PGKG_MAX_INCLUDES
 *   (64) files, a file including itself (directly or not) is an error.
 *
 * Trust: every file (and include_dir directory) is opened with O_NOFOLLOW and
 * checked on the descriptor: a regular file (directory), owned by root or the
 * trusted uid, not writable by group or others.  Files named by a policy
 * parsed from text (pgkg_policy_parse) must be owned by root.
 */
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#ifndef PGKG_SYSCONFDIR
#define PGKG_SYSCONFDIR "/etc"
#endif
#define DEFAULT_NAME "(built-in default)"
#define DEFAULT_DIR PGKG_SYSCONFDIR "/pgkillguard"
#define MAX_WORDS 16		/* a rule has at most 3 + 6 */
#define MSG_MAX 320
#define WORD_SHOWN 64		/* bytes of a word quoted in a message */
#define COMM_MAX 15
#define NAME_MAX_LEN 64		/* user and group names */
#define TIMEOUT_MAX 600000
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

struct word {
	char *s;
	size_t n;
};

/* ---- errors ---- */

struct msg {
	struct pgkg_buf b;
	char s[MSG_MAX];
};

static struct pgkg_buf *msg_start(struct msg *m, const char *pre)
{
	pgkg_buf_init(&m->b, m->s, sizeof(m->s));
	pgkg_buf_puts(&m->b, pre);
	return &m->b;
}

/* "word", control characters shown as '?', cut after WORD_SHOWN bytes. */
static void put_word(struct pgkg_buf *b, const char *s, size_t n)
{
	pgkg_buf_putc(b, '"');
	for (size_t i = 0; i < n && i < WORD_SHOWN; i++) {
		unsigned char ch = (unsigned char)s[i];
		pgkg_buf_putc(b, (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch);
	}
	pgkg_buf_puts(b, n > WORD_SHOWN ? "...\"" : "\"");
}

static COLD void record(struct parse *c, const char *file, int line, const char *msg)
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

static COLD void err(struct parse *c, const struct src *s, const char *msg)
{
	record(c, s->name, s->line, msg);
}

/* pre "word" post, at the current line of s. */
static COLD void errw(struct parse *c, const struct src *s, const char *pre, const struct word *w,
		 const char *post)
{
	struct msg m;
	struct pgkg_buf *b = msg_start(&m, pre);

	put_word(b, w->s, w->n);
	pgkg_buf_puts(b, post);
	err(c, s, m.s);
}

/* pre NUMBER post, at the current line of s (or line 0 of file when s is NULL). */
static COLD void errn(struct parse *c, const struct src *s, const char *file, const char *pre,
		 long long v, const char *post)
{
	struct msg m;
	struct pgkg_buf *b = msg_start(&m, pre);

	pgkg_buf_putl(b, v);
	pgkg_buf_puts(b, post);
	if (s)
		err(c, s, m.s);
	else
		record(c, file, 0, m.s);
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
static COLD void err_errno(struct parse *c, const char *file, int e, bool dir)
{
	const char *t = errno_text(e, dir);

	if (t)
		record(c, file, 0, t);
	else
		errn(c, NULL, file, "cannot be read (errno ", e, ")");
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
		errn(c, s, NULL, "too much text in the policy (string pool limit ",
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

static pgkg_str pool_add(struct parse *c, const struct src *s, const char *str, size_t n)
{
	return pool_add3(c, s, str, n, "", 0, "", 0);
}

/* dir[0..dirlen) "/" name into the pool; name as is when absolute or dirlen is 0. */
static pgkg_str pool_path(struct parse *c, const struct src *s, const char *dir, size_t dirlen,
			  const char *name, size_t n)
{
	if (name[0] == '/' || dirlen == 0)
		return pool_add(c, s, name, n);
	return pool_add3(c, s, dir, dirlen, "/", dir[dirlen - 1] != '/', name, n);
}

/* ---- sources ---- */

static void src_init(struct src *s, const char *name, int fd, const char *text, size_t len)
{
	const char *slash = strrchr(name, '/');

	memset(s, 0, sizeof(*s));
	s->name = name;
	s->dir = name;
	s->dirlen = !slash ? 0 : slash == name ? 1 : (size_t)(slash - name);
	s->fd = fd;
	s->text = text;
	s->len = len;
}

/* Up to n bytes at offset off; fewer only at the end.  Length or -errno. */
static ssize_t fetch(const struct src *s, off_t off, char *buf, size_t n)
{
	size_t got = 0;

	if (s->fd < 0) {
		if ((size_t)off >= s->len)
			return 0;
		got = s->len - (size_t)off < n ? s->len - (size_t)off : n;
		memcpy(buf, s->text + off, got);
		return (ssize_t)got;
	}
	while (got < n) {
		ssize_t r = pread(s->fd, buf + got, n - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* ---- words ---- */

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool word_is(const struct word *w, const char *lit)
{
	return strlen(lit) == w->n && memcmp(w->s, lit, w->n) == 0;
}

static bool all_digits(const struct word *w)
{
	return pgkg_all_digits(w->s, w->n);
}

/* The rest of a quoted string from line[*i] (after the quote), copied to line[*o]. */
static int read_quoted(struct parse *c, const struct src *s, char *line, size_t n, size_t *i,
		       size_t *o)
{
	for (;;) {
		if (*i == n) {
			err(c, s, "unterminated quote");
			return -1;
		}
		if (line[*i] == '"') {
			(*i)++;
			return 0;
		}
		if (line[*i] == '\\') {
			if (*i + 1 == n || (line[*i + 1] != '"' && line[*i + 1] != '\\')) {
				err(c, s, "bad escape in quotes (only \\\" and \\\\)");
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
			errn(c, s, NULL, "too many fields (limit ", MAX_WORDS, ")");
			return -1;
		}
		if (read_word(c, s, line, n, &i, &w[nw]) < 0)
			return -1;
		nw++;
	}
}

/* The next comma-separated item of list (may be empty); false at the end. */
static bool next_item(const struct word *list, size_t *pos, struct word *item)
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

/* ---- rules: SIGNALS TARGET-KINDS ACTION ---- */

static COLD void bad_signal(struct parse *c, const struct src *s, const struct word *w, const char *why)
{
	struct msg m;
	struct pgkg_buf *b = msg_start(&m, why ? "bad signal " : "unknown signal ");

	put_word(b, w->s, w->n);
	if (why) {
		pgkg_buf_puts(b, ": ");
		pgkg_buf_puts(b, why);
	}
	err(c, s, m.s);
}

static pgkg_sigset parse_signals(struct parse *c, const struct src *s, const struct word *w)
{
	pgkg_sigset all = 0, one;
	const char *why;
	struct word it;
	size_t pos = 0;

	while (next_item(w, &pos, &it)) {
		if (it.n == 0)
			err(c, s, "empty item in the signal list");
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
			err(c, s, "empty item in the target kind list");
		else if (!one)
			errw(c, s, "unknown target kind ", &it, "");
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

static bool is_rewrite(enum pgkg_action a)
{
	return a == PGKG_TERMINATE || a == PGKG_CANCEL;
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
	errw(c, s, "unknown action ", w, " (allow, block, terminate or cancel)");
	return false;
}

/* terminate/cancel: every kind named must be one pg_*_backend() can signal. */
static void check_kinds_for(struct parse *c, const struct src *s, const struct word *w,
			    enum pgkg_action a)
{
	struct word it;
	size_t pos = 0;

	while (next_item(w, &pos, &it)) {
		uint32_t k = pgkg_kinds_from_name(it.s, it.n);
		struct msg m;
		struct pgkg_buf *b;

		if (!k || !(k & ~PGKG_KINDS_BACKEND))
			continue;
		b = msg_start(&m, a == PGKG_TERMINATE ? "pg_terminate_backend" : "pg_cancel_backend");
		pgkg_buf_puts(b, " cannot signal ");
		pgkg_buf_putn(b, it.s, it.n);	/* a valid kind name: printable */
		pgkg_buf_puts(b, " (only backend kinds)");
		err(c, s, m.s);
	}
}

/* ---- rules: options ---- */

enum opt { OPT_USER, OPT_PROGRAM, OPT_MESSAGE, OPT_TIMEOUT, OPT_CONNINFO, OPT_FALLBACK, OPT__COUNT };

static const char *const opt_names[OPT__COUNT] = {
	"user", "program", "message", "timeout", "conninfo", "fallback",
};

#define OPTS_REWRITE_ONLY ((1u << OPT_TIMEOUT) | (1u << OPT_CONNINFO) | (1u << OPT_FALLBACK))

static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '-';
}

/* A user or group name as useradd allows it: [A-Za-z0-9_.-], may end in $. */
static bool valid_name(const struct word *w)
{
	size_t n = w->n;

	if (n && w->s[n - 1] == '$')
		n--;
	if (n == 0 || n > NAME_MAX_LEN || w->s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!name_char(w->s[i]))
			return false;
	}
	return true;
}

static void check_user_item(struct parse *c, const struct src *s, struct word it)
{
	bool group = it.n && it.s[0] == '@';
	long long id;

	if (group) {
		it.s++;
		it.n--;
	}
	if (group && it.n == 0) {
		err(c, s, "empty group name after @ in the user list");
		return;
	}
	if (all_digits(&it)) {
		if (pgkg_parse_ll(it.s, it.n, 0, UINT32_MAX - 1, &id) < 0)
			errw(c, s, group ? "gid " : "uid ", &it, " out of range");
	} else if (!valid_name(&it)) {
		errw(c, s, group ? "bad group name " : "bad user name ", &it, "");
	}
}

static void opt_user(struct parse *c, const struct src *s, const struct word *v,
		     struct pgkg_rule *r)
{
	struct word it;
	size_t pos = 0;
	int errors = c->errors;

	while (next_item(v, &pos, &it)) {
		if (it.n == 0)
			err(c, s, "empty item in the user list");
		else
			check_user_item(c, s, it);
	}
	if (c->errors == errors)
		r->users = pool_add(c, s, v->s, v->n);
}

static void opt_program(struct parse *c, const struct src *s, const struct word *v,
			struct pgkg_rule *r)
{
	struct word it;
	size_t pos = 0;
	int errors = c->errors;

	while (next_item(v, &pos, &it)) {
		if (it.n == 0)
			err(c, s, "empty item in the program list");
		else if (it.n > COMM_MAX && it.s[0] != '/')
			errw(c, s, "program name ", &it,
			     " is longer than 15 bytes (the kernel cuts command names at 15)");
	}
	if (c->errors == errors)
		r->programs = pool_add(c, s, v->s, v->n);
}

static void opt_message(struct parse *c, const struct src *s, const struct word *v,
			struct pgkg_rule *r)
{
	r->message = pool_add(c, s, v->s, v->n);
}

static void opt_conninfo(struct parse *c, const struct src *s, const struct word *v,
			 struct pgkg_rule *r)
{
	r->conninfo = pool_add(c, s, v->s, v->n);
}

static void opt_timeout(struct parse *c, const struct src *s, const struct word *v,
			struct pgkg_rule *r)
{
	long long ms;

	if (!all_digits(v) || pgkg_parse_ll(v->s, v->n, 1, TIMEOUT_MAX, &ms) < 0) {
		errw(c, s, "timeout must be 1..600000 (milliseconds), not ", v, "");
		return;
	}
	r->timeout_ms = (uint32_t)ms;
}

static void opt_fallback(struct parse *c, const struct src *s, const struct word *v,
			 struct pgkg_rule *r)
{
	if (word_is(v, "signal"))
		r->fallback_signal = true;
	else if (word_is(v, "deny"))
		r->fallback_signal = false;
	else
		errw(c, s, "fallback must be signal or deny, not ", v, "");
}

typedef void (*opt_fn)(struct parse *, const struct src *, const struct word *, struct pgkg_rule *);

static const opt_fn opt_fns[OPT__COUNT] = {
	opt_user, opt_program, opt_message, opt_timeout, opt_conninfo, opt_fallback,
};

static int opt_index(const struct word *key)
{
	for (int k = 0; k < OPT__COUNT; k++) {
		if (word_is(key, opt_names[k]))
			return k;
	}
	return -1;
}

/* from=manager,parent,nsinit,cgroup,cgroup:GLOB: who the caller is to the
 * target's cluster (see pgkg_read_caller_relation). */
#define SEEN_FROM (1u << 31)
static void opt_from(struct parse *c, const struct src *s, const struct word *v,
		     struct pgkg_rule *r, unsigned *seen)
{
	static const char *const words[] = {"manager", "parent", "nsinit", "cgroup", NULL};
	struct word it;
	size_t pos = 0;
	int errors = c->errors;

	if (*seen & SEEN_FROM)
		err(c, s, "duplicate option \"from\"");
	*seen |= SEEN_FROM;
	if (v->n == 0) {
		err(c, s, "empty value for option \"from\"");
		return;
	}
	while (next_item(v, &pos, &it)) {
		bool ok = it.n > 7 && memcmp(it.s, "cgroup:", 7) == 0 &&
			  (it.s[7] == '/' || it.s[7] == '*');
		for (int i = 0; !ok && words[i]; i++)
			ok = word_is(&it, words[i]);
		if (!ok)
			errw(c, s, "bad from item ", &it,
			     " (manager, parent, nsinit, cgroup or cgroup:/PATTERN)");
	}
	if (c->errors == errors)
		r->from = pool_add(c, s, v->s, v->n);
}

static void parse_option(struct parse *c, const struct src *s, const struct word *w,
			 struct pgkg_rule *r, unsigned *seen)
{
	const char *eq = memchr(w->s, '=', w->n);
	struct word key, val;
	int k;

	if (!eq || eq == w->s) {
		errw(c, s, "expected key=value, not ", w, "");
		return;
	}
	key = (struct word){w->s, (size_t)(eq - w->s)};
	val = (struct word){(char *)eq + 1, w->n - key.n - 1};
	if (word_is(&key, "from")) {
		opt_from(c, s, &val, r, seen);
		return;
	}
	k = opt_index(&key);
	if (k < 0)
		errw(c, s, "unknown option ", &key,
		     " (user, program, message, timeout, conninfo, fallback)");
	else if (*seen & (1u << k))
		errw(c, s, "duplicate option ", &key, "");
	else if (val.n == 0)
		errw(c, s, "empty value for option ", &key, "");
	else
		opt_fns[k](c, s, &val, r);
	if (k >= 0)
		*seen |= 1u << k;
}

static void check_options_for(struct parse *c, const struct src *s, enum pgkg_action a,
			      unsigned seen)
{
	if (is_rewrite(a))
		return;
	for (int k = 0; k < OPT__COUNT; k++) {
		struct word key = {(char *)opt_names[k], strlen(opt_names[k])};
		if ((seen & OPTS_REWRITE_ONLY) & (1u << k))
			errw(c, s, "option ", &key, " only applies to terminate and cancel");
	}
}

/* ---- rules ---- */

static void add_rule(struct parse *c, struct src *s, struct pgkg_rule *r)
{
	struct pgkg_policy *p = c->p;

	if (p->nrules == PGKG_MAX_RULES) {
		if (!c->rules_full)
			errn(c, s, NULL, "too many rules (limit ", PGKG_MAX_RULES, ")");
		c->rules_full = true;
		return;
	}
	if (!s->name_str)
		s->name_str = pool_add(c, s, s->name, strlen(s->name));
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

	if (pgkg_signals_parse(w->s, w->n, &set, &why) < 0 && !why && w->n)
		errw(c, s, "unknown keyword ", w, "");
	else
		err(c, s, "expected SIGNALS TARGET-KINDS ACTION [key=value ...]");
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
	r.signals = parse_signals(c, s, &w[0]);
	r.kinds = parse_kinds(c, s, &w[1]);
	action_ok = parse_action(c, s, &w[2], &a);
	if (action_ok && is_rewrite(a))
		check_kinds_for(c, s, &w[1], a);
	for (int i = 3; i < nw; i++)
		parse_option(c, s, &w[i], &r, &seen);
	if (action_ok)
		check_options_for(c, s, a, seen);
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
		err(c, s, "mode takes one argument: enforce or report");
	else if (word_is(&w[1], "enforce"))
		c->p->mode = PGKG_MODE_ENFORCE;
	else if (word_is(&w[1], "report"))
		c->p->mode = PGKG_MODE_REPORT;
	else
		errw(c, s, "unknown mode ", &w[1], " (enforce or report)");
}

static void parse_source(struct parse *c, struct src *s);

static int open_nofollow(const char *path, int flags)
{
	int fd;

	do
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | flags);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

static COLD void bad_owner(struct parse *c, const char *name, uid_t uid)
{
	struct msg m;
	struct pgkg_buf *b = msg_start(&m, "is owned by uid ");

	pgkg_buf_putl(b, uid);
	pgkg_buf_puts(b, ", not root");
	if (c->trusted_uid != 0) {
		pgkg_buf_puts(b, " or uid ");
		pgkg_buf_putl(b, c->trusted_uid);
	}
	record(c, name, 0, m.s);
}

/* Trust of an opened file or directory; reports each problem at line 0. */
static int check_trust(struct parse *c, const char *name, const struct stat *st, mode_t type)
{
	int bad = 0;

	if ((st->st_mode & S_IFMT) != type) {
		record(c, name, 0, type == S_IFDIR ? "is not a directory" : "is not a regular file");
		return 1;
	}
	if (st->st_uid != 0 && st->st_uid != c->trusted_uid) {
		bad_owner(c, name, st->st_uid);
		bad++;
	}
	if (st->st_mode & S_IWGRP) {
		record(c, name, 0, "is group-writable");
		bad++;
	}
	if (st->st_mode & S_IWOTH) {
		record(c, name, 0, "is world-writable");
		bad++;
	}
	return bad;
}

static bool in_chain(const struct parse *c, dev_t dev, ino_t ino)
{
	for (int d = 0; d <= c->depth; d++) {
		if (c->chain[d].set && c->chain[d].dev == dev && c->chain[d].ino == ino)
			return true;
	}
	return false;
}

/* fstat, loop check (when included from `from`) and trust check: 0 if fine. */
static __attribute__((noinline)) int check_file(struct parse *c, const struct src *from,
						const char *path, int fd, dev_t *dev, ino_t *ino)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		err_errno(c, path, errno, false);
		return -1;
	}
	if (from && S_ISREG(st.st_mode) && in_chain(c, st.st_dev, st.st_ino)) {
		struct word w = {(char *)path, strlen(path)};
		errw(c, from, "include loop: ", &w, " is already being read");
		return -1;
	}
	if (check_trust(c, path, &st, S_IFREG))
		return -1;
	if (st.st_size > PGKG_MAX_FILE) {
		errn(c, NULL, path, "is larger than ", PGKG_MAX_FILE, " bytes");
		return -1;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/* Check and parse an open file, top-level (from NULL) or included. */
static void parse_file(struct parse *c, const struct src *from, const char *path, int fd)
{
	struct src s;
	int depth = from ? c->depth + 1 : 0;
	dev_t dev;
	ino_t ino;

	if (check_file(c, from, path, fd, &dev, &ino) < 0)
		return;
	src_init(&s, path, fd, NULL, 0);
	c->chain[depth].dev = dev;
	c->chain[depth].ino = ino;
	c->chain[depth].set = true;
	c->depth = depth;
	parse_source(c, &s);
	c->chain[depth].set = false;
	c->depth = depth ? depth - 1 : 0;
}

static bool may_include(struct parse *c, const struct src *from)
{
	if (c->depth >= PGKG_MAX_INCLUDE_DEPTH) {
		errn(c, from, NULL, "includes nested too deeply (limit ", PGKG_MAX_INCLUDE_DEPTH, ")");
		return false;
	}
	if (c->nfiles >= PGKG_MAX_INCLUDES) {
		errn(c, from, NULL, "too many policy files (limit ", PGKG_MAX_INCLUDES, ")");
		return false;
	}
	return true;
}

static void include_file(struct parse *c, const struct src *from, const char *path)
{
	int fd;

	if (!may_include(c, from))
		return;
	fd = open_nofollow(path, O_NONBLOCK);
	if (fd == -ENOENT) {
		struct word w = {(char *)path, strlen(path)};
		errw(c, from, "cannot include ", &w, ": no such file");
		return;
	}
	if (fd < 0) {
		err_errno(c, path, -fd, false);
		return;
	}
	c->nfiles++;
	parse_file(c, from, path, fd);
	close(fd);
}

/*
 * include FILE / include_dir DIR: resolve the name into the pool and leave
 * it in c->pending; parse_chunk reads it once this line's frame is gone.
 */
static void parse_include(struct parse *c, const struct src *s, const struct word *w, int nw,
			  bool dir)
{
	if (nw != 2 || w[1].n == 0) {
		struct msg m;
		struct pgkg_buf *b = msg_start(&m, dir ? "include_dir" : "include");
		pgkg_buf_puts(b, nw == 2 ? " needs a non-empty name" : " takes exactly one argument");
		err(c, s, m.s);
		return;
	}
	c->pending = pool_path(c, s, s->dir, s->dirlen, w[1].s, w[1].n);
	c->pending_dir = dir;
}

struct kdirent64 {		/* what getdents64 returns */
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static bool is_conf_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && memcmp(name + n - 5, ".conf", 5) == 0;
}

/* Add the path of each *.conf entry to the pool; returns how many. */
static int add_conf_entries(struct parse *c, const struct src *s, pgkg_str dir, const char *buf,
			    long len, int n)
{
	const char *dname = c->p->pool + dir;

	for (long off = 0; off < len;) {
		unsigned short reclen;
		const char *name = buf + off + offsetof(struct kdirent64, d_name);

		memcpy(&reclen, buf + off + offsetof(struct kdirent64, d_reclen), sizeof(reclen));
		off += reclen;
		if (!is_conf_name(name))
			continue;
		if (n == PGKG_MAX_INCLUDES) {
			errn(c, NULL, dname, "has more than ", PGKG_MAX_INCLUDES, " *.conf files");
			return -1;
		}
		if (!pool_path(c, s, dname, strlen(dname), name, strlen(name)))
			return -1;
		n++;
	}
	return n;
}

/* The *.conf entries of an open directory, appended to the pool in a row. */
static int list_conf(struct parse *c, const struct src *s, int dfd, pgkg_str dir)
{
	char buf[1024] __attribute__((aligned(8)));
	int n = 0;

	for (;;) {
		long r = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err_errno(c, c->p->pool + dir, errno, true);
		if (r <= 0)
			return n;
		n = add_conf_entries(c, s, dir, buf, r, n);
		if (n < 0)
			return 0;
	}
}

/*
 * Open and check DIR, list its *.conf files into the pool from *first on.
 * Out of line so its buffers are off the stack while the files are parsed.
 */
static __attribute__((noinline)) int open_conf_dir(struct parse *c, const struct src *s,
						   pgkg_str dir, pgkg_str *first)
{
	const char *dname = c->p->pool + dir;
	struct stat st;
	int dfd, n = 0;

	dfd = open_nofollow(dname, O_NONBLOCK);	/* no O_DIRECTORY: tell a symlink (ELOOP) */
	if (dfd == -ENOENT)
		return 0;	/* a missing directory is not an error */
	if (dfd < 0) {
		err_errno(c, dname, -dfd, true);
		return 0;
	}
	*first = c->p->pool_used;
	if (fstat(dfd, &st) < 0)
		err_errno(c, dname, errno, true);
	else if (check_trust(c, dname, &st, S_IFDIR) == 0)
		n = list_conf(c, s, dfd, dir);
	close(dfd);
	return n;
}

/* The smallest of the n strings from first on that sorts after prev (bytes). */
static const char *next_in_order(const char *first, int n, const char *prev)
{
	const char *best = NULL, *x = first;

	for (int i = 0; i < n; i++, x += strlen(x) + 1) {
		if (prev && strcmp(x, prev) <= 0)
			continue;
		if (!best || strcmp(x, best) < 0)
			best = x;
	}
	return best;
}

static void include_dir(struct parse *c, const struct src *s, pgkg_str dir)
{
	pgkg_str first = 0;
	int n = open_conf_dir(c, s, dir, &first);
	const char *path = NULL;

	for (int i = 0; i < n; i++) {
		path = next_in_order(c->p->pool + first, n, path);
		if (!path)
			return;	/* cannot happen: names in a directory are distinct */
		include_file(c, s, path);
	}
}

static void run_pending(struct parse *c, const struct src *s)
{
	pgkg_str path = c->pending;

	c->pending = 0;
	if (c->pending_dir)
		include_dir(c, s, path);
	else
		include_file(c, s, c->p->pool + path);
}

/* ---- lines ---- */

static COLD void bad_byte(struct parse *c, const struct src *s, unsigned char ch)
{
	static const char hex[] = "0123456789abcdef";
	char m[] = "control character 0x?? in line";
	char *q = strchr(m, '?');

	q[0] = hex[ch >> 4];
	q[1] = hex[ch & 15];
	err(c, s, m);
}

/* Control characters other than tab are errors; a CR ending the line is dropped. */
static __attribute__((noinline)) bool check_bytes(struct parse *c, const struct src *s,
						  const char *line, size_t *n)
{
	if (memchr(line, '\0', *n)) {
		err(c, s, "NUL byte in line");
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

static __attribute__((noinline)) void parse_line(struct parse *c, struct src *s, char *line,
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

static COLD void too_large(struct parse *c, const struct src *s)
{
	errn(c, s, NULL, "the file is larger than ", PGKG_MAX_FILE, " bytes");
}

/*
 * Parse the complete lines in c->line[0..got), read at offset off.  Returns
 * the bytes consumed (0: the first line does not fit the buffer), or -1 to
 * stop.  Stops early when an include refilled c->line.
 */
static ssize_t parse_chunk(struct parse *c, struct src *s, off_t off, size_t got)
{
	unsigned gen = c->gen;
	size_t pos = 0;

	while (pos < got && c->gen == gen) {
		char *start = c->line + pos;
		char *nl = memchr(start, '\n', got - pos);
		size_t n = nl ? (size_t)(nl - start) : got - pos;

		if (!nl && (pos > 0 || got == sizeof(c->line)))
			break;	/* incomplete: read again from here */
		s->line++;
		if ((size_t)off + pos + n + (nl != NULL) > PGKG_MAX_FILE) {
			too_large(c, s);
			return -1;
		}
		pos += n + (nl != NULL);
		parse_line(c, s, start, n);
		if (c->pending)
			run_pending(c, s);
	}
	return (ssize_t)pos;
}

static COLD void read_error(struct parse *c, const struct src *s, ssize_t e)
{
	errn(c, s, NULL, "read error (errno ", -e, ")");
}

/* A line longer than the buffer at offset off: report it, return its length. */
static ssize_t skip_long_line(struct parse *c, struct src *s, off_t off)
{
	size_t skipped = sizeof(c->line);

	s->line++;
	errn(c, s, NULL, "line longer than ", PGKG_MAX_LINE, " bytes");
	for (;;) {
		ssize_t got;
		char *nl;

		if ((size_t)off + skipped > PGKG_MAX_FILE) {
			too_large(c, s);
			return -1;
		}
		got = fetch(s, off + (off_t)skipped, c->line, sizeof(c->line));
		if (got < 0)
			read_error(c, s, got);
		if (got <= 0)
			return got < 0 ? -1 : (ssize_t)skipped;
		nl = memchr(c->line, '\n', (size_t)got);
		if (nl)
			return (ssize_t)(skipped + (size_t)(nl - c->line) + 1);
		skipped += (size_t)got;
	}
}

static void parse_source(struct parse *c, struct src *s)
{
	off_t off = 0;

	c->gen++;
	for (;;) {
		ssize_t used, got = fetch(s, off, c->line, sizeof(c->line));

		if (got < 0)
			read_error(c, s, got);
		if (got <= 0)
			return;
		used = parse_chunk(c, s, off, (size_t)got);
		if (used == 0)
			used = skip_long_line(c, s, off);
		if (used < 0)
			return;
		off += used;
	}
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
	src_init(&s, name, -1, text, len);
	parse_source(&c, &s);
	return c.errors;
}

int pgkg_policy_load(struct pgkg_policy *p, const char *path, uid_t trusted_uid,
		     pgkg_report_fn report, void *ctx)
{
	struct parse c;
	int fd = open_nofollow(path, O_NONBLOCK);

	if (fd == -ENOENT)
		return -ENOENT;
	pgkg_policy_init(p);
	parse_init(&c, p, report, ctx, trusted_uid);
	pgkg_strlcpy(p->path, path, sizeof(p->path));	/* for display; may be cut */
	if (fd < 0) {
		err_errno(&c, path, -fd, false);
		return c.errors;
	}
	parse_file(&c, NULL, path, fd);
	close(fd);
	/* No rule at all would allow every signal to every cluster process:
	 * never what a file that exists means (an empty or truncated one). */
	if (!c.errors && p->nrules == 0)
		record(&c, path, 0, "has no rules: it would allow every signal; write rules "
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
	src_init(&s, DEFAULT_NAME, -1, pgkg_default_policy_text, strlen(pgkg_default_policy_text));
	s.dir = DEFAULT_DIR;
	s.dirlen = strlen(DEFAULT_DIR);
	parse_source(&c, &s);
	return c.errors;
}

int pgkg_policy_load_default(struct pgkg_policy *p)
{
	return pgkg_policy_load_default_report(p, NULL, NULL);
}
