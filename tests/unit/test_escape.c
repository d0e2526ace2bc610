/*
 * test_escape.c - the one escaping function (pgkg_buf_put_escaped and its
 * wrappers in policy/util.c) on a table of hostile inputs, and the places
 * that print: pgkg_describe_target, pgkg_say, pgkg_syslog, pgkg_put_user,
 * pgkg_put_tty.
 *
 * The promise: what reaches a terminal or syslog holds no C0, DEL, raw or
 * UTF-8-encoded C1, bidi or invisible format character and no invalid
 * UTF-8; valid printable text (é, 日本) stays readable; an audit value can
 * never end its own field.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit.h"
#include "tap.h"
#include "util.h"

struct row {
	const char *name;
	const char *in;
	size_t len;		/* 0: strlen(in) */
	const char *printable;	/* pgkg_buf_put_printable */
	const char *value;	/* pgkg_buf_put_value */
};

static const struct row rows[] = {
	{"plain ASCII", "app", 0, "app", "app"},
	{"empty", "", 0, "", "\"\""},
	{"UTF-8 letter stays", "caf\xc3\xa9", 0, "caf\xc3\xa9", "\"caf\xc3\xa9\""},
	{"CJK stays", "\xe6\x97\xa5\xe6\x9c\xac", 0, "\xe6\x97\xa5\xe6\x9c\xac",
	 "\"\xe6\x97\xa5\xe6\x9c\xac\""},
	{"emoji (4 bytes) stays", "x\xf0\x9f\x90\x98", 0, "x\xf0\x9f\x90\x98", "\"x\xf0\x9f\x90\x98\""},
	{"ESC (C0)", "a\x1b[2Jb", 0, "a\\x1b[2Jb", "\"a\\x1b[2Jb\""},
	{"newline and CR", "a\nb\rc", 0, "a\\x0ab\\x0dc", "\"a\\x0ab\\x0dc\""},
	{"tab and BEL", "\t\a", 0, "\\x09\\x07", "\"\\x09\\x07\""},
	{"DEL", "a\x7f", 0, "a\\x7f", "\"a\\x7f\""},
	{"raw C1 CSI byte 0x9b", "a\x9b" "31mb", 0, "a\\x9b31mb", "\"a\\x9b31mb\""},
	{"raw 0x80 and 0x9f", "\x80\x9f", 0, "\\x80\\x9f", "\"\\x80\\x9f\""},
	{"UTF-8 C1 CSI U+009B", "a\xc2\x9b" "31m", 0, "a\\u{009b}31m", "\"a\\u{009b}31m\""},
	{"UTF-8 U+0080 and U+009F", "\xc2\x80\xc2\x9f", 0, "\\u{0080}\\u{009f}", "\"\\u{0080}\\u{009f}\""},
	{"U+00A0 (after C1) stays", "\xc2\xa0", 0, "\xc2\xa0", "\"\xc2\xa0\""},
	{"RLO U+202E", "abc\xe2\x80\xae" "fdp.exe", 0, "abc\\u{202e}fdp.exe", "\"abc\\u{202e}fdp.exe\""},
	{"LRE..PDF U+202A-U+202C", "\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac", 0,
	 "\\u{202a}\\u{202b}\\u{202c}", "\"\\u{202a}\\u{202b}\\u{202c}\""},
	{"LRO U+202D", "\xe2\x80\xad", 0, "\\u{202d}", "\"\\u{202d}\""},
	{"isolates U+2066-U+2069", "\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", 0,
	 "\\u{2066}\\u{2067}\\u{2068}\\u{2069}", "\"\\u{2066}\\u{2067}\\u{2068}\\u{2069}\""},
	{"LRM/RLM U+200E/F", "\xe2\x80\x8e\xe2\x80\x8f", 0, "\\u{200e}\\u{200f}",
	 "\"\\u{200e}\\u{200f}\""},
	{"ALM U+061C", "\xd8\x9c", 0, "\\u{061c}", "\"\\u{061c}\""},
	{"zero width space U+200B", "a\xe2\x80\x8b" "b", 0, "a\\u{200b}b", "\"a\\u{200b}b\""},
	{"line separator U+2028", "\xe2\x80\xa8", 0, "\\u{2028}", "\"\\u{2028}\""},
	{"BOM U+FEFF", "\xef\xbb\xbf", 0, "\\u{feff}", "\"\\u{feff}\""},
	{"overlong '/' C0 AF", "\xc0\xaf", 0, "\\xc0\\xaf", "\"\\xc0\\xaf\""},
	{"overlong 3-byte NUL", "\xe0\x80\x80", 0, "\\xe0\\x80\\x80", "\"\\xe0\\x80\\x80\""},
	{"surrogate U+D800", "\xed\xa0\x80", 0, "\\xed\\xa0\\x80", "\"\\xed\\xa0\\x80\""},
	{"beyond U+10FFFF", "\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80", "\"\\xf4\\x90\\x80\\x80\""},
	{"truncated sequence at end", "ab\xe2\x80", 0, "ab\\xe2\\x80", "\"ab\\xe2\\x80\""},
	{"lead byte then ASCII", "\xc3" "A", 0, "\\xc3A", "\"\\xc3A\""},
	{"stray continuation", "\xa9", 0, "\\xa9", "\"\\xa9\""},
	{"0xff 0xfe", "\xff\xfe", 0, "\\xff\\xfe", "\"\\xff\\xfe\""},
	{"embedded NUL (counted)", "a\0b", 3, "a\\x00b", "\"a\\x00b\""},
	{"backslash is escaped", "a\\x1b", 0, "a\\\\x1b", "\"a\\\\x1b\""},
	{"forged audit field", "x result=failed", 0, "x result=failed", "\"x result=failed\""},
	{"quote cannot close the value", "x\" result=\"failed", 0, "x\" result=\"failed",
	 "\"x\\\" result=\\\"failed\""},
	{"'=' alone is quoted", "a=b", 0, "a=b", "\"a=b\""},
	{"path stays bare", "/srv/pg/15/main", 0, "/srv/pg/15/main", "/srv/pg/15/main"},
};

/* No byte of s is a control character, and s is valid UTF-8 without C1 or
 * bidi code points: what a terminal may safely receive. */
static int safe_text(const char *s, size_t n)
{
	char tmp[4096];
	struct pgkg_buf b;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	/* escaping safe text changes nothing (flags 0 leaves '\' alone) */
	pgkg_buf_init(&b, tmp, sizeof(tmp));
	pgkg_buf_put_escaped(&b, s, n, 0);
	return b.len == n && memcmp(tmp, s, n) == 0;
}

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		size_t n = r->len ? r->len : strlen(r->in);
		char out[512];
		struct pgkg_buf b;

		pgkg_buf_init(&b, out, sizeof(out));
		pgkg_buf_put_escaped(&b, r->in, n, PGKG_ESC_BACKSLASH);
		is_str(out, r->printable, "printable: %s", r->name);
		ok(safe_text(out, b.len), "printable output is terminal-safe: %s", r->name);
		pgkg_buf_init(&b, out, sizeof(out));
		pgkg_buf_put_value_n(&b, r->in, n);
		is_str(out, r->value, "audit value: %s", r->name);
	}
}

/* Truncation never leaves half an escape or half a character. */
static void test_truncation(void)
{
	char out[6];
	struct pgkg_buf b;

	pgkg_buf_init(&b, out, sizeof(out));
	pgkg_buf_put_printable(&b, "ab\x1b" "cd");
	is_str(out, "ab", "an escape that does not fit is left out whole");
	ok(b.truncated, "and the buffer says it was truncated");
	pgkg_buf_init(&b, out, sizeof(out));
	pgkg_buf_put_printable(&b, "abc\xe6\x97\xa5");
	is_str(out, "abc", "a UTF-8 character that does not fit is left out whole");
	pgkg_buf_init(&b, out, 1);
	pgkg_buf_put_printable(&b, "\x1b");
	is_str(out, "", "a one-byte buffer stays empty and terminated");
}

/* Every byte value, alone and as the lead of a 2-byte pair: output is safe. */
static void test_exhaustive_pairs(void)
{
	int bad = 0;

	for (int c1 = 0; c1 < 256; c1++) {
		for (int c2 = 0; c2 < 256; c2++) {
			char in[3] = {(char)c1, (char)c2, 'z'}, out[64];
			struct pgkg_buf b;

			pgkg_buf_init(&b, out, sizeof(out));
			pgkg_buf_put_escaped(&b, in, sizeof(in), PGKG_ESC_BACKSLASH);
			if (!safe_text(out, b.len))
				bad++;
		}
	}
	is_int(bad, 0, "all 65536 two-byte prefixes escape to terminal-safe text");
}

static void test_describe_target(void)
{
	struct pgkg_target t;
	char out[1024];
	struct pgkg_buf b;

	memset(&t, 0, sizeof(t));
	t.pid = 4242;
	t.kind = PGKG_KIND_CLIENT_BACKEND;
	strcpy(t.title.user, "ev\xc2\x9bil");
	strcpy(t.title.db, "d\xe2\x80\xae" "b");
	strcpy(t.title.state, "idle\x1b]0;pwned\x07");
	strcpy(t.cluster.datadir, "/srv/\xe2\x81\xa6pg");
	pgkg_buf_init(&b, out, sizeof(out));
	pgkg_describe_target(&b, &t);
	is_str(out, "client backend ev\\u{009b}il@d\\u{202e}b, idle\\x1b]0;pwned\\x07; cluster "
		    "/srv/\\u{2066}pg",
	       "describe_target escapes role, database, state and data directory");
}

/* pgkg_say: a caller that forgot to escape still cannot reach the terminal. */
static void test_say(void)
{
	int p[2];
	char got[256] = "";
	ssize_t n;

	if (pipe(p) < 0) {
		ok(0, "pipe: %s", strerror(errno));
		return;
	}
	pgkg_say(p[1], "raw \x1b[31m \xc2\x9b \xe2\x80\xae \x9b \\ caf\xc3\xa9 end");
	close(p[1]);
	n = read(p[0], got, sizeof(got) - 1);
	close(p[0]);
	got[n > 0 ? n : 0] = '\0';
	is_str(got, "pgkillguard: raw \\x1b[31m \\u{009b} \\u{202e} \\x9b \\ caf\xc3\xa9 end\n",
	       "pgkg_say escapes what reaches it, one line, backslash and é as they were");
}

/* pgkg_syslog to a datagram socket of ours. */
static void test_syslog(void)
{
	char dir[] = "/tmp/pgkg-esc-XXXXXX", path[128], got[2048] = "";
	int fd;
	ssize_t n = -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/log", dir);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		pgkg_syslog(path, 4, 77, "x\ny \xe2\x81\xa9 \xff");
		n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	}
	got[n > 0 ? n : 0] = '\0';
	is_str(got, "<84>pgkillguard[77]: x\\x0ay \\u{2069} \\xff",
	       "pgkg_syslog escapes the whole datagram: no newline can start a forged line");
	if (fd >= 0)
		close(fd);
	unlink(path);
	rmdir(dir);
}

/* user= from a passwd entry whose name holds blanks and '=' is quoted. */
static void test_user(void)
{
	char dir[] = "/tmp/pgkg-esc-XXXXXX", path[128], out[256];
	struct pgkg_buf b;
	int fd;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/passwd", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		static const char text[] = "root:x:0:0::/root:/bin/sh\n"
					   "x result=ok\x1b:x:4711:4711::/:/bin/sh\n";
		(void)!write(fd, text, sizeof(text) - 1);
		close(fd);
	}
	pgkg_policy_set_account_files(path, NULL);
	pgkg_buf_init(&b, out, sizeof(out));
	pgkg_put_user(&b, 4711);
	is_str(out, "\"x result=ok\\x1b\"", "user= with blanks, '=' and ESC is quoted and escaped");
	pgkg_buf_init(&b, out, sizeof(out));
	pgkg_put_user(&b, 0);
	is_str(out, "root", "an ordinary name stays bare");
	pgkg_policy_set_account_files(NULL, NULL);
	unlink(path);
	rmdir(dir);
}

static void write_text(const char *path, const char *text, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd >= 0) {
		(void)!write(fd, text, n);
		close(fd);
	}
}

static const char *user_of(uid_t uid)
{
	static char out[512];
	struct pgkg_buf b;

	pgkg_buf_init(&b, out, sizeof(out));
	pgkg_put_user(&b, uid);
	return out;
}

/* The name comes from the one accounts reader (policy/accounts.c), which
 * streams the file: an entry far down is found, a line longer than its
 * buffer is skipped, the first well-formed entry wins. */
static void test_user_far(void)
{
	static char text[64 * 1024];
	char dir[] = "/tmp/pgkg-esc-XXXXXX", path[128], longname[301];
	size_t n = 0;
	uint32_t id = 0;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/passwd", dir);
	for (int i = 0; i < 600; i++)	/* ~30 KiB before the entries that matter */
		n += (size_t)snprintf(text + n, sizeof(text) - n, "user%d:x:%d:100::/home/user%d:/bin/sh\n",
				      i, 20000 + i, i);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "toolong:x:4712:100:");
	memset(text + n, 'g', 2000);
	n += 2000;
	memset(longname, 'n', 300);
	longname[300] = '\0';
	n += (size_t)snprintf(text + n, sizeof(text) - n,
			      ":/:/bin/sh\nfar:x:4712:100::/:/bin/sh\n:x:4714:1::/:/bin/sh\n"
			      "bad:x:-4714:1::/:/bin/sh\nfirst:x:4714:1::/:/bin/sh\nsecond:x:4714:1::/:/bin/sh\n"
			      "%s:x:4716:1::/:/bin/sh\nlast:x:4717:1::/:/bin/sh", longname);
	write_text(path, text, n);
	pgkg_policy_set_account_files(path, NULL);
	is_str(user_of(4712), "far", "uid found 30 KiB down the file, the 2 KiB line before it skipped");
	is_str(user_of(4714), "first", "empty and malformed entries skipped; the first good one wins");
	is_str(user_of(4713), "4713", "no entry: the number");
	is_str(user_of(4716), "4716", "a name longer than 255 bytes: the number");
	is_str(user_of(4717), "last", "the last line, without newline");
	ok(pgkg_account_id(PGKG_ACCOUNT_USER, "far", 3, &id) && id == 4712,
	   "the same reader answers name -> id");
	ok(!pgkg_account_id(PGKG_ACCOUNT_USER, "toolong", 7, &id), "the long line has no name either");
	pgkg_policy_set_account_files("/nonexistent/passwd", NULL);
	is_str(user_of(0), "0", "unreadable passwd: the number");
	pgkg_policy_set_account_files(NULL, NULL);
	unlink(path);
	rmdir(dir);
}

/* The terminal comes from tty_nr of pgkg_parse_stat (field 7). */
static void test_tty(void)
{
	static const struct {
		const char *tty_nr, *want;
	} cases[] = {
		{"34817", "pts/1"}, {"1025", "tty1"}, {"1281", "tty(5,1)"}, {"0", "?"}, {"-5", "?"},
	};
	char dir[] = "/tmp/pgkg-esc-XXXXXX", path[160], stat_text[256], out[64];
	struct pgkg_buf b;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/42", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/42/stat", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = snprintf(stat_text, sizeof(stat_text),
				 "42 (ba sh) S 1 42 42 %s 42 4194560 1 0 0 0 1 2 0 0 20 0 1 0 777 1000 50\n",
				 cases[i].tty_nr);
		write_text(path, stat_text, (size_t)n);
		pgkg_buf_init(&b, out, sizeof(out));
		pgkg_put_tty(&b, dir, 42);
		ok(strcmp(out, cases[i].want) == 0, "tty_nr %s is %s (got %s)", cases[i].tty_nr, cases[i].want, out);
	}
	pgkg_buf_init(&b, out, sizeof(out));
	pgkg_put_tty(&b, dir, 43);
	is_str(out, "?", "a gone process has no terminal");
	unlink(path);
	snprintf(path, sizeof(path), "%s/42", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	/* test_table 3 per row; truncation 4, pairs, describe, say, syslog 1 each; user 2;
	 * user_far 8; tty 6 */
	plan((int)(sizeof(rows) / sizeof(rows[0])) * 3 + 4 + 1 + 1 + 1 + 1 + 2 + 8 + 6);
	test_table();
	test_truncation();
	test_exhaustive_pairs();
	test_describe_target();
	test_say();
	test_syslog();
	test_user();
	test_user_far();
	test_tty();
	diag("%zu hostile inputs in the table", sizeof(rows) / sizeof(rows[0]));
	return done_testing();
}
