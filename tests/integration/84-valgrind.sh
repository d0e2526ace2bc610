#!/bin/bash
# 84-valgrind.sh - the command under valgrind (memcheck): no invalid access,
# no use of uninitialised memory, no definite or indirect leak, for explain,
# check (valid, invalid, hostile files) and the rewrite helper the library
# starts.  `exec` is left out: valgrind 3.19 does not implement seccomp(2),
# so it cannot run the supervisor (the ASan build covers it, mk/sanitize.mk).
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

command -v valgrind >/dev/null 2>&1 || { plan_none; skip_all "valgrind is not installed (apt-get install valgrind)"; }
guard_test_begin
grep -qa __asan_init "$G_HELPER" && skip_all "an ASan build: valgrind cannot run it (make check-asan has its own checks)"
new_running_cluster valgrind
open_idle_session "$D" victim
V=$(backend_pid "$D" victim)
VG=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
	--errors-for-leak-kinds=definite,indirect --track-fds=no)

# vg NAME WANT-RC ARGS... : the command under valgrind exits WANT-RC, clean
vg() {
	local name=$1 want=$2; shift 2
	run_capture unguarded_user "${VG[@]}" "$G_HELPER" "$@"
	t_is "$RC" "$want" "valgrind: $name: exit $want, no memcheck error"
	[ "$RC" = "$want" ] || printf '%s\n' "$ERR_TEXT" | sed 's/^/#   /' | head -40
}

POL=$G_DIR/vgpol
mkdir -p "$POL"
cp "$(dirname "$0")/../../policy/pgkillguard.conf" "$POL/shipped.conf"
cp "$(dirname "$0")/../policy/invalid/options.conf" "$POL/invalid.conf"
python3 -c 'import random,sys; r=random.Random(84); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(65536)))' >"$POL/garbage.conf"
{ head -c 1000000 /dev/zero | tr '\0' 'x'; echo; } >"$POL/long.conf"
printf 'include loop.conf\n' >"$POL/loop.conf"
chown -R "$PGKG_TEST_USER" "$POL"

vg "--version" 0 --version
vg "unknown command" 2 frobnicate
vg "explain (every cluster process)" 0 explain
vg "explain --json (every cluster process)" 0 explain --json
vg "explain --width 40 (wrapped table)" 0 explain --width 40
vg "explain a backend" 0 explain "$V"
vg "explain -s QUIT -p pg_ctl the postmaster" 0 explain -s QUIT -p pg_ctl "$PM"
vg "check (no system policy: the built-in default)" 0 check
vg "check the shipped policy" 0 check "$POL/shipped.conf"
vg "check an invalid policy" 1 check "$POL/invalid.conf"
vg "check 64 KiB of binary garbage" 1 check "$POL/garbage.conf"
vg "check a 1 MB line" 1 check "$POL/long.conf"
vg "check an include loop" 1 check "$POL/loop.conf"
vg "check a missing file" 1 check "$POL/missing.conf"

# the rewrite helper, started by the library through a wrapper
LOGS=$(mktemp -d "$G_DIR/vg.XXXXXX")
chmod 1777 "$LOGS"
cat >"$G_DIR/vg-helper" <<EOF
#!/bin/sh
exec ${VG[*]} --log-file=$LOGS/helper.%p "$G_HELPER" "\$@"
EOF
chmod 755 "$G_DIR/vg-helper"
run_capture run_as_test_user LD_PRELOAD="$G_LIB" PGKILLGUARD_HELPER="$G_DIR/vg-helper" \
	PGKILLGUARD_SYSLOG="$G_SYSLOG" bash -c "kill -9 $V"
t_like "$RC:$ERR_TEXT" "^0:pgkillguard: kill -9 $V .*rewritten to pg_terminate_backend: exited after" \
	"valgrind: the helper rewrites kill -9 of a backend"
t_ok "valgrind: backend gone" wait_gone "$V" 5000
# the caller has exited: the helper sees EOF, exits, and valgrind finishes
# its log (one per process: helper.PID)
helpers_gone() {
	local f
	for f in "$LOGS"/helper.*; do alive "${f##*.}" && return 1; done
	return 0
}
t_ok "valgrind: the helper wrote logs" compgen -G "$LOGS/helper.*"
for _ in $(seq 150); do helpers_gone && break; sleep 0.1; done
t_ok "valgrind: the helper has exited" helpers_gone
t_is "$(cat "$LOGS"/helper.* 2>/dev/null)" "" "valgrind: the helper: no memcheck error, no leak"

t_ok "no crash-restart in server.log, postmaster pid unchanged" assert_cluster_intact "$D" "$PM"
t_done
