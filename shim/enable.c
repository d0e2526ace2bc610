/*
 * enable.c - turning the preload library on and off for a host:
 * `pgkillguard enable`, `disable` and `status`.
 *
 *   enable --system         ROOT/etc/ld.so.preload names the library: every
 *                           dynamically linked process loads it
 *   enable --login-shells   ROOT/etc/profile.d/pgkillguard.sh preloads it in
 *                           interactive login shells (of one --group)
 *   disable --system | --login-shells | --all
 *   status                  what is enabled where; does each file exist
 *
 * Rules:
 *  1. Nothing is enabled before the library has been loaded into a test
 *     process (LD_PRELOAD; the child checks /proc/self/maps and where kill()
 *     resolves, then calls it) and has run there, and before the policy it
 *     will read passes the check.
 *  2. Every file is replaced atomically: a temporary file in the same
 *     directory, written, fsync'd, renamed over the old one, the directory
 *     fsync'd.  A crash leaves the old or the new file, never half of one.
 *  3. In ld.so.preload, entries that are not ours, and comments, are kept as
 *     they are.  Ours are the entries whose file name is libpgkillguard.so,
 *     wherever they point; after enable there is exactly one.
 *  4. disable only removes, so it works when the library is already gone.
 *     A file left with nothing but white space is removed.
 *  5. With --root DIR (or PGKILLGUARD_ROOT, ignored in setuid programs)
 *     every file read or written is under DIR; paths written into the files
 *     are those seen from inside DIR.
 *  6. Concurrent runs are serialised with flock on ROOT/etc.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "enable.h"
#include "guard.h"
#include "util.h"

#ifndef PGKG_LIBDIR
#define PGKG_LIBDIR "/usr/local/lib"
#endif

#define LIB_NAME "libpgkillguard.so"
#define DEFAULT_LIBRARY PGKG_LIBDIR "/" LIB_NAME
#define PRELOAD_FILE "/etc/ld.so.preload"
#define PROFILE_FILE "/etc/profile.d/pgkillguard.sh"
#define SNIPPET_MARK "# Written by `pgkillguard enable --login-shells`"
#define TAG_LIBRARY "# pgkillguard-library: "
#define TAG_GROUP "# pgkillguard-group: "
#define MAX_FILE (1 << 20)
#define TEST_SECONDS 10

enum { M_SYSTEM = 1, M_LOGIN = 2 };

struct opts {
	unsigned modes;
	char root[PATH_MAX];	/* "" or an absolute path without a trailing '/' */
	const char *library;	/* as seen inside root */
	const char *group;	/* --login-shells only; NULL: every user */
};

/* A growing text buffer; dies when out of memory. */
struct text {
	char *p;
	size_t len, cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = (t->len + n + 1) * 2;
		char *p = realloc(t->p, cap);
		if (!p)
			die("out of memory");
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void text_adds(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

/* ---- paths and files ---- */

/* ROOT + path, in buf. */
static const char *under(const struct opts *o, const char *path, char *buf, size_t cap)
{
	if ((size_t)snprintf(buf, cap, "%s%s", o->root, path) >= cap)
		die("path too long: %s%s", o->root, path);
	return buf;
}

/* The whole file, NUL-terminated, or NULL if it does not exist. */
static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char *buf;
	ssize_t n;

	if (fd < 0 && errno == ENOENT)
		return NULL;
	if (fd < 0 && errno == ELOOP)
		die("%s is a symbolic link: change it by hand", path);
	if (fd < 0 || fstat(fd, &st) < 0)
		die_errno("%s", path);
	if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE)
		die("%s: not a regular file of at most 1 MiB", path);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		die("out of memory");
	*len = 0;
	while ((n = read(fd, buf + *len, (size_t)st.st_size - *len)) != 0) {
		if (n < 0 && errno != EINTR)
			die_errno("%s", path);
		*len += n > 0 ? (size_t)n : 0;
	}
	close(fd);
	buf[*len] = '\0';
	return buf;
}

static void sync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	pgkg_strlcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		die_errno("%s: cannot sync the directory", dir);
	close(fd);
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Rule 2: write a temporary file beside path, fsync, rename over path. */
static void replace_file(const char *path, const char *s, size_t n, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, err;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.pgkillguard-XXXXXX", path) >= sizeof(tmp))
		die("path too long: %s", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		die_errno("%s: cannot create a temporary file", tmp);
	if (fchmod(fd, mode) < 0 || write_all(fd, s, n) < 0 || fsync(fd) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		err = errno;
		unlink(tmp);
		errno = err;
		die_errno("%s: cannot replace it (unchanged)", path);
	}
	sync_dir_of(path);
}

static void remove_file(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		die_errno("%s: cannot remove it", path);
	sync_dir_of(path);
}

/* Rule 6: one enable or disable at a time. */
static int lock_etc(const struct opts *o)
{
	char dir[PATH_MAX];
	int fd = open(under(o, "/etc", dir, sizeof(dir)), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || flock(fd, LOCK_EX) < 0)
		die_errno("%s: cannot lock", dir);
	return fd;
}

static bool only_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n", s[i]))
			return false;
	return true;
}

/* ---- ld.so.preload: entries separated by white space or ':', '#' comments ---- */

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ':' || c == '\r';
}

static bool is_ours(const char *tok, size_t n)
{
	size_t k = sizeof(LIB_NAME) - 1;

	return n >= k && !memcmp(tok + n - k, LIB_NAME, k) && (n == k || tok[n - k - 1] == '/');
}

/* The next entry in [*p, end), or NULL; *n is its length. */
static const char *next_entry(const char **p, const char *end, size_t *n)
{
	const char *s = *p, *e;

	while (s < end && is_sep(*s))
		s++;
	if (s >= end)
		return NULL;
	for (e = s; e < end && !is_sep(*e); e++)
		;
	*n = (size_t)(e - s);
	*p = e;
	return s;
}

struct scan {
	const char *want;	/* the entry enable writes, or NULL */
	unsigned ours, exact;
};

/* Append line [s, e) to out without our entries (rule 3). */
static void filter_line(const char *s, const char *e, bool nl, struct text *out, struct scan *sc)
{
	const char *hash = memchr(s, '#', (size_t)(e - s));
	const char *p = s, *end = hash ? hash : e, *tok;
	struct text kept = {0};
	unsigned before = sc->ours;
	size_t n;

	while ((tok = next_entry(&p, end, &n))) {
		if (!is_ours(tok, n)) {
			if (kept.len)
				text_adds(&kept, " ");
			text_add(&kept, tok, n);
			continue;
		}
		sc->ours++;
		sc->exact += sc->want && strlen(sc->want) == n && !memcmp(tok, sc->want, n);
	}
	if (sc->ours == before) {
		text_add(out, s, (size_t)(e - s) + nl);
	} else if (kept.len || hash) {
		if (kept.len)
			text_add(out, kept.p, kept.len);
		if (kept.len && hash)
			text_adds(out, " ");
		if (hash)
			text_add(out, hash, (size_t)(e - hash));
		text_adds(out, "\n");
	}
	free(kept.p);
}

/* The file's text without our entries. */
static struct text filter_preload(const char *in, size_t len, struct scan *sc)
{
	struct text out = {0};
	const char *s = in, *end = in + len;

	text_adds(&out, "");
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		filter_line(s, e, nl != NULL, &out, sc);
		s = nl ? nl + 1 : end;
	}
	return out;
}

/* ---- checks before enabling (rule 1) ---- */

static bool trusted(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == getuid()) && !(st->st_mode & 022);
}

static void check_library_path(const char *lib)
{
	if (lib[0] != '/' || strstr(lib, "/../") || strstr(lib, "/./"))
		die("--library %s: must be an absolute path without . or .. components", lib);
	for (const char *c = lib; *c; c++)
		if (!strchr("/._+-@", *c) && !(*c >= '0' && *c <= '9') &&
		    !((*c | 0x20) >= 'a' && (*c | 0x20) <= 'z'))
			die("--library %s: only letters, digits and / . _ + - @ may appear in a "
			    "preloaded path", lib);
}

/* The library and every directory above it (inside the root) are owned by
 * root (or you) and writable by their owner alone: every process may load it. */
static void check_library_file(const struct opts *o, char *host, size_t cap)
{
	char dir[PATH_MAX], at[PATH_MAX];
	struct stat st;
	char *slash;

	under(o, o->library, host, cap);
	if (stat(host, &st) < 0)
		die_errno("%s", host);
	if (!S_ISREG(st.st_mode) || !trusted(&st))
		die("%s must be a regular file owned by root and writable by root alone", host);
	pgkg_strlcpy(dir, o->library, sizeof(dir));
	while ((slash = strrchr(dir, '/'))) {
		*slash = '\0';
		under(o, dir[0] ? dir : "/", at, sizeof(at));
		if (stat(at, &st) < 0)
			die_errno("%s", at);
		if (!S_ISDIR(st.st_mode) || !trusted(&st))
			die("%s: a directory above the library must be owned by root and "
			    "writable by root alone", at);
	}
}

static void check_policy(const struct opts *o)
{
	static struct pgkg_policy p;
	char path[PATH_MAX];

	under(o, PGKG_POLICY_PATH, path, sizeof(path));
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return;	/* the built-in default applies */
	pgkg_policy_load_named(&p, path, getuid(), NULL, NULL);
	if (p.broken || p.nerrors)
		die("%s is invalid (%s): fix it first, see `pgkillguard check %s`; not enabled",
		    path, p.first_error, path);
}

/* Load the library into a child (LD_PRELOAD) that runs `__preload-test`. */
static void test_load(const char *host_lib)
{
	char env[PATH_MAX + 16];
	char *const argv[] = {"pgkillguard", "__preload-test", (char *)host_lib, NULL};
	char *const envp[] = {env, NULL};
	int status;
	pid_t pid;

	snprintf(env, sizeof(env), "LD_PRELOAD=%s", host_lib);
	pid = fork();
	if (pid < 0)
		die_errno("fork");
	if (pid == 0) {
		alarm(TEST_SECONDS);
		execve("/proc/self/exe", argv, envp);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die_errno("waitpid");
	if (WIFSIGNALED(status))
		die("%s: a test process with the library preloaded died of signal %d (%s); "
		    "not enabled", host_lib, WTERMSIG(status), strsignal(WTERMSIG(status)));
	if (WEXITSTATUS(status) == 127)
		die("cannot start the test process (/proc/self/exe): is /proc mounted?");
	if (WEXITSTATUS(status) != 0)
		die("%s does not load and run in a test process (see above); not enabled", host_lib);
}

/* True if realpath `want` is mapped into this process. */
static bool mapped(const char *want)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char *line = NULL, *path;
	size_t cap = 0;
	bool found = false;

	if (!f)
		die_errno("/proc/self/maps");
	while (!found && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		path = strchr(line, '/');
		found = path && !strcmp(path, want);
	}
	free(line);
	fclose(f);
	return found;
}

static bool kill_resolves_to(const char *want)
{
	void *sym = dlsym(RTLD_DEFAULT, "kill");
	char got[PATH_MAX];
	Dl_info info;

	return sym && dladdr(sym, &info) && info.dli_fname && realpath(info.dli_fname, got) &&
	       !strcmp(got, want);
}

/* __preload-test LIBRARY: run by test_load() with LIBRARY in LD_PRELOAD. */
int pgkg_preload_test_main(int argc, char **argv)
{
	char want[PATH_MAX];

	if (argc != 2)
		die("usage: pgkillguard __preload-test LIBRARY");
	if (!realpath(argv[1], want))
		die_errno("%s", argv[1]);
	if (!mapped(want))
		die("%s: not loaded by the test process", want);
	if (!kill_resolves_to(want))
		die("%s: loaded, but kill() does not resolve to it", want);
	if (kill(getpid(), 0) < 0)
		die_errno("%s: kill(self, 0) through the library failed", want);
	return 0;
}

/* ---- enable and disable, system-wide ---- */

static void enable_system(const struct opts *o)
{
	char path[PATH_MAX];
	struct scan sc = {.want = o->library};
	size_t len = 0;
	char *old = read_file(under(o, PRELOAD_FILE, path, sizeof(path)), &len);
	struct text out = filter_preload(old ? old : "", len, &sc);

	if (sc.ours == 1 && sc.exact == 1) {
		printf("system: already enabled in %s: %s\n", PRELOAD_FILE, o->library);
	} else {
		if (out.len && out.p[out.len - 1] != '\n')
			text_adds(&out, "\n");
		text_adds(&out, o->library);
		text_adds(&out, "\n");
		replace_file(path, out.p, out.len, 0644);
		printf("system: enabled in %s: every new dynamically linked process preloads %s\n",
		       PRELOAD_FILE, o->library);
	}
	free(out.p);
	free(old);
}

static void disable_system(const struct opts *o)
{
	char path[PATH_MAX];
	struct scan sc = {0};
	size_t len = 0;
	char *old = read_file(under(o, PRELOAD_FILE, path, sizeof(path)), &len);
	struct text out = filter_preload(old ? old : "", len, &sc);

	if (!sc.ours)
		printf("system: not enabled (%s has no pgkillguard entry)\n", PRELOAD_FILE);
	else if (only_space(out.p, out.len))
		remove_file(path);
	else
		replace_file(path, out.p, out.len, 0644);
	if (sc.ours)
		printf("system: disabled (removed from %s)\n", PRELOAD_FILE);
	free(out.p);
	free(old);
}

/* ---- enable and disable, login shells ---- */

static void check_group(const struct opts *o)
{
	char path[PATH_MAX];
	const char *g = o->group;
	struct group *gr;
	FILE *f;
	bool found = false;

	if (!*g || *g == '-' || strspn(g, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789._-") != strlen(g))
		die("--group %s: not a valid group name", g);
	f = fopen(under(o, "/etc/group", path, sizeof(path)), "re");
	if (!f)
		die_errno("%s", path);
	while (!found && (gr = fgetgrent(f)))
		found = !strcmp(gr->gr_name, g);
	fclose(f);
	if (!found)
		die("--group %s: no such group in %s", g, path);
}

/* The profile.d snippet: interactive login shells (of the group) preload it. */
static void snippet(struct text *t, const struct opts *o)
{
	const char *lib = o->library, *in = o->group ? "\t\t\t" : "\t\t";

	text_adds(t, SNIPPET_MARK ";\n# remove it with `pgkillguard disable --login-shells`.\n");
	text_adds(t, TAG_LIBRARY);
	text_adds(t, lib);
	text_adds(t, "\n" TAG_GROUP);
	text_adds(t, o->group ? o->group : "*");
	text_adds(t, "\n#\n# Interactive login shells");
	text_adds(t, o->group ? " of members of this group" : "");
	text_adds(t, " preload the library, so that\n# kill -9 of a PostgreSQL backend is "
		     "rewritten or blocked.  See libpgkillguard(8).\n"
		     "case $- in\n*i*)\n\tif [ -f ");
	text_adds(t, lib);
	text_adds(t, " ]; then\n");
	if (o->group) {
		text_adds(t, "\t\tcase \" $(id -Gn 2>/dev/null) \" in\n\t\t*\" ");
		text_adds(t, o->group);
		text_adds(t, " \"*)\n");
	}
	text_adds(t, in);
	text_adds(t, "case \" ${LD_PRELOAD-} \" in\n");
	text_adds(t, in);
	text_adds(t, "*[\\ :]");
	text_adds(t, lib);
	text_adds(t, "[\\ :]*) ;;\n");
	text_adds(t, in);
	text_adds(t, "*) LD_PRELOAD=\"${LD_PRELOAD:+$LD_PRELOAD:}");
	text_adds(t, lib);
	text_adds(t, "\"\n");
	text_adds(t, in);
	text_adds(t, "   export LD_PRELOAD ;;\n");
	text_adds(t, in);
	text_adds(t, "esac\n");
	if (o->group)
		text_adds(t, "\t\t\t;;\n\t\tesac\n");
	text_adds(t, "\tfi ;;\nesac\n");
}

static void enable_login(const struct opts *o)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct text t = {0};
	size_t len = 0;
	char *old;

	if (mkdir(under(o, "/etc/profile.d", dir, sizeof(dir)), 0755) < 0 && errno != EEXIST)
		die_errno("%s", dir);
	old = read_file(under(o, PROFILE_FILE, path, sizeof(path)), &len);
	if (old && strncmp(old, SNIPPET_MARK, strlen(SNIPPET_MARK)))
		die("%s exists and was not written by pgkillguard: not replaced", path);
	snippet(&t, o);
	if (old && !strcmp(old, t.p)) {
		printf("login-shells: already enabled in %s\n", PROFILE_FILE);
	} else {
		replace_file(path, t.p, t.len, 0644);
		printf("login-shells: enabled in %s: interactive login shells%s%s preload %s\n",
		       PROFILE_FILE, o->group ? " of group " : "", o->group ? o->group : "",
		       o->library);
	}
	free(t.p);
	free(old);
}

static void disable_login(const struct opts *o)
{
	char path[PATH_MAX];
	size_t len = 0;
	char *old = read_file(under(o, PROFILE_FILE, path, sizeof(path)), &len);

	if (!old) {
		printf("login-shells: not enabled (no %s)\n", PROFILE_FILE);
		return;
	}
	if (strncmp(old, SNIPPET_MARK, strlen(SNIPPET_MARK)))
		die("%s was not written by pgkillguard: not removed", path);
	remove_file(path);
	printf("login-shells: disabled (removed %s)\n", PROFILE_FILE);
	free(old);
}

/* ---- status ---- */

/* Prints "PATH (present)" or "(MISSING)"; returns true if missing.  A name
 * without '/' is looked up in the library path by ld.so: not checked. */
static bool show_file(const struct opts *o, const char *path)
{
	char host[PATH_MAX];
	bool missing;

	if (!strchr(path, '/')) {
		printf("%s (a name ld.so looks up: not checked)", path);
		return false;
	}
	missing = access(under(o, path, host, sizeof(host)), F_OK) < 0;
	printf("%s (%s)", path, missing ? "MISSING" : "present");
	return missing;
}

static bool status_system(const struct opts *o)
{
	char path[PATH_MAX];
	size_t len = 0, n;
	char *text = read_file(under(o, PRELOAD_FILE, path, sizeof(path)), &len);
	const char *s = text, *end = text ? text + len : NULL, *tok;
	bool bad = false, any = false;

	while (text && s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s)), *e = nl ? nl : end;
		const char *hash = memchr(s, '#', (size_t)(e - s)), *p = s;
		char entry[PATH_MAX];
		while ((tok = next_entry(&p, hash ? hash : e, &n))) {
			pgkg_strlcpy(entry, tok, n + 1 < sizeof(entry) ? n + 1 : sizeof(entry));
			printf(is_ours(tok, n) ? "system: enabled in %s: " : "%s: other entry ",
			       PRELOAD_FILE);
			bad |= show_file(o, entry);
			printf("\n");
			any |= is_ours(tok, n);
		}
		s = nl ? nl + 1 : end;
	}
	if (!any)
		printf("system: disabled (%s has no pgkillguard entry)\n", PRELOAD_FILE);
	free(text);
	return bad;
}

/* The value of a "# TAG..." line of the snippet, in buf. */
static bool snippet_tag(const char *text, const char *tag, char *buf, size_t cap)
{
	const char *s = strstr(text, tag);

	if (!s)
		return false;
	s += strlen(tag);
	pgkg_strlcpy(buf, s, strcspn(s, "\n") + 1 < cap ? strcspn(s, "\n") + 1 : cap);
	return true;
}

static bool status_login(const struct opts *o)
{
	char path[PATH_MAX], lib[PATH_MAX], group[256];
	size_t len = 0;
	char *text = read_file(under(o, PROFILE_FILE, path, sizeof(path)), &len);
	bool bad = false;

	if (!text) {
		printf("login-shells: disabled (no %s)\n", PROFILE_FILE);
	} else if (strncmp(text, SNIPPET_MARK, strlen(SNIPPET_MARK)) ||
		   !snippet_tag(text, TAG_LIBRARY, lib, sizeof(lib)) ||
		   !snippet_tag(text, TAG_GROUP, group, sizeof(group))) {
		printf("login-shells: %s exists but was not written by pgkillguard\n", PROFILE_FILE);
	} else {
		printf("login-shells: enabled in %s for %s%s: ", PROFILE_FILE,
		       strcmp(group, "*") ? "group " : "every user", strcmp(group, "*") ? group : "");
		bad = show_file(o, lib);
		printf("\n");
	}
	free(text);
	return bad;
}

/* ---- options ---- */

static const char enable_usage[] =
	"usage: pgkillguard enable --system | --login-shells [--group GROUP] "
	"[--library PATH] [--root DIR]";
static const char disable_usage[] =
	"usage: pgkillguard disable --system | --login-shells | --all [--root DIR]";
static const char status_usage[] = "usage: pgkillguard status [--library PATH] [--root DIR]";

static void set_root(struct opts *o, const char *dir)
{
	struct stat st;

	if (!realpath(dir, o->root) || stat(o->root, &st) < 0)
		die_errno("--root %s", dir);
	if (!S_ISDIR(st.st_mode))
		die("--root %s: not a directory", dir);
	if (!strcmp(o->root, "/"))
		o->root[0] = '\0';
}

/* Parses the options `allowed` names (short letters below); dies with usage. */
static void parse_opts(int argc, char **argv, struct opts *o, const char *allowed,
		       const char *usage)
{
	static const struct option longopts[] = {
		{"system", no_argument, NULL, 's'},	{"login-shells", no_argument, NULL, 'l'},
		{"all", no_argument, NULL, 'a'},	{"group", required_argument, NULL, 'g'},
		{"library", required_argument, NULL, 'L'}, {"root", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	const char *env = getauxval(AT_SECURE) ? NULL : getenv("PGKILLGUARD_ROOT");
	int c;

	memset(o, 0, sizeof(*o));
	o->library = DEFAULT_LIBRARY;
	if (env && *env)
		set_root(o, env);
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (c == '?' || !strchr(allowed, c))
			die("%s", usage);
		switch (c) {
		case 's': o->modes |= M_SYSTEM; break;
		case 'l': o->modes |= M_LOGIN; break;
		case 'a': o->modes |= M_SYSTEM | M_LOGIN; break;
		case 'g': o->group = optarg; break;
		case 'L': o->library = optarg; break;
		case 'r': set_root(o, optarg); break;
		}
	}
	if (optind != argc)
		die("%s", usage);
}

int pgkg_cmd_enable(int argc, char **argv)
{
	char host_lib[PATH_MAX];
	struct opts o;
	int lock;

	parse_opts(argc, argv, &o, "slgLr", enable_usage);
	if (!o.modes)
		die("%s", enable_usage);
	if (o.group && !(o.modes & M_LOGIN))
		die("--group goes with --login-shells");
	check_library_path(o.library);
	if (o.group)
		check_group(&o);
	check_library_file(&o, host_lib, sizeof(host_lib));
	check_policy(&o);
	test_load(host_lib);
	lock = lock_etc(&o);
	if (o.modes & M_SYSTEM)
		enable_system(&o);
	if (o.modes & M_LOGIN)
		enable_login(&o);
	close(lock);
	return 0;
}

int pgkg_cmd_disable(int argc, char **argv)
{
	struct opts o;
	int lock;

	parse_opts(argc, argv, &o, "slar", disable_usage);
	if (!o.modes)
		die("%s", disable_usage);
	lock = lock_etc(&o);
	if (o.modes & M_SYSTEM)
		disable_system(&o);
	if (o.modes & M_LOGIN)
		disable_login(&o);
	close(lock);
	return 0;
}

int pgkg_cmd_status(int argc, char **argv)
{
	char policy[PATH_MAX];
	struct opts o;
	bool bad;

	parse_opts(argc, argv, &o, "Lr", status_usage);
	if (o.root[0])
		printf("root: %s\n", o.root);
	printf("library: ");
	show_file(&o, o.library);
	printf("\npolicy: %s%s\n", PGKG_POLICY_PATH,
	       access(under(&o, PGKG_POLICY_PATH, policy, sizeof(policy)), F_OK) < 0
		       ? " (absent: the built-in default applies)" : " (present)");
	bad = status_system(&o);
	bad |= status_login(&o);
	if (bad)
		printf("MISSING files are named above: every process told to preload one prints "
		       "an error at start; run `pgkillguard disable --all`\n");
	return bad ? 1 : 0;
}
