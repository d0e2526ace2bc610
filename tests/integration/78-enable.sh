#!/bin/bash
# 78-enable.sh - `pgkillguard enable`, `disable` and `status` on scratch
# roots (--root, PGKILLGUARD_ROOT): ld.so.preload syntax (white space, ':',
# comments) kept, only our entries touched, one entry after enable, an empty
# file removed, refusals (symlink, foreign snippet, unknown group, bad paths,
# untrusted or broken library) leave every file as it was.  80-package.sh
# does the same with the installed package in a chroot.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"

plan_none
setup_traps
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PGKG=$TOP/build/pgkillguard
WORK=$(mktemp -d /tmp/pgkg.enable.XXXXXX)
trap 'rm -rf "$WORK"; cleanup_all' EXIT
LIB=/usr/lib/test-arch/libpgkillguard.so

# new_root : a scratch root with the library, /etc/group and a valid policy.
new_root() {
	R=$(mktemp -d "$WORK/root.XXXXXX")
	mkdir -p "$R/etc/profile.d" "$R/usr/lib/test-arch"
	install -m 0644 "$TOP/build/libpgkillguard.so" "$R$LIB"
	printf 'root:x:0:\ndba:x:990:alice\n' >"$R/etc/group"
	chmod 0755 "$R"
}

run() {
	RC=0
	"$@" >"$WORK/out" 2>"$WORK/err" </dev/null || RC=$?
	OUT_TEXT=$(cat "$WORK/out")
	ERR_TEXT=$(cat "$WORK/err")
}
pg() { run "$PGKG" "$@" --root "$R"; }
pgl() { run "$PGKG" "$@" --library "$LIB" --root "$R"; }
preload() { cat "$R/etc/ld.so.preload"; }

new_root
pgl enable --system
t_is "$RC" 0 "enable --system in an empty root"
t_is "$(preload)" "$LIB" "ld.so.preload created with the one entry"
pgl enable --system
t_like "$RC:$OUT_TEXT" "^0:system: already enabled" "again: already enabled, file unchanged"
pg disable --system
t_like "$RC:$OUT_TEXT" "^0:system: disabled" "disable --system"
t_ok "a file left empty is removed" test ! -e "$R/etc/ld.so.preload"

# Other entries, separators and comments are kept; our entries, wherever
# they point, become exactly one.
printf '# site\n/opt/a.so:/opt/libpgkillguard.so\t/opt/b.so # trailing\n\n/usr/local/lib/libpgkillguard.so\n/opt/c.so' \
	>"$R/etc/ld.so.preload"
pgl enable --system
t_is "$RC" 0 "enable over existing entries"
t_is "$(preload)" "# site
/opt/a.so /opt/b.so # trailing

/opt/c.so
$LIB" "others and comments kept, older pgkillguard entries replaced by one, appended"
pgl status
t_like "$OUT_TEXT" "other entry /opt/a.so \(MISSING\)" "status names every entry"
t_is "$RC" 1 "status: exit 1 when a preloaded file is missing"
printf 'libbare.so\n' >>"$R/etc/ld.so.preload"
pgl status
t_like "$OUT_TEXT" "other entry libbare.so \(a name ld.so looks up: not checked\)" "status: a bare name is not checked"
sed -i '$d' "$R/etc/ld.so.preload"
pg disable --system
t_is "$(preload)" "# site
/opt/a.so /opt/b.so # trailing

/opt/c.so" "disable removes our entry alone"
printf '/opt/x.so /usr/lib/libpgkillguard.so # note\n/usr/lib/libpgkillguard.so\n' >"$R/etc/ld.so.preload"
pg disable --system
t_is "$(preload)" "/opt/x.so # note" "disable: every pgkillguard entry goes, comments stay"

# Refusals leave the files as they were.
rm -f "$R/etc/ld.so.preload"
ln -s /dev/null "$R/etc/ld.so.preload"
pgl enable --system
t_like "$RC:$ERR_TEXT" "^2:.*ld.so.preload is a symbolic link" "a symlinked ld.so.preload is refused"
t_ok "...and left alone" test -L "$R/etc/ld.so.preload"
rm -f "$R/etc/ld.so.preload"
pgl enable --system --group dba
t_like "$RC:$ERR_TEXT" "^2:.*--group goes with --login-shells" "--group without --login-shells"
run "$PGKG" enable --system --library relative/libpgkillguard.so --root "$R"
t_like "$RC:$ERR_TEXT" "^2:.*must be an absolute path" "a relative --library"
run "$PGKG" enable --system --library "/usr/lib/x y/libpgkillguard.so" --root "$R"
t_like "$RC:$ERR_TEXT" "^2:.*only letters, digits" "a --library with a space (LD_PRELOAD separator)"
run "$PGKG" enable --root "$R"
t_like "$RC:$ERR_TEXT" "^2:.*usage: pgkillguard enable" "enable without a mode: usage"
run "$PGKG" disable --root "$R"
t_like "$RC:$ERR_TEXT" "^2:.*usage: pgkillguard disable" "disable without a mode: usage"
run "$PGKG" status --system --root "$R"
t_like "$RC:$ERR_TEXT" "^2:.*usage: pgkillguard status" "status takes no mode"
chmod 0666 "$R$LIB"
pgl enable --system
t_like "$RC:$ERR_TEXT" "^2:.*must be a regular file owned by root and writable by root alone" \
	"a world-writable library is refused"
chmod 0644 "$R$LIB"
chmod 0777 "$R/usr/lib/test-arch"
pgl enable --system
t_like "$RC:$ERR_TEXT" "^2:.*test-arch: a directory above the library" "a world-writable directory above it is refused"
chmod 0755 "$R/usr/lib/test-arch"
printf '\177ELF' >"$R/usr/lib/test-arch/bad.so"
run "$PGKG" enable --system --library /usr/lib/test-arch/bad.so --root "$R"
t_like "$RC:$ERR_TEXT" "^2:.*not enabled" "a library that does not load is refused"
t_ok "...and nothing was written" test ! -e "$R/etc/ld.so.preload"
run "$PGKG" enable --system --library /usr/lib/test-arch/missing.so --root "$R"
t_like "$RC:$ERR_TEXT" "^2:.*missing.so: No such file" "a missing library is refused"

# The policy must pass the check (rule 1); SYSCONFDIR is the build's.
SYSCONF=$(strings "$PGKG" | sed -n 's|^\(/.*\)/pgkillguard/pgkillguard.conf$|\1|p' | head -1)
mkdir -p "$R$SYSCONF/pgkillguard"
echo 'KILL backend explode' >"$R$SYSCONF/pgkillguard/pgkillguard.conf"
pgl enable --login-shells
t_like "$RC:$ERR_TEXT" "^2:.*pgkillguard.conf:1: .*fix it first" "an invalid policy: not enabled"
t_ok "...no snippet written" test ! -e "$R/etc/profile.d/pgkillguard.sh"
cp "$TOP/policy/pgkillguard.conf" "$R$SYSCONF/pgkillguard/pgkillguard.conf"

# Login shells.
pgl enable --login-shells --group nosuch
t_like "$RC:$ERR_TEXT" "^2:.*--group nosuch: no such group" "an unknown group is refused"
pgl enable --login-shells --group 'dba;rm'
t_like "$RC:$ERR_TEXT" "^2:.*not a valid group name" "a group name with shell syntax is refused"
pgl enable --login-shells --group dba
t_is "$RC" 0 "enable --login-shells --group dba"
t_ok "the snippet is valid sh" sh -n "$R/etc/profile.d/pgkillguard.sh"
t_is "$(stat -c %a "$R/etc/profile.d/pgkillguard.sh")" 644 "the snippet is 0644"
pgl enable --login-shells --group dba
t_like "$OUT_TEXT" "already enabled" "again: already enabled"
pgl enable --login-shells
t_like "$RC:$OUT_TEXT" "^0:login-shells: enabled .*interactive login shells preload" "changed to every user"
t_ok "...no group test in the snippet" eval '! grep -q "id -Gn" "$R/etc/profile.d/pgkillguard.sh"'
pgl status
t_like "$OUT_TEXT" "login-shells: enabled in /etc/profile.d/pgkillguard.sh for every user: $LIB \(present\)" \
	"status: login shells for every user"
mv "$R$LIB" "$R$LIB.away"
pgl status
t_like "$RC:$OUT_TEXT" "^1:.*for every user: $LIB \(MISSING\)" "status: a missing library is reported, exit 1"
mv "$R$LIB.away" "$R$LIB"
pg disable --login-shells
t_like "$RC:$OUT_TEXT" "^0:login-shells: disabled" "disable --login-shells"
t_ok "the snippet is gone" test ! -e "$R/etc/profile.d/pgkillguard.sh"
echo 'export FOO=1' >"$R/etc/profile.d/pgkillguard.sh"
pgl enable --login-shells
t_like "$RC:$ERR_TEXT" "^2:.*not written by pgkillguard: not replaced" "a foreign snippet is not replaced"
pg disable --login-shells
t_like "$RC:$ERR_TEXT" "^2:.*not written by pgkillguard: not removed" "...nor removed"
t_is "$(cat "$R/etc/profile.d/pgkillguard.sh")" "export FOO=1" "...and is unchanged"
rm -f "$R/etc/profile.d/pgkillguard.sh"

# disable --all with the library already gone; PGKILLGUARD_ROOT.
pgl enable --system
pgl enable --login-shells
rm -f "$R$LIB"
run env PGKILLGUARD_ROOT="$R" "$PGKG" disable --all
t_like "$RC:$OUT_TEXT" "^0:system: disabled.*login-shells: disabled" "disable --all (PGKILLGUARD_ROOT), library gone"
t_ok "nothing left" test ! -e "$R/etc/ld.so.preload" -a ! -e "$R/etc/profile.d/pgkillguard.sh"
t_is "$(ls -A "$R/etc" | tr '\n' ' ')" "group profile.d " "no temporary files left"
t_done
