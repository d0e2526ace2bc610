/*
 * accounts.c - /etc/passwd and /etc/group, streamed (see accounts.h for the
 * rules).
 */
#include "accounts.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define ACCOUNT_LINE_MAX 1024	/* longer lines of passwd/group are skipped */

static const char *passwd_path = "/etc/passwd";
static const char *group_path = "/etc/group";

void pgkg_policy_set_account_files(const char *passwd, const char *group)
{
	passwd_path = passwd ? passwd : "/etc/passwd";
	group_path = group ? group : "/etc/group";
}

/* What one scan looks for: the entry named name[0..n) (its id is returned),
 * or the first non-empty name of id (copied to out). */
struct query {
	const char *name;
	size_t n;
	bool by_id;
	uint32_t id;
	char *out;
	size_t cap;
	ssize_t result;
};

/* Name and id of the entry "name:password:id[:...]" in line[0..len). */
static bool split_entry(const char *line, size_t len, size_t *nlen, uint32_t *id)
{
	const char *end = line + len, *c1, *c2, *c3;
	long long v;

	c1 = memchr(line, ':', len);
	c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
	if (!c2)
		return false;
	c3 = memchr(c2 + 1, ':', (size_t)(end - c2 - 1));
	if (!c3)
		c3 = end;
	if (c3 == c2 + 1 || c2[1] == '-' ||
	    pgkg_parse_ll(c2 + 1, (size_t)(c3 - c2 - 1), 0, UINT32_MAX - 1, &v) < 0)
		return false;
	*nlen = (size_t)(c1 - line);
	*id = (uint32_t)v;
	return true;
}

/* Is line[0..len) the entry q looks for?  Fills q's answer if so. */
static bool offer(const char *line, size_t len, struct query *q)
{
	size_t nlen;
	uint32_t id;

	if (!split_entry(line, len, &nlen, &id))
		return false;
	if (!q->by_id) {
		if (nlen != q->n || memcmp(line, q->name, nlen) != 0)
			return false;
		q->id = id;
		return true;
	}
	if (id != q->id || nlen == 0)
		return false;
	if (nlen >= q->cap) {
		q->result = -ENAMETOOLONG;
		return true;
	}
	memcpy(q->out, line, nlen);
	q->out[nlen] = '\0';
	q->result = (ssize_t)nlen;
	return true;
}

/* Offer the lines of buf[0..*have) to q: each complete one, and the last one
 * at eof.  A line still being read stays at the start of buf; one that
 * fills buf is too long to be an account and is skipped to its end. */
static bool scan_lines(char *buf, size_t *have, bool *skipping, bool eof, struct query *q)
{
	size_t start = 0;

	while (start < *have) {
		char *nl = memchr(buf + start, '\n', *have - start);
		size_t n = nl ? (size_t)(nl - (buf + start)) : *have - start;

		if (!nl && !eof && !(start == 0 && *have == ACCOUNT_LINE_MAX))
			break;	/* wait for the rest of this line */
		if (!*skipping && (nl || eof) && offer(buf + start, n, q))
			return true;
		*skipping = !nl && !eof;
		start += nl ? n + 1 : n;
	}
	memmove(buf, buf + start, *have - start);
	*have -= start;
	return false;
}

static ssize_t read_some(int fd, char *buf, size_t n)
{
	ssize_t r;

	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Stream the passwd- or group-format file at path until q is answered. */
static bool scan_file(const char *path, struct query *q)
{
	char buf[ACCOUNT_LINE_MAX];
	size_t have = 0;
	bool skipping = false, found = false, eof = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return false;
	while (!found && !eof) {
		ssize_t r = read_some(fd, buf + have, sizeof(buf) - have);
		if (r < 0)
			break;
		eof = r == 0;
		have += (size_t)r;
		found = scan_lines(buf, &have, &skipping, eof, q);
	}
	close(fd);
	return found;
}

bool pgkg_account_id(enum pgkg_account_db db, const char *name, size_t n, uint32_t *id)
{
	struct query q = {.name = name, .n = n};

	if (!scan_file(db == PGKG_ACCOUNT_GROUP ? group_path : passwd_path, &q))
		return false;
	*id = q.id;
	return true;
}

ssize_t pgkg_account_user_name(uint32_t uid, char *name, size_t cap)
{
	struct query q = {.by_id = true, .id = uid, .out = name, .cap = cap};

	if (cap)
		name[0] = '\0';
	return scan_file(passwd_path, &q) ? q.result : -ENOENT;
}
