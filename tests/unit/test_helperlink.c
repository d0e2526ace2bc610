/*
 * test_helperlink.c - how the preload library finds its rewrite helper
 * (shim/helperlink.c rules 5-7): reading its own file from /proc/self/maps,
 * the candidate paths beside it and in ../bin, what counts as usable, and the
 * AT_SECURE rule (the helper and every directory above it root's, not
 * group/other-writable, no symlinks).  The functions are static: the file is
 * included.  The root-owned fixtures need root (skipped otherwise, e.g. in
 * the package builds).
 */
#include "../../shim/helperlink.c"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "tap.h"

static struct search S;

static int maps(const char *line, uintptr_t addr, char *out)
{
	out[0] = '\0';
	return maps_line(line, line + strlen(line), addr, out, LONG_PATH);
}

static void test_maps_line(void)
{
	char out[LONG_PATH];

	ok(maps("7f0000-7f9000 r-xp 00001000 08:01 1234    /opt/x/lib/libpgkillguard.so",
		0x7f1234, out), "maps: the mapping that holds the address");
	is_str(out, "/opt/x/lib/libpgkillguard.so", "maps: its path");
	ok(!maps("7f0000-7f9000 r-xp 00001000 08:01 1234    /opt/x/lib/libpgkillguard.so",
		 0x7f9000, out), "maps: the end is outside");
	ok(!maps("7f0000-7f9000 r-xp 00001000 08:01 1234    /opt/x/lib/libpgkillguard.so (deleted)",
		 0x7f1234, out), "maps: a replaced file is not used");
	ok(!maps("7f0000-7f9000 r-xp 00001000 08:01 1234    /opt/a\\012b/libpgkillguard.so",
		 0x7f1234, out), "maps: a name the kernel escaped is not used");
	ok(!maps("7f0000-7f9000 rw-p 00000000 00:00 0 ", 0x7f1234, out), "maps: anonymous: no path");
	ok(!maps("zz-7f9000 r-xp 0 0 0 /x", 0x10, out), "maps: garbage");
}

static void test_sibling(void)
{
	char out[LONG_PATH];

	ok(sibling(out, "/a/b/lib/libpgkillguard.so", 0, "pgkillguard"), "sibling: beside");
	is_str(out, "/a/b/lib/pgkillguard", "sibling: beside the library");
	ok(sibling(out, "/a/b/lib/libpgkillguard.so", 1, "bin/pgkillguard"), "sibling: ../bin");
	is_str(out, "/a/b/bin/pgkillguard", "sibling: LIB/../bin/pgkillguard");
	ok(sibling(out, "/libpgkillguard.so", 0, "pgkillguard"), "sibling: in /");
	is_str(out, "/pgkillguard", "sibling: /pgkillguard");
	ok(!sibling(out, "/libpgkillguard.so", 1, "bin/pgkillguard"), "sibling: no parent of /");
}

static void test_own_path(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = '\0';
	is_int(own_path(&S), 0, "own_path: found in /proc/self/maps");
	is_str(S.lib, exe, "own_path: the file this code was loaded from");
}

static void put(const char *path, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (!f || fclose(f) || chmod(path, mode))
		perror(path), exit(2);
}

static void test_usable_and_trust(void)
{
	char dir[] = "/run/pgkg-unit.XXXXXX", p[PATH_MAX], q[PATH_MAX];
	bool root = geteuid() == 0;

	is_str(why_word(-EPERM), "not root's, ignored in a setuid program", "why_word: EPERM");
	is_str(why_word(-ENOENT), "missing", "why_word: ENOENT");
	if (!root || !mkdtemp(dir)) {
		diag("fixtures owned by root: %s", root ? "no /run" : "not root");
		for (int i = 0; i < 11; i++)
			ok(1, "# SKIP usable/trust: needs root and /run (fixtures owned by root)");
		return;
	}
	chmod(dir, 0755);
	snprintf(p, sizeof(p), "%s/pgkillguard", dir);
	is_int(usable(p, false), -ENOENT, "usable: missing");
	put(p, 0644);
	is_int(usable(p, false), -EACCES, "usable: not executable");
	chmod(p, 0755);
	is_int(usable(p, false), 0, "usable: an executable file");
	is_int(usable(p, true), 0, "AT_SECURE: root's file in root's 0755 directories");
	chmod(p, 0775);
	is_int(usable(p, true), -EPERM, "AT_SECURE: group-writable file refused");
	chmod(p, 0755);
	chmod(dir, 0757);
	is_int(usable(p, true), -EPERM, "AT_SECURE: other-writable directory refused");
	chmod(dir, 0755);
	if (chown(p, 65534, 65534) == 0)
		is_int(usable(p, true), -EPERM, "AT_SECURE: a file not owned by root refused");
	else
		ok(1, "# SKIP chown failed");
	is_int(usable(p, false), 0, "outside AT_SECURE: the owner does not matter");
	if (chown(p, 0, 0))
		perror("chown");
	snprintf(q, sizeof(q), "%s/link", dir);
	if (symlink(p, q))
		perror("symlink");
	is_int(usable(q, true), -EPERM, "AT_SECURE: a symlink refused");
	snprintf(q, sizeof(q), "%s/sub", dir);
	if (mkdir(q, 0755))
		perror("mkdir");
	is_int(usable(q, false), -EISDIR, "usable: a directory is not a helper");
	rmdir(q);
	snprintf(q, sizeof(q), "%s/link", dir);
	unlink(q);
	/* a sticky world-writable directory, like /tmp: refused */
	snprintf(q, sizeof(q), "%s/tmp", dir);
	if (mkdir(q, 0755) || chmod(q, 01777))
		perror("mkdir tmp");
	snprintf(p, sizeof(p), "%s/tmp/pgkillguard", dir);
	put(p, 0755);
	is_int(usable(p, true), -EPERM, "AT_SECURE: in a world-writable directory (like /tmp) refused");
	unlink(p);
	rmdir(q);
	snprintf(p, sizeof(p), "%s/pgkillguard", dir);
	unlink(p);
	rmdir(dir);
}

int main(void)
{
	plan(7 + 7 + 2 + 13); /* maps_line, sibling, own_path, usable_and_trust */
	test_maps_line();
	test_sibling();
	test_own_path();
	test_usable_and_trust();
	return done_testing();
}
