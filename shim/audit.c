/*
 * audit.c - messages and syslog lines (see audit.h for the rules).
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "accounts.h"

static void put_client(struct pgkg_buf *b, const struct pgkg_title *ti)
{
	if (ti->user[0]) {
		pgkg_buf_putc(b, ' ');
		pgkg_buf_put_printable(b, ti->user);
		if (ti->db[0]) {
			pgkg_buf_putc(b, '@');
			pgkg_buf_put_printable(b, ti->db);
		}
	}
	if (ti->state[0]) {
		pgkg_buf_puts(b, ", ");
		pgkg_buf_put_printable(b, ti->state);
	}
}

/* "client backend app@db, idle" / "autovacuum worker mydb" from a title. */
static void put_kind_title(struct pgkg_buf *b, enum pgkg_kind kind, const struct pgkg_title *ti)
{
	pgkg_buf_puts(b, pgkg_kind_label(kind));
	if (kind == PGKG_KIND_CLIENT_BACKEND || kind == PGKG_KIND_WALSENDER) {
		put_client(b, ti);
	} else if (kind != PGKG_KIND_POSTMASTER && ti->detail[0]) {
		pgkg_buf_putc(b, ' ');
		pgkg_buf_put_printable(b, ti->detail);
	}
}

void pgkg_describe_target(struct pgkg_buf *b, const struct pgkg_target *t)
{
	if (t->kind == PGKG_KIND_ORPHAN) {
		pgkg_buf_puts(b, "orphaned ");
		put_kind_title(b, t->title.kind, &t->title);
		pgkg_buf_puts(b, ", its postmaster ");
		pgkg_buf_putl(b, t->cluster.postmaster);
		pgkg_buf_puts(b, " is gone");
	} else {
		put_kind_title(b, t->kind, &t->title);
	}
	if (t->ns_pid > 0 && t->ns_pid != t->pid) {
		pgkg_buf_puts(b, ", pid ");
		pgkg_buf_putl(b, t->ns_pid);
		pgkg_buf_puts(b, " in the server's pid namespace");
	}
	if (t->unverified)
		pgkg_buf_puts(b, ", parent not verifiable");
	if (t->cluster.datadir[0]) {
		pgkg_buf_puts(b, "; cluster ");
		pgkg_buf_put_printable(b, t->cluster.datadir);
	}
}

void pgkg_describe_call(struct pgkg_buf *b, long pid, int sig)
{
	pgkg_buf_puts(b, "kill -");
	pgkg_buf_putl(b, sig);
	pgkg_buf_puts(b, pid < -1 ? " -- " : " ");
	pgkg_buf_putl(b, pid);
}

void pgkg_put_user(struct pgkg_buf *b, uid_t uid)
{
	char name[256];
	ssize_t n = pgkg_account_user_name(uid, name, sizeof(name));

	if (n > 0)
		pgkg_buf_put_value_n(b, name, (size_t)n);
	else
		pgkg_buf_putl(b, uid);
}

void pgkg_put_tty(struct pgkg_buf *b, const char *procroot, pid_t pid)
{
	struct pgkg_procstat st;
	int tty = pgkg_read_stat(procroot, pid, &st) == 0 ? st.tty_nr : 0;
	unsigned maj = major((dev_t)tty), min = minor((dev_t)tty);

	if (tty <= 0)
		pgkg_buf_putc(b, '?');
	else if (maj >= 136 && maj <= 143) {
		pgkg_buf_puts(b, "pts/");
		pgkg_buf_putl(b, (maj - 136) * 256 + min);
	} else if (maj == 4 && min < 64) {
		pgkg_buf_puts(b, "tty");
		pgkg_buf_putl(b, min);
	} else {
		pgkg_buf_puts(b, "tty(");
		pgkg_buf_putl(b, maj);
		pgkg_buf_putc(b, ',');
		pgkg_buf_putl(b, min);
		pgkg_buf_putc(b, ')');
	}
}

void pgkg_say(int fd, const char *text)
{
	char line[2048];
	struct pgkg_buf b;
	ssize_t r;

	if (fd < 0)
		return;
	pgkg_buf_init(&b, line, sizeof(line) - 1);
	pgkg_buf_puts(&b, "pgkillguard: ");
	/* Callers escape what they quote; this catches anything they missed
	 * (a no-op on escaped text: it leaves backslashes and valid UTF-8 alone). */
	pgkg_buf_put_escaped(&b, text, pgkg_strlen(text), 0);
	line[b.len++] = '\n';
	do
		r = write(fd, line, b.len);
	while (r < 0 && errno == EINTR);
}

void pgkg_syslog(const char *socket_path, int severity, pid_t pid, const char *text)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char msg[1200];
	struct pgkg_buf b;
	int fd;

	if (!socket_path || pgkg_strlcpy(addr.sun_path, socket_path, sizeof(addr.sun_path)) >=
				    sizeof(addr.sun_path))
		return;
	pgkg_buf_init(&b, msg, sizeof(msg));
	pgkg_buf_putc(&b, '<');
	pgkg_buf_putl(&b, LOG_AUTHPRIV | severity);
	pgkg_buf_puts(&b, ">pgkillguard[");
	pgkg_buf_putl(&b, pid);
	pgkg_buf_puts(&b, "]: ");
	pgkg_buf_put_escaped(&b, text, pgkg_strlen(text), 0);	/* as in pgkg_say */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, msg, b.len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&addr,
		     sizeof(addr));
	close(fd);
}
