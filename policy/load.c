/*
 * load.c - reading the policy: a source line by line, files opened and
 * checked on the descriptor, include and include_dir.
 *
 * Rules for this file:
 *  1. MUST NOT allocate, lock, use stdio or depend on the locale: the preload
 *     library parses the policy inside kill().  No opendir() (it allocates):
 *     directories are listed with pgkg_dirwalk (getdents64 into a stack
 *     buffer).
 *  2. MUST keep stack use per call small (well under 16 KiB): one line buffer
 *     (struct parse) serves every include level; a file is read by offset
 *     (pread), so after an include the including file is simply read again
 *     from where it stopped.  An include runs from the reading loop, after
 *     the line that named it is parsed; functions with buffers are out of
 *     line.
 *  3. MUST report every problem as FILE:LINE: message (line 0: the file or
 *     directory as a whole); a file or directory that fails a check is not
 *     read, and the error marks the policy broken.
 *  4. MUST check trust on the opened descriptor (fstat), never on the name.
 *
 * Lines are at most PGKG_MAX_LINE (4096) bytes, a file at most PGKG_MAX_FILE
 * (1 MiB).
 *
 * Includes (`include FILE`, `include_dir DIR`: grammar.c reads the line):
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
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy_int.h"
#include "util.h"

/* ---- sources ---- */

void pol_src_init(struct src *s, const char *name, int fd, const char *text, size_t len)
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

/* ---- files: opened without following links, checked on the descriptor ---- */

int pol_open_nofollow(const char *path, int flags)
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
	struct pgkg_buf *b = pol_msg_start(&m, "is owned by uid ");

	pgkg_buf_putl(b, uid);
	pgkg_buf_puts(b, ", not root");
	if (c->trusted_uid != 0) {
		pgkg_buf_puts(b, " or uid ");
		pgkg_buf_putl(b, c->trusted_uid);
	}
	pol_record(c, name, 0, m.s);
}

/* Trust of an opened file or directory; reports each problem at line 0. */
static int check_trust(struct parse *c, const char *name, const struct stat *st, mode_t type)
{
	int bad = 0;

	if ((st->st_mode & S_IFMT) != type) {
		pol_record(c, name, 0, type == S_IFDIR ? "is not a directory" : "is not a regular file");
		return 1;
	}
	if (st->st_uid != 0 && st->st_uid != c->trusted_uid) {
		bad_owner(c, name, st->st_uid);
		bad++;
	}
	if (st->st_mode & S_IWGRP) {
		pol_record(c, name, 0, "is group-writable");
		bad++;
	}
	if (st->st_mode & S_IWOTH) {
		pol_record(c, name, 0, "is world-writable");
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
		pol_err_errno(c, path, errno, false);
		return -1;
	}
	if (from && S_ISREG(st.st_mode) && in_chain(c, st.st_dev, st.st_ino)) {
		struct word w = {(char *)path, strlen(path)};
		pol_errw(c, from, "include loop: ", &w, " is already being read");
		return -1;
	}
	if (check_trust(c, path, &st, S_IFREG))
		return -1;
	if (st.st_size > PGKG_MAX_FILE) {
		pol_errn(c, NULL, path, "is larger than ", PGKG_MAX_FILE, " bytes");
		return -1;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/* Check and parse an open file, top-level (from NULL) or included. */
void pol_parse_file(struct parse *c, const struct src *from, const char *path, int fd)
{
	struct src s;
	int depth = from ? c->depth + 1 : 0;
	dev_t dev;
	ino_t ino;

	if (check_file(c, from, path, fd, &dev, &ino) < 0)
		return;
	pol_src_init(&s, path, fd, NULL, 0);
	c->chain[depth].dev = dev;
	c->chain[depth].ino = ino;
	c->chain[depth].set = true;
	c->depth = depth;
	pol_parse_source(c, &s);
	c->chain[depth].set = false;
	c->depth = depth ? depth - 1 : 0;
}

/* ---- include FILE ---- */

static bool may_include(struct parse *c, const struct src *from)
{
	if (c->depth >= PGKG_MAX_INCLUDE_DEPTH) {
		pol_errn(c, from, NULL, "includes nested too deeply (limit ", PGKG_MAX_INCLUDE_DEPTH, ")");
		return false;
	}
	if (c->nfiles >= PGKG_MAX_INCLUDES) {
		pol_errn(c, from, NULL, "too many policy files (limit ", PGKG_MAX_INCLUDES, ")");
		return false;
	}
	return true;
}

static void include_file(struct parse *c, const struct src *from, const char *path)
{
	int fd;

	if (!may_include(c, from))
		return;
	fd = pol_open_nofollow(path, O_NONBLOCK);
	if (fd == -ENOENT) {
		struct word w = {(char *)path, strlen(path)};
		pol_errw(c, from, "cannot include ", &w, ": no such file");
		return;
	}
	if (fd < 0) {
		pol_err_errno(c, path, -fd, false);
		return;
	}
	c->nfiles++;
	pol_parse_file(c, from, path, fd);
	close(fd);
}

/* ---- include_dir DIR: its *.conf files in byte order ---- */

static bool is_conf_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && memcmp(name + n - 5, ".conf", 5) == 0;
}

/* The *.conf entries of an open directory, appended to the pool in a row. */
static int list_conf(struct parse *c, const struct src *s, int dfd, pgkg_str dir)
{
	char buf[1024] __attribute__((aligned(8)));
	const char *dname = c->p->pool + dir, *name;
	struct pgkg_dirwalk w;
	int n = 0;

	pgkg_dirwalk_init(&w, dfd, buf, sizeof(buf));
	while ((name = pgkg_dirwalk_next(&w))) {
		if (!is_conf_name(name))
			continue;
		if (n == PGKG_MAX_INCLUDES) {
			pol_errn(c, NULL, dname, "has more than ", PGKG_MAX_INCLUDES, " *.conf files");
			return 0;
		}
		if (!pol_pool_path(c, s, dname, strlen(dname), name, strlen(name)))
			return 0;
		n++;
	}
	if (w.error)
		pol_err_errno(c, dname, -w.error, true);
	return n;
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

	dfd = pol_open_nofollow(dname, O_NONBLOCK);	/* no O_DIRECTORY: tell a symlink (ELOOP) */
	if (dfd == -ENOENT)
		return 0;	/* a missing directory is not an error */
	if (dfd < 0) {
		pol_err_errno(c, dname, -dfd, true);
		return 0;
	}
	*first = c->p->pool_used;
	if (fstat(dfd, &st) < 0)
		pol_err_errno(c, dname, errno, true);
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

/* ---- reading a source line by line ---- */

static COLD void too_large(struct parse *c, const struct src *s)
{
	pol_errn(c, s, NULL, "the file is larger than ", PGKG_MAX_FILE, " bytes");
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
		pol_parse_line(c, s, start, n);
		if (c->pending)
			run_pending(c, s);
	}
	return (ssize_t)pos;
}

static COLD void read_error(struct parse *c, const struct src *s, ssize_t e)
{
	pol_errn(c, s, NULL, "read error (errno ", -e, ")");
}

/* A line longer than the buffer at offset off: report it, return its length. */
static ssize_t skip_long_line(struct parse *c, struct src *s, off_t off)
{
	size_t skipped = sizeof(c->line);

	s->line++;
	pol_errn(c, s, NULL, "line longer than ", PGKG_MAX_LINE, " bytes");
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

void pol_parse_source(struct parse *c, struct src *s)
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

