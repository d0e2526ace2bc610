#!/bin/bash
# 50-command.sh - `pgkillguard explain`, `check`, --help/--version, and
# `make install` with PREFIX and DESTDIR.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PGKG=$G_HELPER

run_capture "$PGKG" --version
t_like "$OUT_TEXT" "^pgkillguard [0-9]+\.[0-9]+\.[0-9]+$" "--version"
run_capture "$PGKG" --help
t_like "$OUT_TEXT" "explain \[-s SIG\]" "--help names explain"
t_like "$OUT_TEXT" "check \[FILE\]" "--help names check"
run_capture "$PGKG" frobnicate
t_is "$RC" 2 "unknown command: exit 2"

new_running_cluster explain
cluster_add_role "$D" checkpointer >/dev/null
PGUSER=checkpointer open_idle_session "$D" trap
T=$(backend_pid "$D" trap)
CKPT=$(aux_pid "$D" checkpointer)

run_capture "$PGKG" explain "$T"
t_like "$OUT_TEXT" "$T: client backend checkpointer@postgres, idle; cluster $D/data" "explain: a role named checkpointer is a client backend"
t_like "$OUT_TEXT" "cluster $D/data: postmaster $PM, port [0-9]+, socket $D/sock, owner $PGKG_TEST_USER" "explain: the cluster"
t_like "$OUT_TEXT" "KILL  -> terminate \(pg_terminate_backend, waits up to 5000 ms" "explain: KILL -> terminate"
t_like "$OUT_TEXT" "STOP  -> block" "explain: STOP -> block"
run_capture "$PGKG" explain -s QUIT "$PM"
t_like "$OUT_TEXT" "$PM: postmaster; cluster $D/data" "explain -s QUIT: postmaster"
t_like "$OUT_TEXT" "QUIT  -> block" "explain -s QUIT postmaster: block (from a shell)"
run_capture "$PGKG" explain -s QUIT -p pg_ctl "$PM"
t_like "$OUT_TEXT" "QUIT  -> allow" "explain -p pg_ctl: QUIT to the postmaster is allowed"
run_capture "$PGKG" explain $$
t_like "$OUT_TEXT" "$$: not a PostgreSQL process \(bash\): signals pass untouched" "explain: a non-PostgreSQL process"
run_capture "$PGKG" explain
t_like "$OUT_TEXT" "cluster $D/data: postmaster $PM" "explain (all): lists the cluster"
t_like "$OUT_TEXT" "$CKPT +checkpointer +block +block +allow +block +allow +block" "explain (all): lists the checkpointer and its decisions (TERM passes: it ignores it; INT is refused: 18 crash-restarts, docs/AUX-SIGNALS.md)"
t_like "$OUT_TEXT" "$T +client backend checkpointer@postgres" "explain (all): lists the backend"
t_ok "explain sent nothing: backend alive" alive "$T"

run_capture "$PGKG" check "$TOP/policy/pgkillguard.conf"
t_is "$RC" 0 "check: the shipped policy is valid"
t_like "$OUT_TEXT" "OK \([0-9]+ rules, mode enforce\)" "check: says OK"

# make install honours PREFIX and DESTDIR, and never overwrites a local policy
STAGE=$(mktemp -d /tmp/pgkg.stage.XXXXXX)
BUILD=$(mktemp -d /tmp/pgkg.build.XXXXXX)
cp -a "$TOP/." "$BUILD/"
rm -rf "$BUILD/build"
t_ok "make PREFIX=/usr DESTDIR=... install" make -C "$BUILD" -s PREFIX=/usr DESTDIR="$STAGE" install
t_ok "installed the command" test -x "$STAGE/usr/bin/pgkillguard"
t_ok "installed the library" test -f "$STAGE/usr/lib/libpgkillguard.so"
t_ok "installed the policy in /etc" test -f "$STAGE/etc/pgkillguard/pgkillguard.conf"
t_ok "created policy.d" test -d "$STAGE/etc/pgkillguard/policy.d"
t_like "$(strings "$STAGE/usr/lib/libpgkillguard.so" | grep -E '^/(usr|etc)/' | sort | tr '\n' ' ')" \
	"/etc/pgkillguard/pgkillguard.conf /usr/bin/pgkillguard" "the library looks for /etc and /usr/bin paths"
echo "# local change" >>"$STAGE/etc/pgkillguard/pgkillguard.conf"
t_ok "install again" make -C "$BUILD" -s PREFIX=/usr DESTDIR="$STAGE" install
t_like "$(tail -1 "$STAGE/etc/pgkillguard/pgkillguard.conf")" "# local change" "a local policy is kept"
t_is "$(readelf -d "$STAGE/usr/lib/libpgkillguard.so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')" \
	"libc.so.6 " "the library needs libc alone"
rm -rf "$STAGE" "$BUILD"

t_ok "no crash-restart" assert_cluster_intact "$D" "$PM"
t_done
