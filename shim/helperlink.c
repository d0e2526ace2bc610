/*
 * helperlink.c - start, reuse and talk to the rewrite helper (the messages:
 * rwproto.c).
 *
 *  1. MUST NOT allocate or take locks: a busy flag (atomic) guards the cached
 *     connection; a concurrent or re-entrant caller gets a one-shot helper.
 *  2. The child between vfork() and execve() runs with every signal blocked
 *     and calls nothing but dup2/fcntl/execve/_exit.
 *  3. Every wait is bounded (the request's timeout plus a margin).
 *  4. The cached descriptor lives in the program's fd table: the program may
 *     close it, dup2() over it (bash: exec 4>file) or, from a vfork() child,
 *     leave behind a number that means something else in the parent.  Before
 *     each use it MUST still be the socket we made (same device and inode);
 *     if not, forget it and never close it.  It never stays on fd 0, 1 or 2,
 *     where a program with those closed would write into it.
 *  5. Which helper: PGKILLGUARD_HELPER when the caller passes one (preload.c
 *     drops it in setuid programs); otherwise the one that belongs to this
 *     library, found only when a helper must be started (never at load time,
 *     never on the pass-through path): this library's own file, read from
 *     /proc/self/maps (no loader lock, no allocation), then LIBDIR/pgkillguard
 *     (a build tree: build/libpgkillguard.so + build/pgkillguard, or a copied
 *     pair), LIBDIR/../bin/pgkillguard (a relocated PREFIX), and last the
 *     configured PGKG_HELPER_PATH.  The first that is an executable regular
 *     file wins.
 *  6. In a setuid/setgid/capability program (AT_SECURE) a relocated helper is
 *     taken only if it and every directory above it are owned by root, not
 *     writable by group or others, and not symlinks; else it is skipped.
 *  7. No usable helper: one clear reason (what was looked for, where, how to
 *     fix it), not an error from a helper that never ran.
 */
#include "helperlink.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rawsys.h"
#include "util.h"

#define HELPER_FD 3
#define ANSWER_MARGIN_MS 20000	/* connect_timeout and query time on top of the wait */
#define HELPER_NAME "pgkillguard"
#define LONG_PATH 4096
#define NCAND 3

/* Working storage of the helper search (mapped, never on the stack). */
struct search {
	char window[2 * LONG_PATH];	/* a window on /proc/self/maps */
	char lib[LONG_PATH];		/* this library's file */
	char cand[NCAND][LONG_PATH];	/* beside it, ../bin, configured */
	int why[NCAND];			/* 0 usable, else a negative errno */
};

extern char **environ;

static int cached_fd = -1;
static pid_t cached_owner;
static dev_t cached_dev;	/* what cached_fd was when we cached it */
static ino_t cached_ino;
static int busy;

static void fail(struct pgkg_rw_rep *rep, const char *what, const char *path, int err)
{
	struct pgkg_buf b;

	rep->magic = PGKG_RW_MAGIC;
	rep->status = PGKG_RW_ERROR;
	pgkg_buf_init(&b, rep->detail, sizeof(rep->detail));
	pgkg_buf_puts(&b, what);
	if (path) {
		pgkg_buf_puts(&b, " ");
		pgkg_buf_puts(&b, path);
	}
	if (err) {
		pgkg_buf_puts(&b, ": ");
		pgkg_buf_puts(&b, strerrorname_np(err) ? strerrorname_np(err) : "error");
	}
}

/* ---- which helper (rules 5-7) ---- */

static bool hex_field(const char **p, const char *end, char stop, uintptr_t *out)
{
	uintptr_t v = 0;
	const char *s = *p;

	for (; s < end && *s != stop; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
		if (d < 0)
			return false;
		v = v * 16 + (uintptr_t)d;
	}
	if (s == end || s == *p)
		return false;
	*p = s + 1;
	*out = v;
	return true;
}

/* The line [ls, le) of /proc/self/maps maps addr: copy its path to out. */
static bool maps_line(const char *ls, const char *le, uintptr_t addr, char *out, size_t cap)
{
	uintptr_t lo, hi;
	const char *p = ls, *path;
	size_t n;

	if (!hex_field(&p, le, '-', &lo) || !hex_field(&p, le, ' ', &hi) || addr < lo || addr >= hi)
		return false;
	path = memchr(p, '/', (size_t)(le - p));
	n = path ? (size_t)(le - path) : 0;
	/* a replaced file (" (deleted)") or a name the kernel escaped: unknown */
	if (!n || n >= cap || memchr(path, '\\', n) ||
	    (n > 10 && !memcmp(le - 10, " (deleted)", 10)))
		return false;
	memcpy(out, path, n);
	out[n] = '\0';
	return true;
}

/* This library's file, as the kernel names it: 0 or -errno. */
static int own_path(struct search *s)
{
	uintptr_t addr = (uintptr_t)(void *)&own_path;
	size_t have = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), rc = -ENOENT;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r = read(fd, s->window + have, sizeof(s->window) - have);
		char *ls = s->window, *nl, *end;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		end = s->window + have + r;
		while ((nl = memchr(ls, '\n', (size_t)(end - ls)))) {
			if (maps_line(ls, nl, addr, s->lib, sizeof(s->lib))) {
				rc = 0;
				goto out;
			}
			ls = nl + 1;
		}
		have = (size_t)(end - ls);
		memmove(s->window, ls, have);
		if (have == sizeof(s->window))
			have = 0;	/* a line longer than any path: not ours */
	}
out:
	close(fd);
	return rc;
}

/* path and every directory above it: root's, not group/other-writable, no symlink. */
static bool root_only(char *path)
{
	struct stat st;

	for (size_t i = 0;; i++) {
		char c = path[i];
		if (c != '/' && c != '\0')
			continue;
		path[i] = '\0';
		int r = lstat(i ? path : "/", &st);
		path[i] = c;
		if (r < 0 || st.st_uid != 0 || (st.st_mode & 022) || S_ISLNK(st.st_mode))
			return false;
		if (c == '\0')
			return true;
	}
}

/* 0 if path is an executable regular file, else why not (-errno, -EPERM: untrusted). */
static int usable(char *path, bool check_owner)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EISDIR;
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0)
		return -EACCES;
	if (check_owner && !root_only(path))
		return -EPERM;
	return 0;
}

/* dir of path (cut at the last '/'), with "/" + tail appended, into out. */
static bool sibling(char *out, const char *path, int up, const char *tail)
{
	size_t n = pgkg_strlen(path), t = pgkg_strlen(tail);

	for (int i = 0; i <= up; i++) {
		while (n > 0 && path[n - 1] != '/')
			n--;
		if (n == 0)
			return false;
		n--;		/* drop the '/' */
	}
	if (n + 1 + t >= LONG_PATH)
		return false;
	memcpy(out, path, n);
	out[n] = '/';
	memcpy(out + n + 1, tail, t + 1);
	return true;
}

static const char *why_word(int why)
{
	switch (why) {
	case -ENOENT: case -ENOTDIR: return "missing";
	case -EACCES: return "not executable";
	case -EISDIR: return "not a file";
	case -EPERM: return "not root's, ignored in a setuid program";
	default: return strerrorname_np(-why) ? strerrorname_np(-why) : "unusable";
	}
}

static void say_missing(struct pgkg_rw_rep *rep, const struct search *s, int nc, bool secure)
{
	static const char *const where[NCAND] = {" (beside the library)", "", " (configured)"};
	struct pgkg_buf b;

	rep->magic = PGKG_RW_MAGIC;
	rep->status = PGKG_RW_ERROR;
	pgkg_buf_init(&b, rep->detail, sizeof(rep->detail));
	pgkg_buf_puts(&b, "no rewrite helper: ");
	for (int i = 0; i < NCAND; i++) {
		if (!s->cand[i][0])
			continue;
		pgkg_buf_puts(&b, s->cand[i]);
		pgkg_buf_puts(&b, where[i]);
		pgkg_buf_puts(&b, " ");
		pgkg_buf_puts(&b, why_word(s->why[i]));
		pgkg_buf_puts(&b, i + 1 < nc ? ", " : "; ");
	}
	pgkg_buf_puts(&b, secure ? "fix: make install (as root)"
				 : "fix: make install, or PGKILLGUARD_HELPER=/path/to/pgkillguard");
}

/* The helper that belongs to this library (rule 5), or NULL with rep filled. */
static const char *find_helper(struct search *s, struct pgkg_rw_rep *rep)
{
	bool secure = getauxval(AT_SECURE) != 0;
	int last = 0;

	memset(s->cand, 0, sizeof(s->cand));
	if (own_path(s) == 0) {
		sibling(s->cand[0], s->lib, 0, HELPER_NAME);
		sibling(s->cand[1], s->lib, 1, "bin/" HELPER_NAME);
	}
	pgkg_strlcpy(s->cand[2], PGKG_HELPER_PATH, sizeof(s->cand[2]));
	for (int i = 0; i < NCAND; i++) {
		if (!s->cand[i][0])
			continue;
		for (int j = 0; j < i; j++)
			if (pgkg_streq(s->cand[j], s->cand[i]))
				s->cand[i][0] = '\0';	/* the same file twice */
		if (!s->cand[i][0])
			continue;
		s->why[i] = usable(s->cand[i], secure && i < 2);
		if (s->why[i] == 0)
			return s->cand[i];
		last = i + 1;
	}
	say_missing(rep, s, last, secure);
	return NULL;
}

static __attribute__((noinline, noreturn)) void exec_helper(const char *path, int fd)
{
	char *argv[] = {(char *)"pgkillguard", (char *)"__rewrite-helper", (char *)"3", NULL};

	if (fd == HELPER_FD)
		fcntl(fd, F_SETFD, 0);
	else
		dup2(fd, HELPER_FD);
	execve(path, argv, environ);
	_exit(127);
}

/* Start a helper; returns our end of its socket or -errno. */
static int spawn(const char *path)
{
	sigset_t all, old;
	int sv[2], status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = vfork();
	if (pid == 0)
		exec_helper(path, sv[1]);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -EAGAIN;
	}
	/* The helper forks once and its first process exits: reap that one. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		close(sv[0]);
		return -ENOEXEC;
	}
	return sv[0];
}

static int exchange(int fd, const struct pgkg_rw_req *req, int pidfd, struct pgkg_rw_rep *rep)
{
	int r = pgkg_rw_send_req(fd, req, pidfd);

	return r ? r : pgkg_rw_recv_rep(fd, (long long)req->timeout_ms + ANSWER_MARGIN_MS, rep);
}

/* Is fd still the socket we cached (not closed or replaced by the program)? */
static bool still_ours(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == cached_dev &&
	       st.st_ino == cached_ino;
}

/* Take the cached helper if this process owns it and nobody is using it. */
static int take_cached(pid_t self, bool *mine)
{
	*mine = !__atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE);
	if (!*mine)
		return -1;
	if (cached_fd >= 0 && !still_ours(cached_fd))
		cached_fd = -1;		/* the number is the program's now: forget it */
	if (cached_fd >= 0 && cached_owner != self) {
		close(cached_fd);	/* inherited across fork(): the parent's */
		cached_fd = -1;
	}
	return cached_fd;
}

/* fd, moved above 2 if it is on stdin/stdout/stderr (closed by the program). */
static int above_stdio(int fd)
{
	int moved;

	if (fd > 2 || (moved = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return fd;
	close(fd);
	return moved;
}

/* Cache fd (or nothing, when fd < 0) for this process. */
static void give_back(bool mine, int fd, pid_t self)
{
	struct stat st;

	if (!mine) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (fd >= 0) {
		fd = above_stdio(fd);
		if (fstat(fd, &st) == 0) {
			cached_dev = st.st_dev;
			cached_ino = st.st_ino;
		} else {
			close(fd);
			fd = -1;
		}
	}
	cached_fd = fd;
	cached_owner = self;
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
}

/* An override from PGKILLGUARD_HELPER that cannot work: say so, 1; else 0. */
static int bad_override(const char *path, struct pgkg_rw_rep *rep)
{
	struct stat st;
	struct pgkg_buf b;
	int why = stat(path, &st) < 0 ? -errno : !S_ISREG(st.st_mode) ? -EISDIR
		: faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0 ? -EACCES : 0;

	if (!why)
		return 0;
	rep->magic = PGKG_RW_MAGIC;
	rep->status = PGKG_RW_ERROR;
	pgkg_buf_init(&b, rep->detail, sizeof(rep->detail));
	pgkg_buf_puts(&b, "no rewrite helper: PGKILLGUARD_HELPER=");
	pgkg_buf_puts(&b, path);
	pgkg_buf_puts(&b, " ");
	pgkg_buf_puts(&b, why_word(why));
	pgkg_buf_puts(&b, "; fix: point it at the pgkillguard program, or unset it");
	return 1;
}

/* The helper to start: path, or the one that belongs to this library. */
static const char *helper_path(const char *path, struct search **s, struct pgkg_rw_rep *rep)
{
	if (path)
		return bad_override(path, rep) ? NULL : path;
	if (!*s) {
		void *m = mmap(NULL, sizeof(**s), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			fail(rep, "cannot look for the rewrite helper: mmap", NULL, errno);
			return NULL;
		}
		*s = m;
	}
	return find_helper(*s, rep);
}

void pgkg_helper_rewrite(const char *path, const struct pgkg_rw_req *req, int pidfd,
			 struct pgkg_rw_rep *rep)
{
	pid_t self = (pid_t)pgkg_raw(SYS_getpid, 0, 0, 0, 0);
	struct search *s = NULL;
	const char *want = path;
	bool mine;
	int fd = take_cached(self, &mine), r = -EPIPE;

	/* A cached helper may have exited idle: one retry with a fresh one. */
	for (int attempt = 0; attempt < 2 && r == -EPIPE; attempt++) {
		bool fresh = fd < 0;
		if (fresh && !(path = helper_path(want, &s, rep)))
			break;
		if (fresh && (fd = spawn(path)) < 0) {
			fail(rep, "cannot start the rewrite helper", path, -fd);
			fd = -1;
			break;
		}
		r = exchange(fd, req, pidfd, rep);
		if (r) {
			close(fd);
			fd = -1;
			if (fresh || r != -EPIPE)
				fail(rep, "the rewrite helper did not answer", path, -r);
			if (fresh)
				break;
		}
	}
	give_back(mine, fd, self);
	if (s)
		munmap(s, sizeof(*s));
}
