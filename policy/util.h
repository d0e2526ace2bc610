/*
 * util.h - async-signal-safe building blocks shared by the decision core,
 * the preload library and the command.
 *
 * Rules for everything declared here:
 *  1. MUST NOT allocate, lock, use stdio or touch locale: these run inside
 *     kill() called from signal handlers, in any process, PID 1 included.
 *  2. MUST restart on EINTR and never block on anything but a regular file
 *     or procfs read.
 *  3. Return 0 (or a length) on success, a negative errno on failure.
 */
#ifndef PGKG_UTIL_H
#define PGKG_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Bounded string builder: never overflows, remembers truncation. */
struct pgkg_buf {
	char *p;
	size_t cap;
	size_t len;
	bool truncated;
};

void pgkg_buf_init(struct pgkg_buf *b, char *storage, size_t cap);
void pgkg_buf_puts(struct pgkg_buf *b, const char *s);
void pgkg_buf_putn(struct pgkg_buf *b, const char *s, size_t n);
void pgkg_buf_putc(struct pgkg_buf *b, char c);
void pgkg_buf_putl(struct pgkg_buf *b, long long v);
/*
 * The one escaping function for anything printed to a terminal or syslog.
 * Copies s[0..n) as text that cannot steer a terminal or forge a line:
 *   C0 controls, DEL and every byte that is not part of well-formed UTF-8
 *   (raw C1 0x80-0x9f, overlong forms, surrogates, truncated sequences)
 *     -> \xHH, one per byte;
 *   well-formed UTF-8 for C1 controls (U+0080-U+009F), bidi controls
 *   (U+061C, U+200E/F, U+202A-E, U+2066-9) and other invisible format
 *   characters (U+200B-D, U+2028/9, U+2060-F, U+FEFF, U+FFF9-B)
 *     -> \u{XXXX};
 *   '\' -> \\ with PGKG_ESC_BACKSLASH, '"' -> \" with PGKG_ESC_QUOTE;
 *   everything else (printable ASCII, other valid UTF-8 such as "é") as is.
 * The output is never a partial escape: it stops at the buffer's end. */
#define PGKG_ESC_BACKSLASH 1u
#define PGKG_ESC_QUOTE 2u
void pgkg_buf_put_escaped(struct pgkg_buf *b, const char *s, size_t n, unsigned flags);
/* pgkg_buf_put_escaped(s, strlen(s), PGKG_ESC_BACKSLASH): text in a message. */
void pgkg_buf_put_printable(struct pgkg_buf *b, const char *s);
/* An audit field's value: as is when it is non-empty printable ASCII without
 * blanks, '=', '"' or '\'; else in double quotes, escaped (\" \\ \xHH \u{}),
 * so no value can forge another key=value field. */
void pgkg_buf_put_value(struct pgkg_buf *b, const char *s);
void pgkg_buf_put_value_n(struct pgkg_buf *b, const char *s, size_t n);

/* Read at most cap-1 bytes of a file, NUL-terminate; returns length or -errno. */
ssize_t pgkg_read_file(const char *path, char *buf, size_t cap);
/* Same, relative to an open directory fd (openat). */
ssize_t pgkg_read_file_at(int dirfd, const char *name, char *buf, size_t cap);
/* Read an open fd to its end (or cap - 1 bytes), NUL-terminated; -errno. */
ssize_t pgkg_read_fd(int fd, char *buf, size_t cap);
/* readlink + NUL termination; returns length or -errno (-ENAMETOOLONG if cut). */
ssize_t pgkg_readlink(const char *path, char *buf, size_t cap);
/* "<root>/<pid>/<leaf>" (leaf may be NULL): 0 or -ENAMETOOLONG. */
int pgkg_proc_path(char *buf, size_t cap, const char *procroot, pid_t pid, const char *leaf);

/* Parse a decimal integer occupying exactly s[0..n) (optional leading '-'),
 * within [min, max]: 0, -EINVAL (not a number) or -ERANGE. */
int pgkg_parse_ll(const char *s, size_t n, long long min, long long max, long long *out);

/* Milliseconds on the monotonic clock (clock_gettime: async-signal-safe). */
long long pgkg_mono_ms(void);

/* s[0..n) is one or more ASCII digits. */
bool pgkg_all_digits(const char *s, size_t n);

/* Length-bounded helpers that do not depend on locale. */
bool pgkg_streq(const char *a, const char *b);
bool pgkg_starts_with(const char *s, const char *prefix);
size_t pgkg_strlcpy(char *dst, const char *src, size_t cap);
size_t pgkg_strlen(const char *s);

/*
 * Listing a directory without libc's allocating readdir (the library may run
 * in a signal handler): one getdents64 batch into a caller's buffer, then
 * its entries one by one.
 *
 *   struct pgkg_dirwalk w;  const char *name;
 *   pgkg_dirwalk_init(&w, dfd, buf, sizeof(buf));
 *   while ((name = pgkg_dirwalk_next(&w))) ...;   w.error: 0 or -errno
 */
struct pgkg_dirwalk {
	int dfd;
	char *buf;
	size_t cap;
	long len, off;
	int error;
};
void pgkg_dirwalk_init(struct pgkg_dirwalk *w, int dfd, char *buf, size_t cap);
const char *pgkg_dirwalk_next(struct pgkg_dirwalk *w);

#endif
