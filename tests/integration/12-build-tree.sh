#!/bin/bash
# 12-build-tree.sh - the first five minutes: a fresh copy of the source tree,
# `make`, LD_PRELOAD=$PWD/build/libpgkillguard.so and no variable set:
# `kill -9 BACKEND` is rewritten by the helper beside the library
# (build/pgkillguard), not by the not-yet-installed configured one.  A
# relocated pair (LIB/../bin) works too, and a missing or non-executable
# helper gives one line that says what was looked for, where, and how to fix it.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
NL=$'\n'
TOP=$(cd "$(dirname "$0")/../.." && pwd)
unset PGKILLGUARD_HELPER PGKILLGUARD_POLICY PGKILLGUARD_SYSLOG

# A fresh clone of the working tree (tracked and new files, no build/),
# where the test user can read it.
CLONE=$(mktemp -d /tmp/pgkg.clone.XXXXXX)
chmod 755 "$CLONE"
trap 'rm -rf "$CLONE"; guard_teardown; cleanup_all' EXIT
# (git's file list only when TOP is a work tree's top, not a copy inside one,
# as tests/tools/variant.sh makes under build/)
if [ "$(git -C "$TOP" rev-parse --show-toplevel 2>/dev/null)" = "$(cd "$TOP" && pwd -P)" ]; then
	git -C "$TOP" ls-files -z --cached --others --exclude-standard |
		(cd "$TOP" && tar --null -T - -cf - 2>/dev/null) | tar -xf - -C "$CLONE"
else
	(cd "$TOP" && tar --exclude=./build --exclude='./build-*' --exclude=./.git -cf - .) |
		tar -xf - -C "$CLONE"
fi
chmod 755 "$CLONE"	# tar may have given it TOP's mode (a private checkout)
t_ok "fresh tree: no build/" test ! -e "$CLONE/build"
t_ok "fresh tree: has the Makefile and the sources" test -f "$CLONE/Makefile" -a -f "$CLONE/shim/helperlink.c"
# as a user would type it: not a sub-make of `make check`, a usual umask
fresh_make() { (umask 022; env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$CLONE" -s -j2 "$@"); }
t_ok "fresh tree: make" fresh_make all
LIB=$CLONE/build/libpgkillguard.so
CONFIGURED=$(strings "$LIB" | grep -m1 '/bin/pgkillguard$' || true)
if [ -e "$CONFIGURED" ]; then
	t_diag "note: $CONFIGURED exists on this host; the helper's own path is checked below"
fi

new_running_cluster buildtree
open_idle_session "$D" witness
W=$(backend_pid "$D" witness)

# kill_case NAME APP [user|root] [NAME=VALUE...] : kill -9 of APP's backend
# from bash, with the assignments; prints the helpers' executables after it.
# shellcheck disable=SC2016 # for the inner bash
SHOW_HELPERS='kill -9 "$0"; rc=$?; for p in $(pgrep -u "$(id -u)" -x pgkillguard); do echo "helper=$(readlink /proc/$p/exe)"; done; exit $rc'
kill_case() {
	local app=$1 as=$2; shift 2
	open_idle_session "$D" "$app"
	VICTIM=$(backend_pid "$D" "$app")
	if [ "$as" = user ]; then
		run_capture run_as_test_user "$@" bash -c "$SHOW_HELPERS" "$VICTIM"
	else
		run_capture env "$@" bash -c "$SHOW_HELPERS" "$VICTIM"
	fi
}

kill_case bt1 user LD_PRELOAD="$LIB"
t_is "$RC" 0 "build tree, cluster owner: kill -9 exits 0"
t_like "$ERR_TEXT" "^pgkillguard: kill -9 $VICTIM \(client backend .*\) rewritten to pg_terminate_backend: exited after [0-9]+ ms; the cluster kept running$" \
	"build tree, cluster owner: rewritten"
t_is "$(guard_lines)" 1 "build tree, cluster owner: one line"
t_like "$OUT_TEXT" "(^|$NL)helper=$CLONE/build/pgkillguard($|$NL)" "build tree: the helper beside the library did it"
t_ok "build tree: backend gone" wait_gone "$VICTIM" 3000
t_ok "build tree: witness alive" alive "$W"

kill_case bt2 root LD_PRELOAD="$LIB"
t_is "$RC" 0 "build tree, root: kill -9 exits 0"
t_like "$ERR_TEXT" "rewritten to pg_terminate_backend: exited after" "build tree, root: rewritten"
t_ok "build tree, root: backend gone" wait_gone "$VICTIM" 3000

# The same library built with a configured helper that does not exist, alone
# in a lib/ directory: nothing to find.
NOWHERE=/nonexistent/pgkg-$$/bin
t_ok "library with an absent configured helper" \
	fresh_make B=build-nohelper BINDIR="$NOWHERE" build-nohelper/libpgkillguard.so
R=$(mktemp -d /tmp/pgkg.reloc.XXXXXX)
trap 'rm -rf "$CLONE" "$R"; guard_teardown; cleanup_all' EXIT
chmod 755 "$R"
mkdir -m 755 "$R/lib" "$R/bin"
cp "$CLONE/build-nohelper/libpgkillguard.so" "$R/lib/"
RLIB=$R/lib/libpgkillguard.so

kill_case miss1 user LD_PRELOAD="$RLIB"
t_is "$RC" 1 "no helper anywhere: kill -9 fails"
t_is "$(guard_lines)" 1 "no helper anywhere: one line"
t_like "$ERR_TEXT" "^pgkillguard: kill -9 $VICTIM \(client backend [^)]*\) .*no rewrite helper: $R/lib/pgkillguard \(beside the library\) missing, $R/bin/pgkillguard missing, $NOWHERE/pgkillguard \(configured\) missing; fix: make install, or PGKILLGUARD_HELPER=/path/to/pgkillguard" \
	"no helper anywhere: what was looked for, where, how to fix it"
t_diag "the line: $ERR_TEXT"
t_ok "no helper anywhere: backend alive (refused)" alive "$VICTIM"
t_is "$(crash_restarts "$D")" 0 "no helper anywhere: no crash restart"
close_session "$D" miss1

install -m 644 "$CLONE/build/pgkillguard" "$R/lib/pgkillguard"
kill_case miss2 user LD_PRELOAD="$RLIB"
t_is "$RC" 1 "helper not executable: kill -9 fails"
t_like "$ERR_TEXT" "no rewrite helper: $R/lib/pgkillguard \(beside the library\) not executable, $R/bin/pgkillguard missing," \
	"helper not executable: says so"
t_ok "helper not executable: backend alive" alive "$VICTIM"
close_session "$D" miss2
rm -f "$R/lib/pgkillguard"

# A relocated PREFIX: LIB/../bin/pgkillguard
install -m 755 "$CLONE/build/pgkillguard" "$R/bin/pgkillguard"
kill_case reloc user LD_PRELOAD="$RLIB"
t_is "$RC" 0 "relocated prefix (lib/ + bin/): kill -9 exits 0"
t_like "$ERR_TEXT" "rewritten to pg_terminate_backend: exited after" "relocated prefix: rewritten"
t_like "$OUT_TEXT" "(^|$NL)helper=$R/bin/pgkillguard($|$NL)" "relocated prefix: the helper in ../bin did it"
t_ok "relocated prefix: backend gone" wait_gone "$VICTIM" 3000

# PGKILLGUARD_HELPER names something that cannot run
kill_case badenv user LD_PRELOAD="$RLIB" PGKILLGUARD_HELPER=/nonexistent/pgkillguard
t_is "$RC" 1 "PGKILLGUARD_HELPER missing: kill -9 fails"
t_like "$ERR_TEXT" "no rewrite helper: PGKILLGUARD_HELPER=/nonexistent/pgkillguard missing; fix: point it at the pgkillguard program, or unset it" \
	"PGKILLGUARD_HELPER missing: says so"
t_is "$(guard_lines)" 1 "PGKILLGUARD_HELPER missing: one line"
t_ok "PGKILLGUARD_HELPER missing: backend alive" alive "$VICTIM"
close_session "$D" badenv

# ...and still wins over the one beside the library when it can
kill_case goodenv user LD_PRELOAD="$LIB" PGKILLGUARD_HELPER="$R/bin/pgkillguard"
t_is "$RC" 0 "PGKILLGUARD_HELPER: kill -9 exits 0"
t_like "$OUT_TEXT" "(^|$NL)helper=$R/bin/pgkillguard($|$NL)" "PGKILLGUARD_HELPER overrides the build tree's helper"

t_ok "witness alive at the end" alive "$W"
t_ok "no crash-restart" assert_cluster_intact "$D" "$PM"
t_done
