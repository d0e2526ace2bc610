/*
 * util.c - async-signal-safe helpers (see util.h for the rules).
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "rawsys.h"

void pgkg_buf_init(struct pgkg_buf *b, char *storage, size_t cap)
{
	b->p = storage;
	b->cap = cap;
	b->len = 0;
	b->truncated = false;
	if (cap)
		storage[0] = '\0';
}

void pgkg_buf_putn(struct pgkg_buf *b, const char *s, size_t n)
{
	if (!b->cap)
		return;
	for (size_t i = 0; i < n; i++) {
		if (b->len + 1 >= b->cap) {
			b->truncated = true;
			break;
		}
		b->p[b->len++] = s[i];
	}
	b->p[b->len] = '\0';
}

void pgkg_buf_puts(struct pgkg_buf *b, const char *s)
{
	pgkg_buf_putn(b, s, pgkg_strlen(s));
}

void pgkg_buf_putc(struct pgkg_buf *b, char c)
{
	pgkg_buf_putn(b, &c, 1);
}

void pgkg_buf_putl(struct pgkg_buf *b, long long v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--i] = '-';
	pgkg_buf_putn(b, tmp + i, sizeof(tmp) - i);
}

static const char hexdigits[] = "0123456789abcdef";

/* All of s[0..n) or nothing: an escape or a UTF-8 sequence is never cut. */
static void put_whole(struct pgkg_buf *b, const char *s, size_t n)
{
	if (b->len + n >= b->cap) {
		b->truncated = true;
		return;
	}
	pgkg_buf_putn(b, s, n);
}

static void put_hex_byte(struct pgkg_buf *b, unsigned char c)
{
	char e[4] = {'\\', 'x', hexdigits[c >> 4], hexdigits[c & 15]};

	put_whole(b, e, sizeof(e));
}

/* "\u{202e}" */
static void put_codepoint(struct pgkg_buf *b, unsigned cp)
{
	char e[12];
	size_t n = 0;
	int shift = cp > 0xffff ? 16 : 12;

	e[n++] = '\\';
	e[n++] = 'u';
	e[n++] = '{';
	for (; shift >= 0; shift -= 4)
		e[n++] = hexdigits[(cp >> shift) & 15];
	e[n++] = '}';
	put_whole(b, e, n);
}

/* Code points that steer or hide text on a terminal or in a log viewer:
 * C1 controls, bidi marks, embeddings, overrides and isolates, invisible
 * separators and joiners, the BOM, interlinear annotations. */
static bool hostile_codepoint(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) ||
	       cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb);
}

/* Length of the well-formed UTF-8 sequence at s[0..n) with its code point,
 * or 0 (overlong, surrogate, beyond U+10FFFF, truncated, stray byte). */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	size_t len;
	unsigned v, min;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, v = s[0] & 0x1fu, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, v = s[0] & 0x0fu, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, v = s[0] & 0x07u, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

void pgkg_buf_put_escaped(struct pgkg_buf *b, const char *s, size_t n, unsigned flags)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n && !b->truncated;) {
		unsigned char c = u[i];
		unsigned cp;
		size_t len;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				put_hex_byte(b, c);
			else if ((c == '\\' && (flags & PGKG_ESC_BACKSLASH)) ||
				 (c == '"' && (flags & PGKG_ESC_QUOTE)))
				put_whole(b, (const char[]){'\\', (char)c}, 2);
			else
				pgkg_buf_putc(b, (char)c);
			i++;
		} else if (!(len = utf8_seq(u + i, n - i, &cp))) {
			put_hex_byte(b, c);	/* invalid UTF-8: byte by byte */
			i++;
		} else {
			if (hostile_codepoint(cp))
				put_codepoint(b, cp);
			else
				put_whole(b, s + i, len);
			i += len;
		}
	}
}

void pgkg_buf_put_printable(struct pgkg_buf *b, const char *s)
{
	pgkg_buf_put_escaped(b, s, pgkg_strlen(s), PGKG_ESC_BACKSLASH);
}

/* Characters an audit value may hold without quotes. */
static bool bare_value(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || c == '=' || c == '"' || c == '\\')
			return false;
	}
	return true;
}

void pgkg_buf_put_value_n(struct pgkg_buf *b, const char *s, size_t n)
{
	if (bare_value(s, n)) {
		pgkg_buf_putn(b, s, n);
		return;
	}
	pgkg_buf_putc(b, '"');
	pgkg_buf_put_escaped(b, s, n, PGKG_ESC_BACKSLASH | PGKG_ESC_QUOTE);
	pgkg_buf_putc(b, '"');
}

void pgkg_buf_put_value(struct pgkg_buf *b, const char *s)
{
	pgkg_buf_put_value_n(b, s, pgkg_strlen(s));
}

ssize_t pgkg_read_fd(int fd, char *buf, size_t cap)
{
	size_t got = 0;

	while (got + 1 < cap) {
		ssize_t r = read(fd, buf + got, cap - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}

ssize_t pgkg_read_file_at(int dirfd, const char *name, char *buf, size_t cap)
{
	int fd;
	ssize_t r;

	if (!cap)
		return -EINVAL;
	do
		fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	r = pgkg_read_fd(fd, buf, cap);
	close(fd);
	return r;
}

ssize_t pgkg_read_file(const char *path, char *buf, size_t cap)
{
	return pgkg_read_file_at(AT_FDCWD, path, buf, cap);
}

ssize_t pgkg_readlink(const char *path, char *buf, size_t cap)
{
	ssize_t r;

	if (cap < 2)
		return -EINVAL;
	r = readlink(path, buf, cap);
	if (r < 0)
		return -errno;
	if ((size_t)r >= cap)
		return -ENAMETOOLONG;
	buf[r] = '\0';
	return r;
}

int pgkg_proc_path(char *buf, size_t cap, const char *procroot, pid_t pid, const char *leaf)
{
	struct pgkg_buf b;

	pgkg_buf_init(&b, buf, cap);
	pgkg_buf_puts(&b, procroot);
	pgkg_buf_putc(&b, '/');
	pgkg_buf_putl(&b, pid);
	if (leaf) {
		pgkg_buf_putc(&b, '/');
		pgkg_buf_puts(&b, leaf);
	}
	return b.truncated ? -ENAMETOOLONG : 0;
}

int pgkg_parse_ll(const char *s, size_t n, long long min, long long max, long long *out)
{
	bool neg = false;
	unsigned long long v = 0, limit;
	size_t i = 0;

	if (n && s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == n)
		return -EINVAL;
	limit = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (; i < n; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (unsigned)(s[i] - '0');
		if (v > (limit - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (neg) {
		long long sv = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
		if (sv < min)
			return -ERANGE;
		*out = sv;
		return 0;
	}
	if ((long long)v > max || (long long)v < min)
		return -ERANGE;
	*out = (long long)v;
	return 0;
}

long long pgkg_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool pgkg_all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

size_t pgkg_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

bool pgkg_streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

bool pgkg_starts_with(const char *s, const char *prefix)
{
	while (*prefix) {
		if (*s++ != *prefix++)
			return false;
	}
	return true;
}

size_t pgkg_strlcpy(char *dst, const char *src, size_t cap)
{
	size_t n = pgkg_strlen(src);

	if (cap) {
		size_t c = n < cap - 1 ? n : cap - 1;
		for (size_t i = 0; i < c; i++)
			dst[i] = src[i];
		dst[c] = '\0';
	}
	return n;
}

/* ---- directory listing ---- */

struct kdirent64 {		/* what getdents64 returns */
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

void pgkg_dirwalk_init(struct pgkg_dirwalk *w, int dfd, char *buf, size_t cap)
{
	*w = (struct pgkg_dirwalk){.dfd = dfd, .buf = buf, .cap = cap};
}

const char *pgkg_dirwalk_next(struct pgkg_dirwalk *w)
{
	unsigned short reclen;
	const char *name;

	while (w->off >= w->len) {
		/* raw: in the preload library syscall() is our own wrapper */
		long r = pgkg_raw(SYS_getdents64, w->dfd, (long)w->buf, (long)w->cap, 0);
		if (r == -EINTR)
			continue;
		if (r <= 0) {
			w->error = r < 0 ? (int)r : 0;
			return NULL;
		}
		w->len = r;
		w->off = 0;
	}
	memcpy(&reclen, w->buf + w->off + offsetof(struct kdirent64, d_reclen), sizeof(reclen));
	name = w->buf + w->off + offsetof(struct kdirent64, d_name);
	w->off += reclen ? reclen : w->len;	/* never loop on a zero length */
	return name;
}
